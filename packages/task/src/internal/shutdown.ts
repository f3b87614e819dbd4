/**
 * Shutdown: what closing a service's scope does to its pool. It closes the
 * pool (nothing registers after), cancels the owners' timers (shutdown
 * hooks), drops every task that never started, interrupts every started
 * task and waits for all of them to end.
 *
 * Invariants (once the returned effect completes):
 * - `closed`, `registered = active = running = parked = yielded = 0`
 * - every task dropped unstarted counts once in `interrupted`; every started
 *   task's outcome is counted by its exit, as any exit is
 * - `activeChanges` streams have ended
 *
 * Ordering: every started task is interrupted, oldest first, with the start
 * queue held, before any slot they free is handed on: a task waiting for its
 * slot back cannot be resumed by a neighbour's exit before it is interrupted.
 *
 * Gotcha: a task that closes its own service's scope — from its body's fiber
 * or from a fiber the body forked (found through the context's marker, which
 * forked fibers inherit) — cannot be waited for: its body may be waiting for
 * the very fiber running this. As `forkIn` does, it is left out of the wait
 * and interrupted once every other task has ended; when the caller is the
 * body itself, the interrupt takes effect as the close returns to it (it is
 * deferred while the finalizers run uninterruptibly).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { TaskPool } from "./pool.ts"
import { State, type Task } from "./task.ts"

/** @internal */
export const shutdown = (pool: TaskPool): Effect.Effect<void> =>
  Effect.withFiber((caller) => {
    const owner = caller.getRef(pool.currentTask)
    const self = owner !== undefined && owner.state !== State.Done && owner.fiber !== undefined ? owner : undefined
    pool.closed = true
    for (const hook of pool.shutdownHooks) hook()
    pool.shutdownHooks.clear()
    // tasks that never started: parked ones, and granted ones whose start is pending
    const removed = pool.admission.removeAll((task) => task.fiber !== undefined)
    const dropped: Array<Task> = removed.records.map(pool.materialize)
    for (const task of removed.tasks) dropped.push(task)
    for (const task of pool.starter.unstarted()) dropped.push(task)
    pool.dropAll(dropped)
    const live = pool.live.toArray()
    pool.starter.hold(() => {
      for (let i = live.length - 1; i >= 0; i--) {
        const task = live[i]!
        if (task !== self) task.fiber!.interruptUnsafe()
      }
    })
    pool.starter.drain()
    if (pool.registered === 0) pool.onIdle()
    if (self === undefined) return pool.blockTillDone
    return Effect.andThen(
      pool.awaitRegistered(1),
      Effect.sync(() => self.fiber!.interruptUnsafe(caller.id))
    )
  })
