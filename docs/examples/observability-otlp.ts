/**
 * Exporting the task spans and metrics over OTLP/HTTP with the exporters that
 * ship in `effect/observability` (no OpenTelemetry SDK needed).
 * observability-otlp.test.ts runs `main` against a receiver on 127.0.0.1 and
 * checks what arrives.
 */
import { Effect, Layer } from "effect"
import { TaskService } from "effect-task"
import { FetchHttpClient } from "effect/http"
import { OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"

const resource = { serviceName: "orchestrator", serviceVersion: "1.0.0" }

/** Traces and metrics to the collector at `collector`, e.g. "http://127.0.0.1:4318" */
export const Observability = (collector: string) =>
  Layer.mergeAll(
    OtlpTracer.layer({ url: `${collector}/v1/traces`, resource }),
    OtlpMetrics.layer({ url: `${collector}/v1/metrics`, resource })
  ).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  for (const file of ["a.yaml", "b.yaml", "c.yaml"]) {
    yield* tasks.go(`render ${file}`, Effect.sleep("5 millis"))
  }
  yield* tasks.blockTillDone
})

// The service is provided inside the exporters, so it shuts down first; the
// exporters' last flush still carries the final values of its series.
export const main = (collector: string) =>
  program.pipe(
    Effect.withSpan("orchestrator run"), // task spans need a parent span
    Effect.provide(TaskService.layerWith({ name: "renders" })),
    Effect.provide(Observability(collector))
  )
