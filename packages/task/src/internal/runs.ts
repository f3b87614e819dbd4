/**
 * The multi-run protocol: how a started task gives its slot back and takes
 * it again, and how a task runs more than one body (a coalescer key's runs).
 * `TaskService` (yields) and `Coalescer` (runs) use only this and
 * `TaskPool.register` / `dropUnstarted`; neither touches a slot or a counter.
 *
 * A plain task has one run, its body: the pool begins it when the fiber
 * starts and ends it when the fiber exits. A multi-run task (one with an
 * owner) begins each run itself, on its own fiber:
 *
 * ```
 * register ─▶ start ─▶ beginRun ─▶ body ─▶ endRun ─┬─▶ (fiber ends)
 *                         ▲                       │
 *                         └──── requeue ◀─────────┘  (a submit came meanwhile)
 * ```
 *
 * Invariants (per task, after every step):
 * - `run.open` exactly between `beginRun` and the run's end; a run is ended
 *   once: by `endRun` when its body ends, or by the pool when the fiber exits
 *   with the run still open (interrupted mid-body)
 * - every run that began is counted once in `started` and once in an
 *   outcome (`succeeded`, `failed`, `interrupted`)
 * - between runs (`requeue`) the task holds no slot and waits in the
 *   admission FIFO as a `Task` entry, in state `Requeued`, counted in
 *   `active` and `registered` throughout: a re-run never lets a quiescence
 *   waiter through
 * - inside `yieldSlot` the task holds no slot and stays counted; inside
 *   `yieldQuiescent` it is also out of `active`, and counted again in the
 *   step `self` ends, before it waits for its slot
 *
 * Ordering: taking a slot back (`acquireSlot`) checks and queues inside the
 * callback's registration — one step, so no yield can fall between them
 * and strand the task behind a slot freed meanwhile. A yield's after-step
 * first tries `slotAtOnce` in its own (uninterruptible) step: a free slot
 * nobody waits for is taken at once, without the callback.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { taskSpan } from "./accounting.ts"
import { invalid } from "./arguments.ts"
import type { TaskPool } from "./pool.ts"
import { regionContext } from "./region.ts"
import { State, type Task } from "./task.ts"

/**
 * The task has a slot in this step: it still holds one, or one is free and
 * nobody is queued and it takes it. It is running then; `false` when it must
 * wait.
 */
const slotAtOnce = (pool: TaskPool, task: Task): boolean => {
  if (!task.holdsSlot && !pool.admission.takeIfFree(task)) return false
  pool.setState(task, State.Running)
  return true
}

/**
 * Takes a slot for a started task (the caller has moved it to its waiting
 * state): at once when `slotAtOnce`, otherwise at the back of the queue.
 * Interruptible while queued: an interrupted wait leaves the queue; a slot
 * granted meanwhile is given back by the task's exit (`holdsSlot` is the
 * only truth).
 */
export const acquireSlot = (pool: TaskPool, task: Task): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (slotAtOnce(pool, task)) return resume(Effect.void)
    pool.admission.park(task)
    task.run!.resume = resume
    return Effect.sync(() => {
      if (task.queued) {
        pool.admission.leave(task)
        task.run!.resume = undefined
      }
    })
  })

/** What a run executes: its body, with its name and the context it was submitted from. */
export interface RunSpec {
  readonly name: string
  readonly body: Effect.Effect<unknown, unknown>
  readonly context: Context.Context<never>
  /** when the run started waiting for its slot (registration, or its requeue) */
  readonly parkedSince: number
  /** span attributes beside the task id and parked time (called only when tracing is in use) */
  readonly attributes: () => Record<string, unknown>
}

/**
 * A run of a multi-run task begins on the task's own fiber: it takes the
 * run's name, counts the start, and returns the body to run — in a span
 * when tracing is in use, and with the task's marker in its context (so a
 * submit made from inside another task does not hide the run's own).
 */
export const beginRun = (pool: TaskPool, task: Task, spec: RunSpec): Effect.Effect<unknown, unknown> => {
  const run = task.run!
  task.name = spec.name
  const now = pool.now()
  if (task.state !== State.Running) pool.setState(task, State.Running, now) // got its slot back at once
  run.open = true
  pool.accounting.runStarted(run, spec.parkedSince, now)
  const body = pool.accounting.traced(spec.context)
    ? taskSpan(spec.body, task, {
      ...spec.attributes(),
      "effect_task.task.parked_ms": run.startedAt - spec.parkedSince
    })
    : spec.body
  return Effect.provideContext(body, pool.contextFor(task, spec.context))
}

/**
 * The run's body ended with `exit` (not by interruption: then the fiber ends
 * and the pool ends the run). Counts its outcome and logs a failure under the
 * run's name; returns whether it failed.
 */
export const endRun = (pool: TaskPool, task: Task, spec: RunSpec, exit: Exit.Exit<unknown, unknown>): boolean => {
  const run = task.run!
  run.open = false
  pool.accounting.runEnded(run, exit, pool.now())
  const failed = exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)
  if (failed) pool.recordFailure(spec.name, spec.context, (exit as Exit.Failure<unknown, unknown>).cause)
  return failed
}

/** A queued run shows (in `snapshot`, on its span) under the latest submit's name. */
export const rename = (task: Task, name: string): void => {
  task.name = name
}

/**
 * The task runs again: it gives its slot back and waits at the back of the
 * FIFO for one (its parked time counts from here: `task.stateSince`).
 */
export const requeue = (pool: TaskPool, task: Task, name: string): Effect.Effect<void> => {
  task.name = name
  pool.setState(task, State.Requeued)
  if (task.holdsSlot) pool.admission.release(task)
  return acquireSlot(pool, task)
}

/**
 * `yieldSlot` (`quiescent = false`) and `yieldQuiescent`: gives the calling
 * task's slot back (and leaves `active`) while `self` runs, then takes a slot
 * again. Outside a task body, on a child fiber of one, inside an enclosing
 * yield that already released what this one would, or (`yieldSlot`) on an
 * unbounded service, `self` runs unchanged.
 */
export const yieldWith = <A, E, R>(
  pool: TaskPool,
  self: Effect.Effect<A, E, R>,
  quiescent: boolean
): Effect.Effect<A, E, R> => {
  if (!Effect.isEffect(self)) {
    return Effect.die(
      invalid(quiescent ? "TaskService.yieldQuiescent" : "TaskService.yieldSlot", "self", self, "an Effect")
    )
  }
  // One step decides and releases: `uninterruptibleMask`'s own step runs on the calling
  // fiber, so `Fiber.getCurrent()` is that fiber (no `withFiber` of its own).
  return Effect.uninterruptibleMask((restore) => {
    const task = pool.taskOf(Fiber.getCurrent()!)
    if (task === undefined) return restore(self) // outside any task, or on a child fiber of a body
    const releaseSlot = task.holdsSlot && pool.admission.bound !== Infinity
    const leaveCount = quiescent && task.counted
    if (!releaseSlot && !leaveCount) return restore(self) // an enclosing yield already released what this one would
    const previous = task.state
    if (releaseSlot) pool.admission.release(task)
    if (leaveCount) pool.uncount(task)
    pool.setState(task, leaveCount ? State.YieldedQuiescent : State.YieldedSlot)
    // the region runs under a scheduler and a tracer of its own (see `quiescence.ts`)
    const region = leaveCount
      ? Effect.updateContext(
        restore(self),
        regionContext(pool.quiescence.regionOf(task)) as (context: Context.Context<R>) => Context.Context<R>
      )
      : restore(self)
    // However `self` ends (interrupted too), the step after it runs uninterruptibly:
    // counted again as soon as `self` ends, before waiting for a slot. A free slot
    // nobody waits for is taken in this same step; otherwise the task is a parked
    // task until the slot is back (`acquireSlot` makes it running). Waiting for the
    // slot is interruptible; an interrupted wait takes no slot, and a slot granted
    // meanwhile is given back by the task's exit.
    return Effect.flatMap(Effect.exit(region), (exit) => {
      if (leaveCount) pool.recount(task)
      if (!releaseSlot) {
        pool.setState(task, previous)
        return exit
      }
      if (slotAtOnce(pool, task)) return exit
      pool.setState(task, State.Requeued)
      // an interrupted wait ends the task with the interruption alone, `self`'s
      // outcome dropped: it counts as interrupted, not as failed
      return Effect.andThen(restore(acquireSlot(pool, task)), exit)
    })
  })
}
