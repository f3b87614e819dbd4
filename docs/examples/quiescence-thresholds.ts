/**
 * Thresholds from outside and from inside a task: a body that asks "is
 * anyone else still working?" counts itself, so it waits for 1, not 0.
 */
import { Effect, Fiber, Latch, Stream } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const log: Array<string> = []
  const release = yield* Latch.make(false)

  yield* tasks.go("a", release.await)
  yield* tasks.go("b", release.await)
  yield* tasks.go(
    "watcher",
    Effect.gen(function*() {
      yield* tasks.awaitQuiescence(1) // only this task is left
      log.push("watcher: the others are done")
    })
  )

  // outside any task: 0 means nothing registered is still counted
  const outside = yield* Effect.forkChild(
    Effect.andThen(tasks.awaitQuiescence(0), Effect.sync(() => log.push("outside: all done")))
  )
  // the current count first, then every change
  const changes = yield* Effect.forkChild(
    Stream.runCollect(Stream.takeUntil(tasks.activeChanges, (n) => n === 0))
  )
  yield* Effect.yieldNow // let both fibers start waiting

  yield* release.open
  yield* Fiber.join(outside)
  assert.deepEqual(log, ["watcher: the others are done", "outside: all done"])
  assert.deepEqual(yield* Fiber.join(changes), [3, 2, 1, 0])

  // already true: completes at once; a negative threshold never completes
  yield* tasks.awaitQuiescence(0)
}).pipe(Effect.provide(TaskService.layerBounded(4)))
