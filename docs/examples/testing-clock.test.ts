/**
 * Time under `it.effect` is the `TestClock`: sleeps end only when the test
 * moves the clock. A fresh `layerBounded(n)` per test gives each test its own
 * service.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TaskService } from "effect-task"
import { TestClock } from "effect/testing"

describe("render jobs", () => {
  it.effect("ten one-second jobs under a bound of 2 take five seconds", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      for (let i = 0; i < 10; i++) yield* tasks.go(`job-${i}`, Effect.sleep("1 second"))

      const done = yield* Effect.forkChild(tasks.blockTillDone)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(yield* tasks.activeCount, 2) // the last pair still runs
      assert.isUndefined(done.pollUnsafe())

      yield* TestClock.adjust("1 second")
      yield* Fiber.join(done)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})
