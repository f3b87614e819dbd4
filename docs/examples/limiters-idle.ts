/**
 * p-queue's waits and counts: `onIdle()` is `blockTillDone`,
 * `onSizeLessThan(n)` is closest to `awaitQuiescence`, `pending` and `size`
 * are the running and parked entries of `snapshot`.
 */
import { Effect, Fiber, Latch } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const gate = yield* Latch.make(false)
  for (let i = 0; i < 5; i++) yield* tasks.go(`job-${i}`, gate.await)
  yield* Effect.yieldNow

  const snapshot = yield* tasks.snapshot
  const pending = snapshot.filter((info) => info.state === "running").length // p-queue: queue.pending
  const size = snapshot.filter((info) => info.state === "parked").length // p-queue: queue.size
  assert.deepEqual([pending, size, yield* tasks.activeCount], [2, 3, 5])

  // p-queue: await queue.onSizeLessThan(1) (nothing waiting) ~ at most `workers` left
  const fewLeft = yield* Effect.forkChild(tasks.awaitQuiescence(2))
  // p-queue: await queue.onIdle()
  const idle = yield* Effect.forkChild(tasks.blockTillDone)
  yield* gate.open
  yield* Fiber.join(fewLeft)
  yield* Fiber.join(idle)
  assert.equal(yield* tasks.activeCount, 0)
}).pipe(Effect.provide(TaskService.layerBounded(2)))
