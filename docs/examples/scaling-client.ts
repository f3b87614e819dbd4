/**
 * A sender that owns no shards (an API server, a webhook receiver, a cron
 * job): it stores submits and, when asked, waits for their runs.
 */
import { Effect } from "effect"
import { ClusterCoalescer, ClusterRunner } from "effect-task-cluster"
import { Reconcile } from "./scaling-runner.ts"

export const onWebhook = (key: string, revision: number) =>
  Effect.gen(function*() {
    const reconciler = yield* ClusterCoalescer.client(Reconcile)
    yield* reconciler.submit(key, { revision }) // returns once stored; a run follows
  })

export const reconcileNow = (key: string, revision: number) =>
  Effect.gen(function*() {
    const reconciler = yield* ClusterCoalescer.client(Reconcile)
    return yield* reconciler.submitAndAwait(key, { revision }) // the result of the run that covered it
  })

export const SenderLive = ClusterRunner.layerClient({
  postgres: { host: "db.internal", database: "app", username: "app" }
})

export const program = onWebhook("default/app", 42).pipe(Effect.provide(SenderLive))
