/**
 * Cluster-wide "one run per key" with `effect/cluster`: one entity per key.
 * The cluster keeps one instance of an entity alive across all runners and
 * hands it one message at a time, so the runs of a key never overlap. Each
 * runner keeps its own `TaskService` as the per-process bound.
 *
 * Run in one process here with `Entity.makeTestClient`; in production the
 * same entity layer is provided with a runner layer (see docs/scaling.md).
 */
import { Effect, Layer, Schema } from "effect"
import { TaskService } from "effect-task"
import { Entity, ShardingConfig } from "effect/cluster"
import { Rpc } from "effect/rpc"
import assert from "node:assert/strict"

export const Reconcile = Rpc.make("Reconcile", {
  payload: { revision: Schema.Int },
  success: Schema.Int
})
export const Reconciler = Entity.make("Reconciler", [Reconcile])

// observation for the example: runs in flight per key
const inFlight = new Map<string, number>()
export const highWater = new Map<string, number>()
const reconcile = (key: string, revision: number) =>
  Effect.gen(function*() {
    const now = (inFlight.get(key) ?? 0) + 1
    inFlight.set(key, now)
    highWater.set(key, Math.max(highWater.get(key) ?? 0, now))
    yield* Effect.yieldNow // the actual work
    inFlight.set(key, now - 1)
    return revision
  })

export const ReconcilerLayer = Reconciler.toLayer(
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const { entityId } = yield* Entity.CurrentAddress
    return Reconciler.of({
      // `run`: a task of the runner's service (counted, bounded) whose result the caller gets
      Reconcile: ({ payload }) => tasks.run(`reconcile ${entityId}`, reconcile(entityId, payload.revision))
    })
  })
).pipe(Layer.provide(TaskService.layerBounded(4)))

export const program = Effect.gen(function*() {
  const clientFor = yield* Entity.makeTestClient(Reconciler, ReconcilerLayer)
  const app = yield* clientFor("default/app")
  const db = yield* clientFor("default/db")

  const revisions = yield* Effect.all(
    [
      app.Reconcile({ revision: 1 }),
      app.Reconcile({ revision: 2 }),
      db.Reconcile({ revision: 7 }),
      app.Reconcile({ revision: 3 })
    ],
    { concurrency: "unbounded" }
  )
  assert.deepEqual(revisions, [1, 2, 7, 3])
  assert.equal(highWater.get("default/app"), 1) // the runs of one key never overlapped
  assert.equal(highWater.get("default/db"), 1)
}).pipe(Effect.scoped, Effect.provide(ShardingConfig.layer()))
