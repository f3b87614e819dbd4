/**
 * A body runs with the context of the fiber that called `go`: its services,
 * its references (log annotations here) and its current span, which becomes
 * the parent of the task's own span.
 */
import { Context, Effect, Option, References } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

class Tenant extends Context.Service<Tenant, { readonly id: string }>()("docs/Tenant") {}

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const seen: Array<unknown> = []

  const body = Effect.gen(function*() {
    const tenant = yield* Tenant // a service of the caller of `go`
    const annotations = yield* References.CurrentLogAnnotations
    const span = yield* Effect.currentSpan
    seen.push(
      tenant.id,
      annotations["run"],
      span.name,
      Option.map(span.parent, (parent) => parent._tag === "Span" ? parent.name : "external"),
      span.attributes.get("effect_task.task.id")
    )
  })

  yield* tasks.go("sync tenant", body).pipe(
    Effect.provideService(Tenant, { id: "acme" }),
    Effect.annotateLogs("run", "nightly"),
    Effect.withSpan("reconcile")
  )
  yield* tasks.blockTillDone

  assert.deepEqual(seen, ["acme", "nightly", "sync tenant", Option.some("reconcile"), 1])
}).pipe(Effect.provide(TaskService.layerBounded(2)))
