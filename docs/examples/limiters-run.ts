/**
 * p-limit's `await limit(fn)` — the result of one limited call — is
 * `tasks.run(name, body)`: a task like `go`'s (counted, bounded, first come,
 * first served, shut down with the service) whose caller waits for its exit.
 */
import { Effect } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

const fetchPage = (url: string) =>
  url === "/missing" ? Effect.fail(`404 ${url}`) : Effect.as(Effect.yieldNow, `<html>${url}</html>`)

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  // at most 2 bodies run at once, whoever asks; each caller gets its own result
  const pages = yield* Effect.forEach(["/a", "/b", "/c"], (url) => tasks.run(`fetch ${url}`, fetchPage(url)), {
    concurrency: "unbounded"
  })
  assert.deepEqual(pages, ["<html>/a</html>", "<html>/b</html>", "<html>/c</html>"])

  // a failure fails the caller with the body's error (p-limit: the promise rejects);
  // it counts in `failures` but is not logged: the caller has it
  const missing = yield* Effect.flip(tasks.run("fetch /missing", fetchPage("/missing")))
  assert.equal(missing, "404 /missing")
  assert.equal(yield* tasks.failures, 1)
}).pipe(Effect.provide(TaskService.layerBounded(2)))
