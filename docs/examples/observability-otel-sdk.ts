/**
 * The same job through the OpenTelemetry SDK, with `@effect/opentelemetry`'s
 * `NodeSdk` layer: for the SDK's span processors, samplers or
 * instrumentations. observability-otlp.test.ts runs it against a receiver on
 * 127.0.0.1 too.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect } from "effect"
import { TaskService } from "effect-task"
import { program } from "./observability-otlp.ts"

/** Traces and metrics to the collector at `collector`, e.g. "http://127.0.0.1:4318" */
export const Observability = (collector: string) =>
  NodeSdk.layer(() => ({
    resource: { serviceName: "orchestrator", serviceVersion: "1.0.0" },
    spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: `${collector}/v1/traces` })),
    metricReader: new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: `${collector}/v1/metrics` })
    })
  }))

export const main = (collector: string) =>
  program.pipe(
    Effect.withSpan("orchestrator run"), // task spans need a parent span
    Effect.provide(TaskService.layerWith({ name: "renders" })),
    Effect.provide(Observability(collector))
  )
