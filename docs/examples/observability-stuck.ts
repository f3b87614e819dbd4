/**
 * A stuck run: three tasks each wait inside `yieldQuiescent` for the next
 * one's result, in a cycle. Nothing is counted, so `awaitQuiescence(0)`
 * completes, while `blockTillDone` would wait forever. `snapshot` shows why.
 */
import { Deferred, Effect } from "effect"
import { type TaskInfo, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const [a, b, c] = yield* Effect.all([Deferred.make<void>(), Deferred.make<void>(), Deferred.make<void>()])
  const waitFor = (name: string, mine: Deferred.Deferred<void>, theirs: Deferred.Deferred<void>) =>
    tasks.go(
      name,
      Effect.gen(function*() {
        yield* Effect.sleep("1 second") // some work first
        yield* tasks.yieldQuiescent(Deferred.await(theirs))
        yield* Deferred.succeed(mine, undefined)
      })
    )
  yield* waitFor("render app", a, b)
  yield* waitFor("render db", b, c)
  yield* waitFor("render cache", c, a)
  yield* TestClock.adjust("1 second")
  yield* tasks.awaitQuiescence(0)
  yield* TestClock.adjust("4 seconds")

  const snapshot = yield* tasks.snapshot
  const expected: ReadonlyArray<TaskInfo> = [
    { id: 1, name: "render app", state: "yielded-quiescent", registeredAt: 0, stateSince: 1000 },
    { id: 2, name: "render db", state: "yielded-quiescent", registeredAt: 0, stateSince: 1000 },
    { id: 3, name: "render cache", state: "yielded-quiescent", registeredAt: 0, stateSince: 1000 }
  ]
  assert.deepEqual(snapshot, expected)
  assert.equal(yield* tasks.activeCount, 0)
  return snapshot
}).pipe(Effect.provide(TaskService.layerBounded(3)))
