import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Fiber, Latch, Logger, References } from "effect"
import { TaskService } from "effect-task"
import { TestConsole } from "effect/testing"
import { interruptedChild } from "./helpers/exits.ts"
import { settle, until, untilEffect } from "./helpers/waits.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly reason: string }> {}

interface Entry {
  readonly level: string
  readonly message: ReadonlyArray<unknown>
  readonly cause: string
  readonly annotations: Record<string, unknown>
}

const captureLogs = () => {
  const entries: Array<Entry> = []
  const logger = Logger.make((options) => {
    entries.push({
      level: options.logLevel,
      message: Array.isArray(options.message) ? options.message : [options.message],
      cause: Cause.pretty(options.cause),
      annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
    })
  })
  return { entries, layer: Logger.layer([logger]) }
}

describe("TaskService failures", () => {
  const failing: ReadonlyArray<{ readonly kind: string; readonly body: Effect.Effect<void, Boom> }> = [
    { kind: "a typed failure", body: Effect.fail(new Boom({ reason: "typed" })) },
    { kind: "a defect", body: Effect.die(new Error("defect")) },
    {
      kind: "a thrown exception",
      body: Effect.sync(() => {
        throw new Error("thrown")
      })
    }
  ]
  it.effect.each(failing)("$kind in a body counts once", ({ body }) =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("fails", body)
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.failures, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("successes, failures and defects add up exactly", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      for (let i = 0; i < 30; i++) {
        const body = i % 3 === 0
          ? Effect.fail(new Boom({ reason: `${i}` }))
          : i % 3 === 1
          ? Effect.die(`defect ${i}`)
          : Effect.void
        yield* tasks.go(`t${i}`, Effect.andThen(Effect.yieldNow, body))
      }
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.failures, 20)
    }).pipe(Effect.provide(TaskService.layerBounded(3))))

  for (
    const [yieldName, kind] of [
      ["yieldSlot", "slot"],
      ["yieldQuiescent", "quiescent"]
    ] as const
  ) {
    it.effect(`a defect inside ${yieldName} counts once`, () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const yieldFn = kind === "slot" ? tasks.yieldSlot : tasks.yieldQuiescent
        yield* tasks.go("dies-inside", yieldFn(Effect.andThen(Effect.yieldNow, Effect.die("inside"))))
        yield* tasks.blockTillDone
        assert.strictEqual(yield* tasks.failures, 1)
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect(`a typed failure inside ${yieldName} counts once`, () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const yieldFn = kind === "slot" ? tasks.yieldSlot : tasks.yieldQuiescent
        yield* tasks.go(
          "fails-inside",
          yieldFn(Effect.andThen(Effect.yieldNow, Effect.fail(new Boom({ reason: "x" }))))
        )
        yield* tasks.blockTillDone
        assert.strictEqual(yield* tasks.failures, 1)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect(`a defect inside nested ${yieldName} calls counts once`, () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const yieldFn = kind === "slot" ? tasks.yieldSlot : tasks.yieldQuiescent
        yield* tasks.go("dies-nested", yieldFn(tasks.yieldSlot(tasks.yieldQuiescent(Effect.die("deep")))))
        yield* tasks.blockTillDone
        assert.strictEqual(yield* tasks.failures, 1)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))
  }

  it.effect("a failure caught inside the body does not count", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("recovers", Effect.catchCause(Effect.die("x"), () => Effect.void))
      yield* tasks.go("recovers-in-yield", Effect.catchCause(tasks.yieldSlot(Effect.fail("x")), () => Effect.void))
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  describe("interruption is not a failure", () => {
    it.effect("a body that interrupts itself does not count", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        yield* tasks.go("self-interrupt", Effect.interrupt)
        yield* tasks.go("self-interrupt-in-yield", tasks.yieldQuiescent(Effect.interrupt))
        yield* tasks.blockTillDone
        assert.strictEqual(yield* tasks.failures, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("a body whose fiber is interrupted from outside does not count", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        let taskFiber: Fiber.Fiber<unknown, unknown> | undefined
        yield* tasks.go(
          "interrupted",
          Effect.andThen(Effect.withFiber((fiber) => Effect.sync(() => (taskFiber = fiber))), Effect.never)
        )
        yield* until("the body runs", () => taskFiber !== undefined)
        yield* Fiber.interrupt(taskFiber!)
        yield* tasks.blockTillDone
        assert.strictEqual(yield* tasks.failures, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("a body that ends with an interruption joined from a child does not count", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        yield* tasks.go("joins-interrupted", interruptedChild)
        yield* tasks.blockTillDone
        assert.strictEqual(yield* tasks.failures, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))
  })

  describe("the failure is logged at Error level with the task's name", () => {
    const logged = [
      {
        kind: "a typed failure",
        name: "render-invoice-42",
        body: Effect.fail(new Boom({ reason: "typed-reason" })),
        cause: "Boom"
      },
      { kind: "a defect", name: "sync-repo-7", body: Effect.die(new Error("kaput-defect")), cause: "kaput-defect" }
    ] as const
    it.effect.each(logged)(
      "$kind logs one Error line naming the task, with the cause",
      ({ body, cause, name }) =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const logs = captureLogs()
          yield* tasks.go(name, body).pipe(Effect.provide(logs.layer))
          yield* tasks.go("quiet-success", Effect.void).pipe(Effect.provide(logs.layer))
          yield* tasks.blockTillDone
          yield* until("the failure is logged", () => logs.entries.length >= 1) // on the failed task's own fiber
          yield* settle // and only once
          assert.strictEqual(logs.entries.length, 1)
          const [entry] = logs.entries
          assert.strictEqual(entry!.level, "Error")
          assert.isTrue(entry!.message.some((part) => typeof part === "string" && part.includes(name)))
          assert.strictEqual(entry!.annotations["task"], name)
          assert.include(entry!.cause, cause)
        }).pipe(Effect.provide(TaskService.layerBounded(2)))
    )

    it.effect("an interrupted task logs nothing", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const logs = captureLogs()
        yield* tasks.go("interrupted", Effect.interrupt).pipe(Effect.provide(logs.layer))
        yield* tasks.go("interrupted-child", interruptedChild).pipe(Effect.provide(logs.layer))
        yield* tasks.blockTillDone
        yield* settle // nothing is logged late either
        assert.deepStrictEqual(logs.entries, [])
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("with the default logger the line reaches the console with the task name", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        yield* tasks.go("console-task", Effect.die(new Error("console-defect")))
        yield* tasks.blockTillDone
        const consoleLines = Effect.map(
          Effect.all([TestConsole.logLines, TestConsole.errorLines]),
          ([log, error]) => [...log, ...error]
        )
        yield* untilEffect("a console line is written", Effect.map(consoleLines, (lines) => lines.length > 0))
        const lines = yield* consoleLines
        const text = lines.map((line) => Array.isArray(line) ? line.map(String).join(" ") : String(line)).join("\n")
        assert.include(text, "ERROR")
        assert.include(text, "console-task")
        assert.include(text, "console-defect")
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("several failing tasks each log their own name exactly once", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const logs = captureLogs()
        const gate = yield* Latch.make(false)
        for (const name of ["a", "b", "c"]) {
          yield* tasks.go(`job-${name}`, Effect.andThen(gate.await, Effect.fail(name))).pipe(Effect.provide(logs.layer))
        }
        yield* gate.open
        yield* tasks.blockTillDone
        yield* until("three failures are logged", () => logs.entries.length >= 3)
        yield* settle // and no more
        assert.deepStrictEqual(
          logs.entries.map((entry) => entry.annotations["task"]).toSorted(),
          ["job-a", "job-b", "job-c"]
        )
        assert.strictEqual(yield* tasks.failures, 3)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))
  })
})
