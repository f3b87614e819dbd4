/**
 * Exporting the task spans and metrics over OTLP with the exporters that ship
 * in `effect/observability` (no OpenTelemetry SDK needed). The layer is built
 * here but not launched: it needs a collector at the URL.
 */
import { Effect, Layer } from "effect"
import { TaskService } from "effect-task"
import { FetchHttpClient } from "effect/http"
import { OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"

const resource = { serviceName: "orchestrator", serviceVersion: "1.0.0" }

export const Observability = Layer.mergeAll(
  OtlpTracer.layer({ url: "http://localhost:4318/v1/traces", resource }),
  OtlpMetrics.layer({ url: "http://localhost:4318/v1/metrics", resource })
).pipe(
  Layer.provide(OtlpSerialization.layerJson),
  Layer.provide(FetchHttpClient.layer)
)

export const main = Effect.gen(function*() {
  const tasks = yield* TaskService
  yield* tasks.go("render a.yaml", Effect.log("rendering"))
  yield* tasks.blockTillDone
}).pipe(
  Effect.withSpan("orchestrator run"), // task spans need a parent span
  Effect.provide(TaskService.layer),
  Effect.provide(Observability)
)
