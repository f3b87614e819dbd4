import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { Coalescer, TaskService } from "effect-task"

describe("interruption of task fibers", () => {
  it.effect("interrupting a body inside yieldSlot leaks no slot", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const fiberD = yield* Deferred.make<Fiber.Fiber<unknown, unknown>>()
      const blocker = yield* Deferred.make<void>()
      yield* tasks.go(
        "a",
        Effect.withFiber((f) => Effect.andThen(Deferred.succeed(fiberD, f), tasks.yieldSlot(Deferred.await(blocker))))
      )
      // b occupies the slot a released
      const bGate = yield* Deferred.make<void>()
      yield* tasks.go("b", Deferred.await(bGate))
      const fa = yield* Deferred.await(fiberD)
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      yield* Deferred.succeed(blocker, undefined) // a now waits for its slot back
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      const info = yield* tasks.snapshot
      assert.deepStrictEqual(info.map((i) => [i.name, i.state]), [["a", "parked"], ["b", "running"]])
      yield* Fiber.interrupt(fa)
      yield* Deferred.succeed(bGate, undefined)
      yield* tasks.blockTillDone
      // bound still exact: 1
      let running = 0, high = 0
      const g = yield* Deferred.make<void>()
      for (let i = 0; i < 3; i++) {
        yield* tasks.go(
          "c",
          Effect.gen(function*() {
            running++
            high = Math.max(high, running)
            yield* Deferred.await(g)
            running--
          })
        )
      }
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      assert.strictEqual(high, 1)
      yield* Deferred.succeed(g, undefined)
      yield* tasks.blockTillDone
      assert.strictEqual(high, 1)
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("interrupting a running coalescer run without pending removes the entry", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const c = yield* Coalescer.make<string>()
      const fiberD = yield* Deferred.make<Fiber.Fiber<unknown, unknown>>()
      const runs: Array<string> = []
      yield* c.submit(
        "r1",
        "k",
        Effect.withFiber((f) =>
          Effect.andThen(Effect.sync(() => runs.push("r1")), Effect.andThen(Deferred.succeed(fiberD, f), Effect.never))
        )
      )
      const f = yield* Deferred.await(fiberD)
      yield* Fiber.interrupt(f)
      assert.strictEqual(yield* c.size, 0)
      yield* c.submit("r2", "k", Effect.sync(() => runs.push("r2")))
      yield* tasks.blockTillDone
      assert.deepStrictEqual(runs, ["r1", "r2"])
      assert.strictEqual(yield* c.size, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("interrupting a running coalescer run with a pending submit still runs it", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const c = yield* Coalescer.make<string>()
      const fiberD = yield* Deferred.make<Fiber.Fiber<unknown, unknown>>()
      const runs: Array<string> = []
      yield* c.submit(
        "r1",
        "k",
        Effect.withFiber((f) =>
          Effect.andThen(Effect.sync(() => runs.push("r1")), Effect.andThen(Deferred.succeed(fiberD, f), Effect.never))
        )
      )
      const f = yield* Deferred.await(fiberD)
      yield* c.submit("r2", "k", Effect.sync(() => runs.push("r2")))
      yield* Fiber.interrupt(f)
      yield* tasks.blockTillDone
      assert.deepStrictEqual(runs, ["r1", "r2"])
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("layerBounded(1.5) dies naming workers and the value", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(TaskService.layerBounded(1.5)))
      assert.isTrue(exit._tag === "Failure")
      assert.include(
        String(exit._tag === "Failure" ? exit.cause.reasons.map((r: any) => r.defect?.message) : ""),
        "workers must be an integer (<= 0 or Infinity for unbounded), got 1.5"
      )
    }))
})
