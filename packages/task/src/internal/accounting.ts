/**
 * Accounting: the per-run bookkeeping behind `snapshot` times, the metrics
 * and the spans — clock readings, the two duration histograms, the counts of
 * started runs and of their outcomes, and the check whether tracing is in
 * use. A strategy chosen when the pool is made; the pool never branches on a
 * flag.
 *
 * - `ExactAccounting` (every service): reads the service's clock (see
 *   `clock.ts` for when readings are shared), observes both histograms and
 *   counts every run's start and outcome.
 * - `NoAccounting`: reads no clock (every time is 0), keeps no histogram or
 *   run count and reports tracing as unused. Only the benchmark builds a
 *   service with it (through `effect-task/internal`), to measure what the
 *   bookkeeping costs against the same code without it.
 *
 * Failures and interruptions outside a running body (a task dropped
 * unstarted, a coalescer task interrupted between runs) are counted by the
 * pool under either strategy: `failures` is public API.
 *
 * Invariants (`ExactAccounting`, after every step):
 * - `started` = runs begun (`runStarted`); `succeeded + interrupted + failed
 *   runs <= started` (failed runs are counted by the pool's `failed`), equal
 *   once no run is open
 * - `parkedTime.count = started`; `runningTime.count` = runs ended
 *
 * Gotcha: `traced` keeps the last context it was asked about (tasks
 * registered from one fiber share one); `forget` drops it when the pool is
 * idle so that no finished task's context stays reachable.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Tracer from "effect/Tracer"
import { ServiceClock, type TimeSource } from "./clock.ts"
import { DurationHistogram } from "./histogram.ts"
import type { Task, TaskRun } from "./task.ts"

/** @internal */
export interface Accounting {
  /** epoch millis of the service's creation; task times count from it */
  readonly epoch: number
  readonly started: number
  readonly succeeded: number
  /** runs interrupted while their body ran */
  readonly interrupted: number
  readonly parkedTime: DurationHistogram
  readonly runningTime: DurationHistogram
  /** Milliseconds since `epoch` (one reading serves a task's exit and the grants it makes). */
  now(): number
  /** Whether `context` has a span to parent a task's span: tracing is in use. */
  traced(context: Context.Context<never>): boolean
  /** A body or coalescer run starts after waiting for a slot since `parkedSince`. */
  runStarted(run: TaskRun, parkedSince: number, now: number): void
  /** A body or coalescer run ended (its failure, if any, is counted by the pool). */
  runEnded(run: TaskRun, exit: Exit.Exit<unknown, unknown>, now: number): void
  /** The pool is idle: drop any cached context. */
  forget(): void
}

/** @internal */
export class ExactAccounting implements Accounting {
  started = 0
  succeeded = 0
  interrupted = 0
  readonly parkedTime = new DurationHistogram()
  readonly runningTime = new DurationHistogram()
  readonly clock: ServiceClock
  private tracedContext: Context.Context<never> | undefined = undefined
  private tracedResult = false

  constructor(clock: TimeSource) {
    this.clock = new ServiceClock(clock)
  }

  get epoch(): number {
    return this.clock.epoch
  }

  now(): number {
    return this.clock.now()
  }

  traced(context: Context.Context<never>): boolean {
    if (context !== this.tracedContext) {
      this.tracedContext = context
      this.tracedResult = Context.getOrUndefined(context, Tracer.ParentSpan) !== undefined
    }
    return this.tracedResult
  }

  runStarted(run: TaskRun, parkedSince: number, now: number): void {
    run.startedAt = now
    this.started++
    this.parkedTime.observeMillis(now - parkedSince)
  }

  runEnded(run: TaskRun, exit: Exit.Exit<unknown, unknown>, now: number): void {
    this.runningTime.observeMillis(now - run.startedAt)
    if (exit._tag === "Success") this.succeeded++
    else if (Cause.hasInterruptsOnly(exit.cause)) this.interrupted++
  }

  forget(): void {
    this.tracedContext = undefined
  }
}

/** @internal */
export class NoAccounting implements Accounting {
  readonly epoch: number
  readonly started = 0
  readonly succeeded = 0
  readonly interrupted = 0
  readonly parkedTime = new DurationHistogram()
  readonly runningTime = new DurationHistogram()

  constructor(clock: TimeSource) {
    this.epoch = clock.currentTimeMillisUnsafe()
  }

  now(): number {
    return 0
  }

  traced(): boolean {
    return false
  }

  runStarted(): void {}

  runEnded(): void {}

  forget(): void {}
}

/**
 * Runs `body` in a span named after the task. Called only when the context it
 * was registered from has a span (its parent, see `Accounting.traced`);
 * without one, tracing is not in use and no span is made.
 *
 * @internal
 */
export const taskSpan = <A, E>(
  body: Effect.Effect<A, E>,
  task: Task,
  attributes: Record<string, unknown>
): Effect.Effect<A, E> =>
  Effect.withSpan(body, task.name, { attributes: { "effect_task.task.id": task.id, ...attributes } })
