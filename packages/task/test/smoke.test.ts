import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Latch } from "effect"
import { TaskService } from "effect-task"
import { TestClock } from "effect/testing"

describe("smoke", () => {
  it.effect("runs tasks under a bound", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      let running = 0
      let high = 0
      let done = 0
      for (let i = 0; i < 10; i++) {
        yield* tasks.go(
          `t${i}`,
          Effect.gen(function*() {
            running++
            high = Math.max(high, running)
            yield* Effect.sleep("1 second")
            running--
            done++
          })
        )
      }
      assert.strictEqual(yield* tasks.activeCount, 10)
      const waiter = yield* Effect.forkChild(tasks.blockTillDone)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(waiter)
      assert.strictEqual(done, 10)
      assert.strictEqual(high, 2)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("hand-off chain with latches", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const l1 = yield* Latch.make(false)
      const l2 = yield* Latch.make(false)
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      yield* tasks.go(
        "src",
        Effect.andThen(Deferred.await(gate), Effect.andThen(l1.open, Effect.sync(() => log.push("src"))))
      )
      yield* tasks.go(
        "mid",
        Effect.andThen(tasks.yieldQuiescent(l1.await), Effect.andThen(l2.open, Effect.sync(() => log.push("mid"))))
      )
      yield* tasks.go("leaf", Effect.andThen(tasks.yieldQuiescent(l2.await), Effect.sync(() => log.push("leaf"))))
      const q = yield* Effect.forkChild(
        tasks.awaitQuiescence(0).pipe(Effect.andThen(Effect.sync(() => log.push("quiet"))))
      )
      yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(q)
      assert.deepStrictEqual(log, ["src", "mid", "leaf", "quiet"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})
