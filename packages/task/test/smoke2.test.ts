import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { Coalescer, TaskService } from "effect-task"

describe("coalescer smoke", () => {
  it.effect("K submits during a run cause exactly one re-run with the latest body", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const c = yield* Coalescer.make<string>()
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      yield* c.submit("first", "k", Effect.andThen(Effect.sync(() => log.push("first")), Deferred.await(gate)))
      assert.strictEqual(yield* c.size, 1)
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      assert.deepStrictEqual(log, ["first"])
      for (let i = 0; i < 5; i++) yield* c.submit(`s${i}`, "k", Effect.sync(() => log.push(`s${i}`)))
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
      assert.deepStrictEqual(log, ["first", "s4"])
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("failing run counted once, re-run still happens", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const c = yield* Coalescer.make<string>()
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      yield* c.submit("first", "k", Effect.andThen(Deferred.await(gate), Effect.die("boom")))
      yield* Effect.yieldNow
      yield* c.submit("second", "k", Effect.sync(() => log.push("second")))
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
      assert.deepStrictEqual(log, ["second"])
      assert.strictEqual(yield* tasks.failures, 1)
      assert.strictEqual(yield* c.size, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})
