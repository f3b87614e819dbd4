import { Effect, Layer, Schema } from "effect"
import { TaskService } from "effect-task"
import { ClusterCoalescer, ClusterRunner } from "effect-task-cluster"

const Reconcile = ClusterCoalescer.make("Reconcile", { payload: Schema.Struct({ revision: Schema.Int }) })

// in each runner process
ClusterRunner.runMain(
  ClusterCoalescer.layer(Reconcile, (run) => Effect.log(`${run.key} at ${run.payload.revision}`)).pipe(
    Layer.provide(TaskService.layerBounded(8)),
    Layer.provide(ClusterRunner.layer({ host: "10.0.0.5", port: 34431, postgres: { host: "db", database: "app" } }))
  )
)

// in a sender
export const send = Effect.flatMap(ClusterCoalescer.client(Reconcile), (r) => r.submit("default/app", { revision: 7 }))
