/**
 * Shared helpers for the TaskService test files (not a test file itself).
 */
import { Cause, Context, Effect, Exit, Fiber, Layer, Metric, Scope, Stream } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"

/**
 * Lets every fiber and every scheduled pool step that is ready run: each
 * `Effect.yieldNow` is one scheduler round (a macrotask), and the pool
 * schedules its starts and hand-off checks one round at a time.
 */
export const ticks = (n = 10): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Effect.yieldNow
  })

/** Runs `self` with a fresh metric registry, so the service's metrics start at 0. */
export const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

/**
 * A high-water counter of running task bodies. `enter`/`exit` are called by
 * `tracked` bodies and by `releasing` around yields, conservatively: a body
 * is counted only between getting its slot and before giving it back, so a
 * `high` above the bound is a real violation.
 */
export class Gauge {
  running = 0
  high = 0
  started = 0
  finished = 0
  readonly starts: Array<string> = []

  enter(): void {
    this.running++
    if (this.running > this.high) this.high = this.running
  }

  exit(): void {
    this.running--
  }

  /** forgets the high-water mark; the next check measures from here */
  resetHigh(): void {
    this.high = this.running
  }
}

/** Wraps a body so that `gauge` counts it while it runs. */
export const tracked = <A, E, R>(
  gauge: Gauge,
  name: string,
  body: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    gauge.started++
    gauge.starts.push(name)
    gauge.enter()
    return body.pipe(
      Effect.ensuring(Effect.sync(() => {
        gauge.exit()
        gauge.finished++
      }))
    )
  })

/**
 * Runs `self` inside `tasks.yieldSlot` (or `yieldQuiescent`) with the gauge
 * not counting this body while it does not hold a slot.
 */
export const releasing = <A, E, R>(
  gauge: Gauge,
  tasks: TaskServiceShape,
  kind: "slot" | "quiescent",
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    gauge.exit()
    return (kind === "slot" ? tasks.yieldSlot(self) : tasks.yieldQuiescent(self)).pipe(
      Effect.onExit(() => Effect.sync(() => gauge.enter()))
    )
  })

/** Waits (one scheduler round at a time, at most `max` rounds) until `check` holds. */
export const eventually = (check: () => boolean, max = 1000): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < max; i++) {
      if (check()) return
      yield* Effect.yieldNow
    }
    return yield* Effect.die(new Error(`condition not reached after ${max} scheduler rounds`))
  })

/** `true` when the fiber has completed. */
export const isDone = (fiber: Fiber.Fiber<unknown, unknown>): boolean => fiber.pollUnsafe() !== undefined

/** Builds a fresh service into its own scope, so a test can close it. */
export const buildInScope = (
  layer: Layer.Layer<TaskService>
): Effect.Effect<{ readonly tasks: TaskServiceShape; readonly scope: Scope.Closeable }> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { tasks: Context.get(context, TaskService), scope }
  })

/** Collects `activeChanges` in a forked fiber; `ready` completes once subscribed (after `ticks`). */
export const collectChanges = (
  tasks: TaskServiceShape,
  count: number
): Effect.Effect<Fiber.Fiber<ReadonlyArray<number>>> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Stream.runCollect(Stream.take(tasks.activeChanges, count)))
    yield* ticks(3)
    return fiber
  })

/** The message of the defect an exit died with, or `undefined`. */
export const defectMessage = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const defect = exit.cause.reasons.find(Cause.isDieReason)?.defect
  return defect instanceof Error ? defect.message : undefined
}

/** An effect whose outcome is an interruption that did not come from the current fiber. */
export const interruptedChild: Effect.Effect<never> = Effect.gen(function*() {
  const child = yield* Effect.forkChild(Effect.never)
  yield* Effect.yieldNow
  yield* Fiber.interrupt(child)
  return yield* Fiber.join(child)
})
