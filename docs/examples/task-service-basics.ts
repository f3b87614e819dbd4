/**
 * Five tasks under a bound of two: `go` returns at once, every task is
 * counted from registration on, and never more than two bodies run.
 */
import { Effect, Latch } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const gate = yield* Latch.make(false)
  let running = 0
  let highWater = 0

  for (let i = 1; i <= 5; i++) {
    // registers the task and returns; never waits for a worker slot
    yield* tasks.go(
      `job-${i}`,
      Effect.gen(function*() {
        running++
        highWater = Math.max(highWater, running)
        yield* gate.await
        running--
      })
    )
  }
  // all five count already, the three still waiting for a slot included
  assert.equal(yield* tasks.activeCount, 5)
  assert.equal(yield* tasks.workers, 2)

  yield* Effect.yieldNow // the first two start and wait at the gate
  assert.equal(running, 2)
  yield* gate.open
  yield* tasks.blockTillDone
  assert.equal(highWater, 2)
  assert.equal(yield* tasks.activeCount, 0)
  return highWater
}).pipe(Effect.provide(TaskService.layerBounded(2)))
