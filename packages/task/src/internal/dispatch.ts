/**
 * Shared dispatch: the task fibers of one service schedule their work (a
 * `yieldNow`, a resumed `Deferred`, the op budget's yield) through one
 * dispatcher per scheduler, instead of one each.
 *
 * Effect 4 gives every fiber a dispatcher of its own, made lazily from its
 * scheduler (`fiber.currentDispatcher`), and a `MixedScheduler` dispatcher
 * costs a `setImmediate` for every batch it runs: a thousand task fibers that
 * each yield once cost a thousand immediates, and a dispatcher with its
 * buckets per fiber. A task fiber is given, before its body's first step,
 * the dispatcher this pool keeps for the fiber's own scheduler, made once by
 * that scheduler's `makeDispatcher`: the work task fibers schedule in one
 * turn runs in one batch, first in, first out. The pool's drain slices go
 * through the same dispatcher. The fiber's scheduler (`Scheduler.Scheduler`
 * in its context) is not changed: a body sees the scheduler it would see
 * without the service.
 *
 * Invariants:
 * - one dispatcher per pool and scheduler, never replaced
 * - a fiber is given one only while it has none (`_dispatcher` unset): when
 *   its scheduler changes (a region's, a provided one), Effect drops the
 *   dispatcher and the fiber makes its own from the new scheduler
 *
 * Isolation: a task that throws out of a shared batch (a user's fiber
 * observer, resumed inline by a task's exit) must not take the rest of the
 * batch with it, as it would with Effect's dispatcher, which runs a batch in
 * one loop: every task is run in its own `try`, and an exception is thrown
 * again from a microtask of its own (an uncaught exception, as before), so
 * the other fibers of the batch and the pool's drain slices still run.
 *
 * Gotchas:
 * - A user scheduler whose dispatchers stand for one fiber each (per-fiber
 *   accounting or tracing in `makeDispatcher`) sees the work of every task
 *   fiber of the service through the one dispatcher it made.
 * - Priorities (`yieldNowWith(priority)`) now order the tasks of different
 *   task fibers within a batch, not only those of one fiber.
 * - This writes Effect's internal `_dispatcher` field of a fiber (declared
 *   by `FiberImpl`, read by its `currentDispatcher` getter). Should a later
 *   Effect drop that field, the write is inert: fibers make their own
 *   dispatchers again, which costs speed, not correctness.
 * - Microtasks queued by one fiber's continuation run after the whole batch
 *   rather than before the next fiber's continuation (Node runs microtasks
 *   between immediates, not inside one callback).
 *
 * @internal
 */
import type * as Fiber from "effect/Fiber"
import type * as Scheduler from "effect/Scheduler"

/**
 * Throws `error` again from a microtask of its own: still an uncaught
 * exception, but the synchronous loop that caught it (a batch, the pool's
 * wake-ups) goes on.
 *
 * @internal
 */
export const rethrowLater = (error: unknown): void => {
  queueMicrotask(() => {
    throw error
  })
}

/** Runs `task`; an exception is thrown again from a microtask, so the caller's batch goes on. */
const isolated = (task: () => void) => (): void => {
  try {
    task()
  } catch (error) {
    rethrowLater(error)
  }
}

/** One dispatcher of the inner scheduler, with every task run in isolation. @internal */
class SharedDispatcher implements Scheduler.SchedulerDispatcher {
  private readonly inner: Scheduler.SchedulerDispatcher

  constructor(inner: Scheduler.SchedulerDispatcher) {
    this.inner = inner
  }

  scheduleTask(task: () => void, priority: number): void {
    this.inner.scheduleTask(isolated(task), priority)
  }

  flush(): void {
    this.inner.flush()
  }
}

/** @internal */
export class SharedDispatchers {
  private readonly byScheduler = new WeakMap<Scheduler.Scheduler, Scheduler.SchedulerDispatcher>()
  /** the last lookup (task fibers of one service almost always share one scheduler) */
  private lastScheduler: Scheduler.Scheduler | undefined = undefined
  private lastDispatcher: Scheduler.SchedulerDispatcher | undefined = undefined

  /** The dispatcher this pool keeps for `scheduler`. */
  of(scheduler: Scheduler.Scheduler): Scheduler.SchedulerDispatcher {
    if (scheduler === this.lastScheduler) return this.lastDispatcher!
    let dispatcher = this.byScheduler.get(scheduler)
    if (dispatcher === undefined) {
      dispatcher = new SharedDispatcher(scheduler.makeDispatcher())
      this.byScheduler.set(scheduler, dispatcher)
    }
    this.lastScheduler = scheduler
    this.lastDispatcher = dispatcher
    return dispatcher
  }

  /** Gives a task fiber that has no dispatcher yet the shared one of its scheduler. */
  share(fiber: Fiber.Fiber<unknown, unknown>): void {
    const internal = fiber as unknown as { _dispatcher?: Scheduler.SchedulerDispatcher }
    if (internal._dispatcher === undefined) internal._dispatcher = this.of(fiber.cache.scheduler)
  }
}
