/**
 * Submits to a parked run collapse into it (the run executes the latest
 * body); submits to a running run mark it pending, and one re-run follows
 * with the latest body.
 */
import { Effect, Latch } from "effect"
import { Coalescer, TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<string>()
  const runs: Array<string> = []
  const record = (body: string) => Effect.sync(() => runs.push(body))

  // bound 1 and a busy slot: the key's run parks
  const busy = yield* Latch.make(false)
  yield* tasks.go("busy", busy.await)
  yield* coalescer.submit("reconcile app", "default/app", record("first"))
  yield* coalescer.submit("reconcile app", "default/app", record("second"))
  yield* coalescer.submit("reconcile app", "default/app", record("third"))
  assert.equal(yield* coalescer.size, 1)
  assert.equal(yield* tasks.activeCount, 2) // "busy" and one run
  yield* busy.open
  yield* tasks.blockTillDone
  assert.deepEqual(runs, ["third"])

  // while the run executes, submits mark it pending: one re-run follows
  const started = yield* Latch.make(false)
  const finish = yield* Latch.make(false)
  yield* coalescer.submit(
    "reconcile app",
    "default/app",
    Effect.andThen(record("fourth"), Effect.andThen(started.open, finish.await))
  )
  yield* started.await
  yield* coalescer.submit("reconcile app", "default/app", record("fifth"))
  yield* coalescer.submit("reconcile app", "default/app", record("sixth"))
  yield* finish.open
  yield* tasks.blockTillDone
  assert.deepEqual(runs, ["third", "fourth", "sixth"])
  assert.equal(yield* coalescer.size, 0) // the entry is gone once the key is idle
}).pipe(Effect.provide(TaskService.layerBounded(1)))
