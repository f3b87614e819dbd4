/**
 * The gotcha of the hand-off rule. While a task is inside `yieldQuiescent`,
 * a waiter completes only at a scheduler round in which no count went down.
 * Here a chain of short tasks ends one task per round: the count is 1 at
 * every round, yet `awaitQuiescence(1)` completes only when the chain stops.
 */
import { Effect, Fiber, Latch } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const dependency = yield* Latch.make(false)
  yield* tasks.go("waits for a dependency", tasks.yieldQuiescent(dependency.await))

  let links = 0
  const link = (i: number): Effect.Effect<void> =>
    Effect.gen(function*() {
      yield* Effect.yieldNow
      links++
      if (i < 10) yield* tasks.go(`link ${i + 1}`, link(i + 1)) // then this one ends
    })
  yield* tasks.go("link 0", link(0))

  const waiter = yield* Effect.forkChild(Effect.map(tasks.awaitQuiescence(1), () => links))
  const counts: Array<number> = [] // activeCount at each round while the waiter waits
  while (waiter.pollUnsafe() === undefined) {
    counts.push(yield* tasks.activeCount)
    yield* Effect.yieldNow
  }
  assert.ok(counts.filter((n) => n <= 1).length >= 10) // the threshold held round after round
  assert.equal(yield* Fiber.join(waiter), 11) // but the waiter completed after the last link

  yield* dependency.open
  yield* tasks.blockTillDone
}).pipe(Effect.provide(TaskService.layerUnbounded))
