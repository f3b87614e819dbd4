/**
 * Periodic resync with `submitAfter` (workqueue's `AddAfter`): each run
 * schedules the next one. A key keeps one delayed submit, and the earliest
 * due time wins, so an event in between runs at once and does not push the
 * resync back.
 */
import { Clock, Effect } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<string>()
  const runs: Array<string> = []

  const reconcile = (why: string): Effect.Effect<void> =>
    Effect.gen(function*() {
      runs.push(`${why} at ${(yield* Clock.currentTimeMillis) / 1_000}s`)
      // resync in 30 s, whatever happens meanwhile
      yield* coalescer.submitAfter("resync default/app", "default/app", reconcile("resync"), "30 seconds")
    })

  yield* coalescer.submit("reconcile default/app", "default/app", reconcile("event"))
  yield* Effect.yieldNow
  assert.equal(yield* coalescer.scheduled, 1) // the resync waits: not counted, no slot
  assert.equal(yield* tasks.activeCount, 0)

  yield* TestClock.adjust("30 seconds") // the resync runs at 30 s and schedules one for 60 s
  yield* TestClock.adjust("15 seconds")
  // an event at 45 s runs at once; its own resync (75 s) merges into the one due at 60 s
  yield* coalescer.submit("reconcile default/app", "default/app", reconcile("event"))
  yield* Effect.yieldNow
  yield* TestClock.adjust("15 seconds")
  assert.deepEqual(runs, ["event at 0s", "resync at 30s", "event at 45s", "resync at 60s"])

  // stop resyncing the key
  assert.equal(yield* coalescer.cancel("default/app"), true)
  yield* TestClock.adjust("10 minutes")
  assert.equal(runs.length, 4)
  assert.equal(yield* coalescer.scheduled, 0)
}).pipe(Effect.provide(TaskService.layerBounded(4)))
