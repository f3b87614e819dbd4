/**
 * Errors. A promise limiter hands a rejection back to whoever awaits the
 * task. `go` returns nothing to await: a failing body is counted and logged
 * by the service. To act on a failure, handle it inside the body.
 */
import { Effect } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

const upload = (file: string): Effect.Effect<void, string> =>
  file === "b.txt" ? Effect.fail(`upload of ${file} refused`) : Effect.void

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const retryLater: Array<string> = []

  // counted in `failures` and logged at Error level with the task's name
  yield* tasks.go("upload b.txt", upload("b.txt"))

  // handled inside the body: not a failure of the task
  for (const file of ["a.txt", "b.txt"]) {
    yield* tasks.go(
      `upload ${file}`,
      upload(file).pipe(Effect.catch(() => Effect.sync(() => retryLater.push(file))))
    )
  }
  yield* tasks.blockTillDone
  assert.equal(yield* tasks.failures, 1)
  assert.deepEqual(retryLater, ["b.txt"])
}).pipe(Effect.provide(TaskService.layerBounded(2)))
