/**
 * Typed failures and defects both count as failures and are logged at Error
 * level with the task's name; interruption alone is not a failure.
 */
import { Data, Effect, Logger, References } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

class RenderError extends Data.TaggedError("RenderError")<{ readonly file: string }> {}

// a logger that keeps what it is given, in place of the console
const lines: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
const keep = Logger.make((options) => {
  lines.push({
    level: options.logLevel,
    message: options.message,
    annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
  })
})

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  yield* tasks.go("render a.yaml", Effect.fail(new RenderError({ file: "a.yaml" })))
  yield* tasks.go("render b.yaml", Effect.die(new Error("unexpected document")))
  yield* tasks.go("render c.yaml", Effect.interrupt) // not a failure
  yield* tasks.go("render d.yaml", Effect.void)
  yield* tasks.blockTillDone

  // up to date when blockTillDone returns
  assert.equal(yield* tasks.failures, 2)
  const errors = lines.filter((line) => line.level === "Error")
  assert.deepEqual(
    errors.map((line) => line.annotations["task"]),
    ["render a.yaml", "render b.yaml"]
  )
  assert.deepEqual((errors[0]!.message as ReadonlyArray<unknown>)[0], "task \"render a.yaml\" failed")
}).pipe(
  Effect.provide(TaskService.layerBounded(4)),
  // the task bodies and their failure logs use the logger of the caller of `go`
  Effect.provide(Logger.layer([keep]))
)
