/**
 * Who is told when the pool's counts go down or change: `blockTillDone`
 * waiters (a limit on `registered`) and `activeChanges` subscribers (every
 * value of `active`). Quiescence waiters have a module of their own
 * (`quiescence.ts`): their rule is not a threshold alone.
 *
 * Invariants (after every step of the pool):
 * - `limit` = the largest `limit` among the waiters, `-1` without any
 * - `registered > limit`: a waiter is completed in the step that brings
 *   `registered` down to its limit (`onRegistered`)
 * - every subscriber has been offered every value `active` took since it
 *   subscribed, in order; once the pool is closed and empty, every
 *   subscriber's queue is ended and none is kept
 *
 * The pool resumes completed waiters only once its own state is consistent:
 * `onRegistered` hands their `resume` to `wake`, which the pool flushes at
 * the end of its step.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"

type Resume = (effect: Effect.Effect<void>) => void

interface DoneWaiter {
  /** completes when `registered <= limit` */
  readonly limit: number
  readonly resume: Resume
}

/** @internal */
export class DoneWaiters {
  private readonly waiters = new Set<DoneWaiter>()
  /** the largest `limit` among the waiters, `-1` without any: a finish below it completes some */
  limit = -1

  /**
   * Waits until `registered() <= limit`. The check and the registration are
   * one step, inside the callback's registration, whatever the op budget.
   */
  await(registered: () => number, limit: number): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (registered() <= limit) return resume(Effect.void)
      const waiter: DoneWaiter = { limit, resume }
      this.waiters.add(waiter)
      if (limit > this.limit) this.limit = limit
      return Effect.sync(() => {
        this.waiters.delete(waiter)
        if (this.waiters.size === 0) this.limit = -1
      })
    })
  }

  /** `registered` went down to `this.limit` or below: hands every satisfied waiter to `wake`. */
  onRegistered(registered: number, wake: (resume: Resume) => void): void {
    let limit = -1
    for (const waiter of this.waiters) {
      if (registered <= waiter.limit) {
        this.waiters.delete(waiter)
        wake(waiter.resume)
      } else if (waiter.limit > limit) {
        limit = waiter.limit
      }
    }
    this.limit = limit
  }
}

/** @internal */
export class Subscribers {
  private readonly queues = new Set<Queue.Queue<number, Cause.Done>>()

  /** Offers `active` at once; a closed, empty pool ends the stream there. */
  add(queue: Queue.Queue<number, Cause.Done>, active: number, ended: boolean): void {
    Queue.offerUnsafe(queue, active)
    if (ended) {
      Queue.endUnsafe(queue)
      return
    }
    this.queues.add(queue)
  }

  remove(queue: Queue.Queue<number, Cause.Done>): void {
    this.queues.delete(queue)
  }

  publish(active: number): void {
    if (this.queues.size === 0) return
    for (const queue of this.queues) Queue.offerUnsafe(queue, active)
  }

  /** The pool is closed and empty: every stream ends. */
  end(): void {
    for (const queue of this.queues) Queue.endUnsafe(queue)
    this.queues.clear()
  }
}
