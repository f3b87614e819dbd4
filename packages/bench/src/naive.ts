import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as SubscriptionRef from "effect/SubscriptionRef"

/**
 * The naive Effect port of the task service: one `FiberSet.run` per submit,
 * the fiber parked on `Semaphore.withPermits`, the active count in a
 * `SubscriptionRef`, and `FiberSet.awaitEmpty` to wait for all.
 */
export interface NaiveService {
  go<A, E>(body: Effect.Effect<A, E>): Effect.Effect<void>
  readonly blockTillDone: Effect.Effect<void>
  readonly active: SubscriptionRef.SubscriptionRef<number>
  /**
   * Lifts the bound (a huge resize wakes every waiter in one scan). Used to
   * tear down 100k parked fibers quickly: closing the scope instead releases
   * permits one by one, and every release scans every waiter.
   */
  readonly unbound: Effect.Effect<void>
}

export const makeNaive = (bound: number): Effect.Effect<NaiveService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const set = yield* FiberSet.make<unknown, unknown>()
    const semaphore = bound === Infinity ? undefined : yield* Semaphore.make(bound)
    const active = yield* SubscriptionRef.make(0)
    const decrement = SubscriptionRef.update(active, (n) => n - 1)
    return {
      go: <A, E>(body: Effect.Effect<A, E>) =>
        Effect.andThen(
          SubscriptionRef.update(active, (n) => n + 1),
          FiberSet.run(
            set,
            Effect.ensuring(semaphore === undefined ? body : Semaphore.withPermits(semaphore, 1)(body), decrement)
          )
        ),
      blockTillDone: FiberSet.awaitEmpty(set),
      active,
      unbound: semaphore === undefined ? Effect.void : Semaphore.resize(semaphore, Number.MAX_SAFE_INTEGER)
    }
  })
