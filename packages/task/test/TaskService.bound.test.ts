import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Latch, Layer } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"
import * as os from "node:os"
import { Gauge, releasing, tracked, untilStarted } from "./helpers/gauge.ts"
import { settle, until, untilActive, untilState } from "./helpers/waits.ts"

/**
 * Submits `count` bodies gated on one latch, checks that exactly `expected`
 * of them run before the gate opens, then that all finish and the high-water
 * mark stayed at `expected`.
 */
const checkBound = (tasks: TaskServiceShape, count: number, expected: number) =>
  Effect.gen(function*() {
    const gauge = new Gauge()
    const gate = yield* Latch.make(false)
    for (let i = 0; i < count; i++) {
      yield* tasks.go(`t${i}`, tracked(gauge, `t${i}`, Effect.andThen(gate.await, Effect.yieldNow)))
    }
    assert.strictEqual(yield* tasks.activeCount, count)
    yield* untilStarted(gauge, expected)
    yield* settle // and no more start
    assert.strictEqual(gauge.started, expected)
    assert.strictEqual(gauge.running, expected)
    assert.strictEqual(gauge.high, expected)
    yield* gate.open
    yield* tasks.blockTillDone
    assert.strictEqual(gauge.finished, count)
    assert.strictEqual(gauge.high, expected)
    assert.strictEqual(yield* tasks.activeCount, 0)
  })

describe("TaskService bound", () => {
  describe("a bounded service runs exactly `workers` bodies at once", () => {
    for (const bound of [1, 2, 8]) {
      it.effect(`layerBounded(${bound}): the high-water mark equals ${bound} when ${3 * bound + 1} are submitted`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          assert.strictEqual(yield* tasks.workers, bound)
          yield* checkBound(tasks, 3 * bound + 1, bound)
          // and again with a second batch on the same service
          yield* checkBound(tasks, 2 * bound + 3, bound)
        }).pipe(Effect.provide(TaskService.layerBounded(bound))))
    }
  })

  describe("unbounded layers start every body at once", () => {
    const cases: ReadonlyArray<readonly [string, Layer.Layer<TaskService>]> = [
      ["layerBounded(0)", TaskService.layerBounded(0)],
      ["layerBounded(-3)", TaskService.layerBounded(-3)],
      ["layerBounded(-Infinity)", TaskService.layerBounded(-Infinity)],
      ["layerBounded(Infinity)", TaskService.layerBounded(Infinity)],
      ["layerUnbounded", Layer.fresh(TaskService.layerUnbounded)]
    ]
    for (const [name, layer] of cases) {
      it.effect(`${name}: 200 gated bodies all run together and workers is undefined`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          assert.strictEqual(yield* tasks.workers, undefined)
          yield* checkBound(tasks, 200, 200)
        }).pipe(Effect.provide(layer)))
    }
  })

  it.effect("the default layer is bounded by os.availableParallelism() * 4", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const expected = os.availableParallelism() * 4
      assert.strictEqual(yield* tasks.workers, expected)
      yield* checkBound(tasks, 2 * expected + 5, expected)
    }).pipe(Effect.provide(Layer.fresh(TaskService.layer))))
})

describe("TaskService slot order", () => {
  it.effect("with a bound of 1, parked tasks start exactly in registration order", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const gate = yield* Latch.make(false)
      yield* tasks.go("blocker", tracked(gauge, "blocker", gate.await))
      yield* untilStarted(gauge, 1)
      const names = ["a", "b", "c", "d", "e", "f", "g"]
      for (const name of names) {
        yield* tasks.go(name, tracked(gauge, name, Effect.andThen(Effect.yieldNow, Effect.yieldNow)))
      }
      yield* untilStarted(gauge, 1)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["blocker"])
      yield* gate.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(gauge.starts, ["blocker", ...names])
      assert.strictEqual(gauge.high, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("with a bound of 2, each freed slot goes to the oldest parked task", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const gates = new Map<string, Latch.Latch>()
      const names = ["a", "b", "c", "d", "e", "f"]
      for (const name of names) {
        const gate = yield* Latch.make(false)
        gates.set(name, gate)
        yield* tasks.go(name, tracked(gauge, name, gate.await))
      }
      yield* untilStarted(gauge, 2)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["a", "b"])
      // free the slots out of order: b first, then a
      yield* gates.get("b")!.open
      yield* untilStarted(gauge, 3)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["a", "b", "c"])
      yield* gates.get("a")!.open
      yield* untilStarted(gauge, 4)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["a", "b", "c", "d"])
      yield* gates.get("d")!.open
      yield* gates.get("c")!.open
      yield* untilStarted(gauge, 6)
      assert.deepStrictEqual(gauge.starts, ["a", "b", "c", "d", "e", "f"])
      yield* gates.get("e")!.open
      yield* gates.get("f")!.open
      yield* tasks.blockTillDone
      assert.strictEqual(gauge.high, 2)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a task coming back from yieldSlot queues behind tasks parked before it, ahead of later ones", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const events: Array<string> = []
      const innerGate = yield* Latch.make(false)
      const bGate = yield* Latch.make(false)
      const step = (name: string) => tracked(gauge, name, Effect.sync(() => events.push(name)))
      yield* tasks.go(
        "A",
        tracked(
          gauge,
          "A",
          Effect.gen(function*() {
            events.push("A:start")
            yield* releasing(gauge, tasks, "slot", innerGate.await)
            events.push("A:back")
          })
        )
      )
      yield* until("A has started", () => events.length === 1)
      yield* untilState(tasks, "A", "yielded-slot")
      yield* tasks.go(
        "B",
        tracked(gauge, "B", Effect.andThen(Effect.sync(() => events.push("B:start")), bGate.await))
      )
      yield* until("B has started", () => events.length === 2)
      yield* tasks.go("C", step("C"))
      yield* tasks.go("D", step("D"))
      yield* settle // C and D stay parked behind B
      assert.deepStrictEqual(events, ["A:start", "B:start"])
      // A's inner effect ends: A queues for its slot behind C and D
      yield* innerGate.open
      yield* untilState(tasks, "A", "parked")
      yield* tasks.go("E", step("E"))
      yield* settle // nobody starts while B holds the slot
      assert.deepStrictEqual(events, ["A:start", "B:start"])
      yield* bGate.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(events, ["A:start", "B:start", "C", "D", "A:back", "E"])
      assert.strictEqual(gauge.high, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))
})

describe("TaskService.go", () => {
  it.effect("10,000 gated tasks into a bound of 1 are registered at once and counted", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const gate = yield* Latch.make(false)
      const n = 10_000
      for (let i = 0; i < n; i++) {
        yield* tasks.go(`t${i}`, tracked(gauge, "t", gate.await))
      }
      assert.strictEqual(yield* tasks.activeCount, n)
      yield* untilStarted(gauge, 1)
      yield* settle // and no more
      assert.strictEqual(gauge.started, 1)
      assert.strictEqual(yield* tasks.activeCount, n)
      yield* gate.open
      yield* tasks.blockTillDone
      assert.strictEqual(gauge.finished, n)
      assert.strictEqual(gauge.high, 1)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("activeCount has gone up by one when go returns, before the body starts", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const counts: Array<number> = []
      for (let i = 0; i < 3; i++) {
        yield* tasks.go(`t${i}`, Effect.void)
        counts.push(yield* tasks.activeCount)
      }
      assert.deepStrictEqual(counts, [1, 2, 3])
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("the body outlives the fiber that called go, even when that fiber is interrupted", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      const events: Array<string> = []
      const caller = yield* Effect.forkChild(
        Effect.andThen(
          tasks.go("survivor", Effect.andThen(gate.await, Effect.sync(() => events.push("body done")))),
          Effect.never
        )
      )
      yield* untilActive(tasks, 1) // the caller has called go and now waits forever
      yield* Fiber.interrupt(caller)
      assert.strictEqual(yield* tasks.activeCount, 1)
      yield* gate.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(events, ["body done"])
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})
