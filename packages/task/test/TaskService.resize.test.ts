/**
 * `resize` and `workers`: raising the bound starts parked tasks at once;
 * lowering it never interrupts a running body and holds back starts until
 * fewer than the new bound run.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Latch, Layer } from "effect"
import { TaskService } from "effect-task"
import { Gauge, tracked, untilRunningBodies, untilStarted } from "./helpers/gauge.ts"
import { collectChanges } from "./helpers/service.ts"
import { settle } from "./helpers/waits.ts"

describe("TaskService.resize and workers", () => {
  it.effect("raising the bound starts parked tasks at once", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const gate = yield* Latch.make(false)
      for (const name of ["a", "b", "c", "d", "e"]) yield* tasks.go(name, tracked(gauge, name, gate.await))
      yield* untilStarted(gauge, 1)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["a"])
      yield* tasks.resize(3)
      assert.strictEqual(yield* tasks.workers, 3)
      yield* untilStarted(gauge, 3)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["a", "b", "c"])
      assert.strictEqual(gauge.high, 3)
      yield* gate.open
      yield* tasks.blockTillDone
      assert.strictEqual(gauge.high, 3)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("lowering the bound never interrupts running bodies and holds back starts until running < bound", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const interrupted: Array<string> = []
      const gates = new Map<string, Latch.Latch>()
      const names = ["r1", "r2", "r3", "r4", "p1", "p2", "p3"]
      for (const name of names) {
        const gate = yield* Latch.make(false)
        gates.set(name, gate)
        yield* tasks.go(
          name,
          tracked(gauge, name, gate.await.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted.push(name)))))
        )
      }
      yield* untilStarted(gauge, 4)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["r1", "r2", "r3", "r4"])
      yield* tasks.resize(2)
      assert.strictEqual(yield* tasks.workers, 2)
      yield* untilRunningBodies(gauge, 4)
      yield* settle // and no more
      assert.strictEqual(gauge.running, 4)
      assert.deepStrictEqual(interrupted, [])
      // 4 → 3 running: still not under 2
      yield* gates.get("r1")!.open
      yield* untilRunningBodies(gauge, 3)
      yield* settle // and no more
      assert.strictEqual(gauge.running, 3)
      assert.deepStrictEqual(gauge.starts, ["r1", "r2", "r3", "r4"])
      // 3 → 2: not under 2 either
      yield* gates.get("r2")!.open
      yield* untilRunningBodies(gauge, 2)
      yield* settle // and no more
      assert.strictEqual(gauge.running, 2)
      assert.deepStrictEqual(gauge.starts, ["r1", "r2", "r3", "r4"])
      // 2 → 1: one start, back to 2
      gauge.resetHigh()
      yield* gates.get("r3")!.open
      yield* untilStarted(gauge, 5)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["r1", "r2", "r3", "r4", "p1"])
      assert.strictEqual(gauge.running, 2)
      for (const name of ["r4", "p1", "p2", "p3"]) yield* gates.get(name)!.open
      yield* tasks.blockTillDone
      assert.strictEqual(gauge.high, 2)
      assert.deepStrictEqual(gauge.starts, names)
      assert.deepStrictEqual(interrupted, [])
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("resize to 0 or Infinity makes the service unbounded; resize from unbounded bounds it", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const gate = yield* Latch.make(false)
      for (let i = 0; i < 6; i++) yield* tasks.go(`t${i}`, tracked(gauge, `t${i}`, gate.await))
      yield* untilStarted(gauge, 1)
      yield* settle // and no more
      assert.strictEqual(gauge.started, 1)
      yield* tasks.resize(0)
      assert.strictEqual(yield* tasks.workers, undefined)
      yield* untilStarted(gauge, 6)
      yield* settle // and no more
      assert.strictEqual(gauge.started, 6)
      yield* gate.open
      yield* tasks.blockTillDone

      yield* tasks.resize(2)
      assert.strictEqual(yield* tasks.workers, 2)
      const gate2 = yield* Latch.make(false)
      for (let i = 0; i < 6; i++) yield* tasks.go(`u${i}`, tracked(gauge, `u${i}`, gate2.await))
      yield* untilStarted(gauge, 8)
      yield* settle // and no more
      assert.strictEqual(gauge.started, 8)
      yield* tasks.resize(Infinity)
      assert.strictEqual(yield* tasks.workers, undefined)
      yield* untilStarted(gauge, 12)
      yield* settle // and no more
      assert.strictEqual(gauge.started, 12)
      yield* gate2.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("an unbounded service can be bounded by resize", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const gates = yield* Effect.forEach([0, 1, 2], () => Latch.make(false))
      for (const [i, gate] of gates.entries()) yield* tasks.go(`r${i}`, tracked(gauge, `r${i}`, gate.await))
      yield* untilRunningBodies(gauge, 3)
      yield* settle // and no more
      assert.strictEqual(gauge.running, 3)
      yield* tasks.resize(2)
      yield* tasks.go("late", tracked(gauge, "late", Effect.void))
      yield* untilStarted(gauge, 3)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["r0", "r1", "r2"])
      yield* gates[0]!.open
      yield* untilStarted(gauge, 3)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["r0", "r1", "r2"])
      yield* gates[1]!.open
      yield* untilStarted(gauge, 4)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["r0", "r1", "r2", "late"])
      yield* gates[2]!.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(Layer.fresh(TaskService.layerUnbounded))))

  it.effect("activeChanges and counters are unaffected by resize", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      const changes = yield* collectChanges(tasks, 3)
      yield* tasks.go("a", gate.await)
      yield* tasks.resize(5)
      yield* tasks.resize(1)
      yield* gate.open
      assert.deepStrictEqual(yield* Fiber.join(changes), [0, 1, 0])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})
