/**
 * A runner process: the coalesced entity's runs on this process's
 * `TaskService`, its shards and messages in PostgreSQL. Start one per
 * machine or container (`node runner.js`); stop it with SIGTERM.
 */
import { Effect, Layer, Schema } from "effect"
import { TaskService } from "effect-task"
import { ClusterCoalescer, ClusterRunner } from "effect-task-cluster"
import { fileURLToPath } from "node:url"

// shared with the senders (a module both import)
export const Reconcile = ClusterCoalescer.make("Reconcile", {
  payload: Schema.Struct({ revision: Schema.Int }),
  success: Schema.Int
})

const reconcile = (key: string, revision: number) =>
  Effect.log(`apply ${key} at revision ${revision}`).pipe(Effect.as(revision))

export const RunnerLive = ClusterCoalescer.layer(
  Reconcile,
  (run) => reconcile(run.key, run.payload.revision) // the latest payload; run.submits: every submit it covers
).pipe(
  Layer.provide(TaskService.layerBounded(8)), // at most 8 runs at once on this runner
  Layer.provide(ClusterRunner.layer({
    host: process.env["POD_IP"] ?? "127.0.0.1", // where the other processes reach this one
    port: 34431,
    postgres: { host: "db.internal", database: "app", username: "app" }
  }))
)

if (process.argv[1] === fileURLToPath(import.meta.url)) ClusterRunner.runMain(RunnerLive)
