/**
 * Reading the failure log line in a test: under `it.effect` the default
 * logger writes to the `TestConsole`; a custom `Logger` gives structured
 * entries.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { TaskService } from "effect-task"
import { TestConsole } from "effect/testing"

describe("failure logs", () => {
  it.effect("the default logger writes to the TestConsole", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("render a.yaml", Effect.fail("no such file"))
      yield* tasks.blockTillDone
      // one console call: a header such as "[00:00:00.000] ERROR (#5):", the message, the cause, the annotations
      const [, message, cause, annotations] = yield* TestConsole.logLines
      assert.strictEqual(message, "task \"render a.yaml\" failed")
      assert.strictEqual(cause, "Error: no such file")
      assert.deepStrictEqual(annotations, { task: "render a.yaml" })
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a custom logger sees the level, message and annotations", () => {
    const entries: Array<{ readonly level: string; readonly message: unknown }> = []
    const keep = Logger.make(({ logLevel, message }) => entries.push({ level: logLevel, message }))
    return Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("render a.yaml", Effect.die(new Error("bug")))
      yield* tasks.blockTillDone
      assert.deepStrictEqual(entries.map((entry) => entry.level), ["Error"])
      assert.strictEqual((entries[0]!.message as ReadonlyArray<unknown>)[0], "task \"render a.yaml\" failed")
    }).pipe(Effect.provide(TaskService.layerBounded(2)), Effect.provide(Logger.layer([keep])))
  })
})
