/**
 * Steps without time: bodies wait on a `Latch` the test opens, and
 * `Effect.yieldNow` lets every fiber that is ready run. A high-water counter
 * checks the bound.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Latch } from "effect"
import { TaskService } from "effect-task"

/** Counts bodies while they run and remembers the most seen at once. */
class HighWater {
  running = 0
  high = 0
  track<A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      this.high = Math.max(this.high, ++this.running)
      return Effect.ensuring(body, Effect.sync(() => this.running--))
    })
  }
}

describe("bound", () => {
  for (const bound of [1, 3, 8]) {
    it.effect(`never runs more than ${bound} bodies at once`, () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gauge = new HighWater()
        const gate = yield* Latch.make(false)
        for (let i = 0; i < 20; i++) yield* tasks.go(`t${i}`, gauge.track(gate.await))

        yield* Effect.yieldNow // the first `bound` bodies start and wait at the gate
        assert.strictEqual(gauge.running, bound)
        const states = (yield* tasks.snapshot).map((info) => info.state)
        assert.strictEqual(states.filter((state) => state === "parked").length, 20 - bound)

        yield* gate.open
        yield* tasks.blockTillDone
        assert.strictEqual(gauge.high, bound)
      }).pipe(Effect.provide(TaskService.layerBounded(bound))))
  }
})
