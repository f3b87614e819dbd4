/**
 * p-limit's "run these with at most 2 at a time", two ways: `go` under a
 * bounded service (fire and forget, results written by the bodies), and
 * plain `Effect.forEach` when all you need are the results.
 */
import { Effect } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

const fetchPage = (url: string) => Effect.as(Effect.yieldNow, `<html>${url}</html>`)
const urls = ["/a", "/b", "/c", "/d"]

export const withTaskService = Effect.gen(function*() {
  const tasks = yield* TaskService
  const pages = new Map<string, string>()
  for (const url of urls) {
    yield* tasks.go(`fetch ${url}`, Effect.map(fetchPage(url), (page) => pages.set(url, page)))
  }
  yield* tasks.blockTillDone
  return urls.map((url) => pages.get(url))
}).pipe(Effect.provide(TaskService.layerBounded(2)))

export const withForEach = Effect.forEach(urls, fetchPage, { concurrency: 2 })

export const program = Effect.gen(function*() {
  const expected = ["<html>/a</html>", "<html>/b</html>", "<html>/c</html>", "<html>/d</html>"]
  assert.deepEqual(yield* withTaskService, expected)
  assert.deepEqual(yield* withForEach, expected)
})
