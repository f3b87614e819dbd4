/**
 * The startup hold. While work is still being submitted, the count can
 * touch 0 between two submissions and a quiescence waiter fires too early.
 * A gate task, registered before the first submission and released after
 * the last, keeps the count above 0 until everything is submitted.
 */
import { Effect, Fiber, Latch } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

const items = ["a", "b", "c", "d"]

/** Submits the items one by one and returns how many were done when quiescence fired. */
const run = (hold: boolean) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    let done = 0
    const submitted = yield* Latch.make(false)
    if (hold) yield* tasks.go("startup", submitted.await)

    let waiter: Fiber.Fiber<number> | undefined
    for (const item of items) {
      yield* tasks.go(`render ${item}`, Effect.sync(() => done++))
      waiter ??= yield* Effect.forkChild(Effect.map(tasks.awaitQuiescence(0), () => done))
      yield* Effect.yieldNow // reading the next item takes a moment
    }
    yield* submitted.open
    return yield* Fiber.join(waiter!)
  })

export const program = Effect.gen(function*() {
  // without the hold, quiescence fires after the first item
  assert.equal(yield* run(false).pipe(Effect.provide(TaskService.layerBounded(2))), 1)
  // with it, only once every item is submitted and done
  assert.equal(yield* run(true).pipe(Effect.provide(TaskService.layerBounded(2))), items.length)
})
