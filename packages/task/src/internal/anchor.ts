/**
 * The shape anchor: one finished pool, task, run and task fiber, kept for
 * the life of the module, so that the hidden classes of the hot path stay
 * alive between services.
 *
 * V8 holds the maps an object acquires in its constructor (the transitions
 * from its class's initial map) weakly. When a service closes, its pool and
 * every `Task`, `TaskRun` and task fiber die; the next full GC may collect
 * their maps, and every optimized function specialised on them — the pool's
 * methods and Effect's run loop — deoptimizes ("embedded weak objects
 * cleared"). The next service then warms up from scratch: measured, a
 * 10,000-task run after a full GC cost 4x a warm one, in a process that
 * builds one service after another (a CLI run per request, a test suite, the
 * benchmark). One pool that has run one task of each kind (started at once,
 * and parked as a record first) keeps the maps alive. It holds no user
 * context, registers no metrics, uses up one pool id and schedules nothing
 * (its tasks are started inline, on a scheduler that never runs anything).
 *
 * Invariant: `anchor` is made at most once, by the first service built, and
 * then never changes.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Scheduler from "effect/Scheduler"
import { ExactAccounting } from "./accounting.ts"
import { TaskPool } from "./pool.ts"
import type { Task } from "./task.ts"

let anchor: { readonly pool: TaskPool; readonly task: Task | undefined } | undefined = undefined

/** Makes the anchor once (the first service built calls it). @internal */
export const anchorShapes = (): void => {
  if (anchor !== undefined) return
  const pool = new TaskPool(
    1,
    // a scheduler that never runs what it is given: the anchor drains inline, and leaves no timer behind
    new Scheduler.MixedScheduler("async", () => () => {}),
    new ExactAccounting(Context.get(Context.empty(), Clock.Clock))
  )
  const task = pool.register("anchor", Effect.void, Context.empty(), undefined)
  pool.register("anchor", Effect.void, Context.empty(), undefined) // parks as a record
  pool.starter.drain()
  // the field Effect adds to a fiber when it first suspends
  if (task?.run?.fiber !== undefined) void (task.run.fiber as { currentDispatcher?: unknown }).currentDispatcher
  anchor = { pool, task }
}
