/**
 * `yieldQuiescent` for a wait on another task's result, `yieldSlot` for the
 * task's own I/O. With a bound of 1, `consumer` would hold the only slot
 * while it waits for `producer`; yielding lets `producer` run.
 */
import { Deferred, Effect } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const result = yield* Deferred.make<number>()
  const counts: Array<number> = []

  yield* tasks.go(
    "consumer",
    Effect.gen(function*() {
      // a dependency wait: give the slot back and leave the count
      const value = yield* tasks.yieldQuiescent(Deferred.await(result))
      counts.push(yield* tasks.activeCount) // counted again
      assert.equal(value, 42)
    })
  )
  yield* tasks.go(
    "producer",
    Effect.gen(function*() {
      counts.push(yield* tasks.activeCount) // 1: itself; consumer is not counted
      const fetched = yield* tasks.yieldSlot(
        // own I/O: the slot is free for others, the task still counts
        Effect.andThen(Effect.yieldNow, tasks.activeCount)
      )
      counts.push(fetched)
      yield* Deferred.succeed(result, 42)
    })
  )
  yield* tasks.blockTillDone
  assert.deepEqual(counts, [1, 1, 1])
}).pipe(Effect.provide(TaskService.layerBounded(1)))
