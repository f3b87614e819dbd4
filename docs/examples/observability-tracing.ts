/**
 * A span per task body, named after the task, child of the span that was
 * current where `go` (or `submit`) was called. Here a tracer keeps the spans
 * it makes so the example can look at them.
 */
import { Effect, Tracer } from "effect"
import { Coalescer, TaskService } from "effect-task"
import assert from "node:assert/strict"

const spans: Array<Tracer.NativeSpan> = []
const keepSpans = Tracer.make({
  span(options) {
    const span = new Tracer.NativeSpan(options)
    spans.push(span)
    return span
  }
})

const parentName = (span: Tracer.Span) =>
  span.parent._tag === "Some" ? (span.parent.value as Tracer.Span).name : undefined

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<string>()
  yield* Effect.gen(function*() {
    yield* tasks.go("render a.yaml", Effect.void)
    yield* coalescer.submit("reconcile app", "default/app", Effect.void)
  }).pipe(Effect.withSpan("orchestrator run"))
  yield* tasks.blockTillDone

  const byName = new Map(spans.map((span) => [span.name, span]))
  const render = byName.get("render a.yaml")!
  const reconcile = byName.get("reconcile app")!
  assert.equal(parentName(render), "orchestrator run")
  assert.equal(parentName(reconcile), "orchestrator run")
  assert.deepEqual(Object.fromEntries(render.attributes), {
    "effect_task.task.id": 1,
    "effect_task.task.parked_ms": 0
  })
  assert.deepEqual(Object.fromEntries(reconcile.attributes), {
    "effect_task.task.id": 2,
    "effect_task.coalescer.key": "default/app",
    "effect_task.coalescer.run": 1,
    "effect_task.coalescer.retries": 0,
    "effect_task.task.parked_ms": 0
  })
}).pipe(
  Effect.provide(TaskService.layerBounded(2)),
  Effect.provideService(Tracer.Tracer, keepSpans)
)
