import { Effect } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const rendered: Array<string> = []
  for (const file of ["a.yaml", "b.yaml", "c.yaml"]) {
    // registers the task and returns at once; the body waits for a worker slot
    yield* tasks.go(`render ${file}`, Effect.sync(() => rendered.push(file)))
  }
  yield* tasks.blockTillDone // every registered task has finished
  assert.deepEqual(rendered.toSorted(), ["a.yaml", "b.yaml", "c.yaml"])
  assert.equal(yield* tasks.failures, 0)
}).pipe(Effect.provide(TaskService.layerBounded(8)))
