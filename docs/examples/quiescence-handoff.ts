/**
 * The hand-off rule. `mid` waits for `src` and `leaf` waits for `mid`, both
 * inside `yieldQuiescent`. When `src` opens the latch and ends, the count is
 * 0 until `mid` resumes one scheduler round later; `awaitQuiescence(0)` does
 * not complete in that window, only after `leaf` has finished.
 */
import { Effect, Fiber, Latch } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const log: Array<string> = []
  const start = yield* Latch.make(false)
  const srcDone = yield* Latch.make(false)
  const midDone = yield* Latch.make(false)

  yield* tasks.go(
    "leaf",
    Effect.gen(function*() {
      yield* tasks.yieldQuiescent(midDone.await)
      log.push("leaf done")
    })
  )
  yield* tasks.go(
    "mid",
    Effect.gen(function*() {
      yield* tasks.yieldQuiescent(srcDone.await)
      log.push("mid done")
      yield* midDone.open // `leaf` resumes a scheduler round later
    })
  )
  yield* tasks.go(
    "src",
    Effect.gen(function*() {
      yield* start.await
      log.push("src done")
      yield* srcDone.open // `mid` resumes a scheduler round later
    })
  )

  const waiter = yield* Effect.forkChild(
    Effect.andThen(tasks.awaitQuiescence(0), Effect.sync(() => log.push("quiescent")))
  )
  yield* start.open
  yield* Fiber.join(waiter)
  assert.deepEqual(log, ["src done", "mid done", "leaf done", "quiescent"])
}).pipe(Effect.provide(TaskService.layerBounded(2)))
