/**
 * docs/observability.md, "Exporting to OpenTelemetry": both documented
 * setups run against an OTLP/HTTP receiver on 127.0.0.1 (a `node:http`
 * server on a free port; nothing leaves the machine). The receiver keeps
 * every JSON body posted to /v1/traces and /v1/metrics; the test checks that
 * the task spans arrive under their parent and that the last metrics post
 * carries every effect_task series with its final value, although the
 * service shut down before the exporter's final flush.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as OtelSdk from "./observability-otel-sdk.ts"
import * as Otlp from "./observability-otlp.ts"

interface Post {
  readonly path: string
  readonly body: any
}

/** An OTLP/HTTP receiver on 127.0.0.1, closed with the scope. */
const receiver = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly posts: Array<Post>; readonly server: http.Server }>((resume) => {
    const posts: Array<Post> = []
    const server = http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        const type = request.headers["content-type"] ?? ""
        if (!type.includes("json")) {
          response.writeHead(415).end()
          posts.push({ path: request.url ?? "", body: { unsupported: type } })
          return
        }
        posts.push({ path: request.url ?? "", body: JSON.parse(text) })
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, posts, server }))
    })
  }),
  ({ server }) =>
    Effect.callback<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

interface Span {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
}

const spansOf = (posts: ReadonlyArray<Post>): Array<Span> =>
  posts
    .filter((post) => post.path === "/v1/traces")
    .flatMap((post) => post.body.resourceSpans)
    .flatMap((resource: any) => resource.scopeSpans)
    .flatMap((scope: any) => scope.spans)

/** An OTLP attribute value as a plain value (ints may arrive as strings). */
const plain = (value: Record<string, unknown>): unknown =>
  "stringValue" in value ? value["stringValue"] : "intValue" in value ? Number(value["intValue"]) : value

/** The effect_task series of one metrics post: "<name>" to [service attribute, value]. */
const seriesOf = (post: Post): Record<string, { service: unknown; value: number; count?: number }> => {
  const out: Record<string, { service: unknown; value: number; count?: number }> = {}
  const metrics = post.body.resourceMetrics.flatMap((r: any) => r.scopeMetrics).flatMap((s: any) => s.metrics)
  for (const metric of metrics) {
    if (!metric.name.startsWith("effect_task.")) continue
    const data = metric.sum ?? metric.gauge ?? metric.histogram
    assert.strictEqual(data.dataPoints.length, 1, `${metric.name}: one data point`)
    const point = data.dataPoints[0]
    const service = plain(
      point.attributes.find((a: any) => a.key === "effect_task.service")?.value ?? { missing: true }
    )
    out[metric.name] = metric.histogram
      ? { service, value: Number(point.sum), count: Number(point.count) }
      : { service, value: Number(point.asInt ?? point.asDouble ?? 0) }
  }
  return out
}

/** Runs `main` against a fresh receiver, in a metric registry of its own; returns what was posted. */
const runAgainstReceiver = (main: (collector: string) => Effect.Effect<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const { posts, url } = yield* receiver
    yield* main(url).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    return posts
  }))

/** A counter or gauge of the service named "renders" */
const series = (value: number) => ({ service: "renders", value })

const checkExport = (posts: ReadonlyArray<Post>) => {
  assert.deepStrictEqual(posts.filter((post) => post.body.unsupported !== undefined), [], "every post is JSON")

  const spans = spansOf(posts)
  const parent = spans.filter((span) => span.name === "orchestrator run")
  assert.strictEqual(parent.length, 1, "one parent span")
  const renders = spans.filter((span) => span.name.startsWith("render "))
  assert.deepStrictEqual(renders.map((span) => span.name).toSorted(), [
    "render a.yaml",
    "render b.yaml",
    "render c.yaml"
  ])
  for (const span of renders) {
    assert.strictEqual(span.traceId, parent[0]!.traceId, `${span.name}: the parent's trace`)
    assert.strictEqual(span.parentSpanId, parent[0]!.spanId, `${span.name}: child of the run span`)
  }
  const ids = renders.map((span) => plain(span.attributes.find((a) => a.key === "effect_task.task.id")!.value))
  assert.deepStrictEqual(ids.toSorted(), [1, 2, 3])

  const metricPosts = posts.filter((post) => post.path === "/v1/metrics")
  assert.isAbove(metricPosts.length, 0, "a metrics post arrived")
  const last = seriesOf(metricPosts.at(-1)!)
  assert.deepStrictEqual(Object.keys(last).toSorted(), [
    "effect_task.task.parked.duration",
    "effect_task.task.running.duration",
    "effect_task.tasks.failed",
    "effect_task.tasks.interrupted",
    "effect_task.tasks.parked",
    "effect_task.tasks.registered",
    "effect_task.tasks.running",
    "effect_task.tasks.started",
    "effect_task.tasks.succeeded",
    "effect_task.tasks.yielded"
  ])
  assert.deepStrictEqual(last["effect_task.tasks.started"], series(3))
  assert.deepStrictEqual(last["effect_task.tasks.succeeded"], series(3))
  assert.deepStrictEqual(last["effect_task.tasks.failed"], series(0))
  assert.deepStrictEqual(last["effect_task.tasks.interrupted"], series(0))
  for (const gauge of ["registered", "running", "parked", "yielded"]) {
    assert.deepStrictEqual(last[`effect_task.tasks.${gauge}`], series(0), gauge)
  }
  const running = last["effect_task.task.running.duration"]!
  assert.strictEqual(running.service, "renders")
  assert.strictEqual(running.count, 3)
  assert.isAtLeast(running.value, 3 * 0.005, "each render slept 5 ms")
  assert.strictEqual(last["effect_task.task.parked.duration"]!.count, 3)
}

describe("docs/observability.md: exporting to OpenTelemetry", () => {
  it.live(
    "effect/observability OTLP exporters: task spans and final metrics reach the receiver",
    () => Effect.map(runAgainstReceiver(Otlp.main), checkExport),
    { timeout: 20_000 }
  )

  it.live(
    "@effect/opentelemetry NodeSdk: task spans and final metrics reach the receiver",
    () => Effect.map(runAgainstReceiver(OtelSdk.main), checkExport),
    { timeout: 20_000 }
  )
})
