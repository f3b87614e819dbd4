/**
 * Every bad argument to a coalescer, one table row each (docs/errors.md): the
 * call dies with a `Cause.IllegalArgumentError` whose message names the entry
 * point, the argument and the value, exactly; after it nothing was
 * registered or scheduled, the counters are unchanged and the coalescer still
 * works.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, type Schedule } from "effect"
import { Coalescer, type CoalescerOptions, TaskService } from "effect-task"
import { badNames, notEffects } from "./helpers/arguments.ts"
import { illegalArgument } from "./helpers/exits.ts"
import { ownedService } from "./helpers/service.ts"
import { settle } from "./helpers/waits.ts"

const badDelays: ReadonlyArray<readonly [unknown, string]> = [
  [-1, "-1"],
  [Number.NaN, "NaN"],
  ["soon", `"soon"`],
  ["-5 seconds", `"-5 seconds"`],
  [Duration.millis(-3), String(Duration.millis(-3))],
  [undefined, "undefined"],
  [null, "null"],
  [{}, "[object Object]"],
  [[1], "1"]
]

interface Row {
  readonly call: string
  readonly run: (c: Coalescer<string>, body: Effect.Effect<void>) => Effect.Effect<unknown>
  readonly message: string
}

const rows: ReadonlyArray<Row> = [
  ...badNames.flatMap(([value, shown]): Array<Row> => [
    {
      call: `submit(${shown}, key, body)`,
      run: (c, body) => c.submit(value as string, "k", body),
      message: `Coalescer.submit: name must be a non-empty string, got ${shown}`
    },
    {
      call: `submitAfter(${shown}, key, body, 10)`,
      run: (c, body) => c.submitAfter(value as string, "k", body, 10),
      message: `Coalescer.submitAfter: name must be a non-empty string, got ${shown}`
    }
  ]),
  ...notEffects.flatMap(([value, shown]): Array<Row> => [
    {
      call: `submit(name, key, ${shown})`,
      run: (c) => c.submit("t", "k", value as Effect.Effect<void>),
      message: `Coalescer.submit: body must be an Effect, got ${shown}`
    },
    {
      call: `submitAfter(name, key, ${shown}, 10)`,
      run: (c) => c.submitAfter("t", "k", value as Effect.Effect<void>, 10),
      message: `Coalescer.submitAfter: body must be an Effect, got ${shown}`
    }
  ]),
  ...badDelays.map(([value, shown]): Row => ({
    call: `submitAfter(name, key, body, ${shown})`,
    run: (c, body) => c.submitAfter("t", "k", body, value as Duration.Input),
    message: `Coalescer.submitAfter: delay must be a non-negative Duration.Input, got ${shown}`
  }))
]

describe("Coalescer arguments", () => {
  describe("a bad argument dies naming the method, the argument and the value; nothing is registered or scheduled", () => {
    it.effect.each(rows)("$call", (row) =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
        const c = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
        let ran = false
        const message = illegalArgument(yield* Effect.exit(row.run(c, Effect.sync(() => (ran = true)))))
        assert.strictEqual(message, row.message)
        yield* settle
        assert.isFalse(ran, "the body never runs")
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* c.scheduled, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
        assert.strictEqual(yield* tasks.failures, 0)
        assert.deepStrictEqual(yield* tasks.snapshot, [])
        // the coalescer still works
        yield* c.submit("after-bad-call", "k", Effect.sync(() => (ran = true)))
        yield* tasks.blockTillDone
        assert.isTrue(ran, "the coalescer still runs submits")
        assert.strictEqual(yield* c.size, 0)
        yield* close
      }))
  })

  describe("make", () => {
    const makeRows: ReadonlyArray<{ readonly call: string; readonly options: unknown; readonly message: string }> = [
      {
        call: "make({ retry: 42 })",
        options: { retry: 42 },
        message: "Coalescer.make: retry must be a Schedule, got 42"
      },
      { call: "make(\"x\")", options: "x", message: `Coalescer.make: options must be an object, got "x"` }
    ]
    it.effect.each(makeRows)(
      "$call dies naming make, the argument and the value",
      ({ message, options }) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            Coalescer.make<string>(options as CoalescerOptions & { retry?: Schedule.Schedule<unknown> })
          )
          assert.strictEqual(illegalArgument(exit), message)
          const tasks = yield* TaskService
          assert.strictEqual(yield* tasks.activeCount, 0)
        }).pipe(Effect.provide(TaskService.layerBounded(2)))
    )

    it.effect("make under a TaskService not built by TaskService.make dies at once, naming it", () =>
      Effect.gen(function*() {
        const real = yield* TaskService
        // a hand-written stand-in with every method of the real service, but no pool behind it
        const stub: TaskService["Service"] = { ...real }
        const exit = yield* Effect.exit(Coalescer.make<string>().pipe(Effect.provideService(TaskService, stub)))
        assert.strictEqual(
          illegalArgument(exit),
          "Coalescer.make: the TaskService in context must be built by TaskService.make or its layers, got [object Object]"
        )
        assert.strictEqual(yield* real.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))
  })
})
