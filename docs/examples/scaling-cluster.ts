/**
 * A cluster-wide coalescer with effect-task-cluster: one coalesced entity,
 * its runs on the runner's `TaskService`, a client that submits a burst.
 *
 * Run in one process here, on effect's in-memory cluster
 * (`TestRunner.layer`); in production the same entity layer runs in each
 * runner process over `ClusterRunner.layer` (see docs/scaling.md).
 */
import { Deferred, Effect, Latch, Layer, Schema } from "effect"
import { TaskService } from "effect-task"
import { ClusterCoalescer } from "effect-task-cluster"
import { TestRunner } from "effect/cluster"
import assert from "node:assert/strict"

export const Reconcile = ClusterCoalescer.make("Reconcile", {
  payload: Schema.Struct({ revision: Schema.Int }),
  success: Schema.Int
})

// observation for the example: what each run covered
export const runs: Array<{ readonly key: string; readonly revision: number; readonly covered: number }> = []
const firstRunStarted = Deferred.makeUnsafe<void>()
const releaseFirstRun = Latch.makeUnsafe(false)

export const ReconcileLive = ClusterCoalescer.layer(Reconcile, (run) =>
  Effect.gen(function*() {
    runs.push({ key: run.key, revision: run.payload.revision, covered: run.submits.length })
    if (run.payload.revision === 1) {
      yield* Deferred.succeed(firstRunStarted, undefined)
      yield* releaseFirstRun.await // the first run is slow: the burst arrives meanwhile
    }
    return run.payload.revision // re-read the object at this revision, apply it, …
  })).pipe(Layer.provide(TaskService.layerBounded(4))) // the per-runner bound

export const program = Effect.gen(function*() {
  const reconcile = yield* ClusterCoalescer.client(Reconcile)
  yield* reconcile.submit("default/app", { revision: 1 }) // returns once stored
  yield* Deferred.await(firstRunStarted)
  for (let revision = 2; revision <= 5; revision++) {
    yield* reconcile.submit("default/app", { revision })
  }
  yield* releaseFirstRun.open
  // waits for the run that covers this submit
  const applied = yield* reconcile.submitAndAwait("default/app", { revision: 6 })
  assert.equal(applied, 6)
  assert.ok(runs.length <= 3) // 6 submits, at most 3 runs: the burst collapsed
  assert.equal(runs.at(-1)!.revision, 6) // the last run covered the latest submit
}).pipe(Effect.provide(ReconcileLive.pipe(Layer.provideMerge(TestRunner.layer))))
