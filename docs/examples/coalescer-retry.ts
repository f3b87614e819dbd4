/**
 * Retry with backoff per key (workqueue's `AddRateLimited`): a failed run
 * runs again after the schedule's next delay, without holding a worker slot
 * while it waits. Driven here by `TestClock`, so the due times are exact.
 */
import { Clock, Effect, Schedule } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<string>({
    // 1 s, 2 s, 4 s, ... and at most 5 retries in a row, then give up
    retry: Schedule.exponential("1 second").pipe(Schedule.upTo({ times: 5 }))
  })
  const attempts: Array<number> = []
  const reconcile = Effect.gen(function*() {
    attempts.push(yield* Clock.currentTimeMillis)
    if (attempts.length < 3) return yield* Effect.fail("API server unavailable")
  })

  yield* coalescer.submit("reconcile default/app", "default/app", reconcile)
  yield* Effect.yieldNow
  // the first run failed: the key waits, holding no slot and not counted
  assert.equal(yield* coalescer.retries("default/app"), 1)
  assert.equal(yield* coalescer.scheduled, 1)
  assert.equal(yield* tasks.activeCount, 0)

  yield* TestClock.adjust("1 second") // second run at 1 s: fails, next wait 2 s
  yield* TestClock.adjust("2 seconds") // third run at 3 s: succeeds, the schedule resets
  yield* tasks.blockTillDone
  assert.deepEqual(attempts, [0, 1_000, 3_000])
  assert.equal(yield* coalescer.retries("default/app"), 0)
  assert.equal(yield* coalescer.scheduled, 0)
  assert.equal(yield* tasks.failures, 2) // every failed run still counts (and is logged)
}).pipe(Effect.provide(TaskService.layerBounded(4)))
