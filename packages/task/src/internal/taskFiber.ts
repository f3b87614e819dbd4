/**
 * Starting a granted task: its run begins (a plain task's one run is its
 * body), its fiber is forked in the task's context with the pool's marker,
 * and the fiber is bound — linked into the live tasks and observed — before
 * the body's first step, so that the service's counters are final before
 * any other observer (`Fiber.await`, `Fiber.interrupt`) sees the fiber end.
 * The body then runs in a span when tracing is in use.
 *
 * Invariants (for every task started here, after every step):
 * - `task.run` is set and `task.state` is `Running` from the step it starts
 * - `task.run.fiber` is set, and the fiber observed, before the body's first
 *   step; exactly once
 * - `task.body` is dropped as the fiber takes it (a finished task keeps no
 *   closure alive)
 *
 * Ordering: `bindTask` usually runs inside `runForkWith`, before it returns,
 * and takes the task from `starting`. Under a scheduler that yields before a
 * fiber's first step it runs later and finds its task through the context's
 * marker, so the fiber is bound by `start` too, whichever comes first.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { type Accounting, taskSpan } from "./accounting.ts"
import type { SharedDispatchers } from "./dispatch.ts"
import type { LiveTasks } from "./liveTasks.ts"
import { State, type Task, TaskRun } from "./task.ts"

/** What starting a task needs of its pool. @internal */
export interface StartHost {
  readonly accounting: Accounting
  readonly live: LiveTasks
  readonly currentTask: Context.Reference<Task | undefined>
  contextFor(task: Task, context: Context.Context<never>): Context.Context<never>
  /** the task's fiber has exited (its exit observer) */
  onExit(task: Task, exit: Exit.Exit<unknown, unknown>): void
}

/** @internal */
export class TaskStarter {
  private readonly host: StartHost
  private readonly dispatchers: SharedDispatchers
  private starting: Task | undefined = undefined

  constructor(host: StartHost, dispatchers: SharedDispatchers) {
    this.host = host
    this.dispatchers = dispatchers
  }

  /** Forks a granted task's fiber (called by the start queue, in grant order). */
  readonly start = (task: Task): void => {
    const host = this.host
    task.state = State.Running
    const run = task.run = new TaskRun()
    if (task.owner === undefined) {
      // a plain task's one run is its body (a coalescer's runs begin in `runs.ts`)
      const now = host.accounting.now()
      task.stateSince = now
      run.open = true
      host.accounting.runStarted(run, task.registeredAt, now)
    }
    this.starting = task
    const fiber = Effect.runForkWith(host.contextFor(task, task.context))(this.bindTask)
    this.starting = undefined
    if (run.fiber === undefined) this.bind(task, fiber)
  }

  private bind(task: Task, fiber: Fiber.Fiber<unknown, unknown>): void {
    task.run!.fiber = fiber
    this.host.live.link(task)
    fiber.addObserver((exit) => this.host.onExit(task, exit))
  }

  private readonly bindTask: Effect.Effect<unknown, unknown> = Effect.withFiber((fiber) => {
    const task = this.starting ?? fiber.getRef(this.host.currentTask)!
    this.starting = undefined
    if (task.run!.fiber === undefined) this.bind(task, fiber)
    this.dispatchers.share(fiber)
    const body = task.body!
    task.body = undefined
    // coalescer runs open a span per run (`runs.ts`)
    if (task.owner !== undefined || !this.host.accounting.traced(task.context)) return body
    return taskSpan(body, task, { "effect_task.task.parked_ms": task.startedAt - task.registeredAt })
  })
}
