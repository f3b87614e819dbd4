/**
 * The three layers and their bounds, and what an invalid bound does.
 */
import { Cause, Effect, Exit } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"
import * as os from "node:os"

const boundOf = (layer: typeof TaskService.layer) =>
  TaskService.use((tasks) => tasks.workers).pipe(Effect.provide(layer))

export const program = Effect.gen(function*() {
  assert.equal(yield* boundOf(TaskService.layer), os.availableParallelism() * 4)
  assert.equal(yield* boundOf(TaskService.layerBounded(16)), 16)
  // `undefined` means unbounded
  assert.equal(yield* boundOf(TaskService.layerUnbounded), undefined)
  assert.equal(yield* boundOf(TaskService.layerBounded(0)), undefined)
  assert.equal(yield* boundOf(TaskService.layerBounded(Infinity)), undefined)

  // NaN or a positive non-integer: the layer fails to build with a defect
  const exit = yield* Effect.exit(boundOf(TaskService.layerBounded(2.5)))
  assert.ok(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
  const defect = Cause.squash(exit.cause)
  assert.ok(defect instanceof Cause.IllegalArgumentError)
  assert.equal(
    defect.message,
    "TaskService.layerBounded: workers must be an integer (<= 0 or Infinity for unbounded), got 2.5"
  )
})
