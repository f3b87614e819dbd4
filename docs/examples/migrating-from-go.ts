/**
 * The Go package's main use, ported: reconciles that wait for their
 * dependencies inside `yieldQuiescent`, and an orchestrator that declares the
 * run settled with `awaitQuiescence(0)` (Go: `<-svc.QuiescenceCh(0)`). A
 * reconcile whose dependency never appears (a typo in `dependsOn`) does not
 * hold quiescence back; `snapshot` names it, and closing the layer's scope
 * interrupts it.
 */
import { Effect, Latch } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

interface Kustomization {
  readonly name: string
  readonly dependsOn: ReadonlyArray<string>
}

const kustomizations: ReadonlyArray<Kustomization> = [
  { name: "infra", dependsOn: [] },
  { name: "apps", dependsOn: ["infra"] },
  { name: "monitoring", dependsOn: ["infra-typo"] }
]

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService // Go: svc := task.New()
  const ready = new Map<string, Latch.Latch>()
  for (const name of ["infra", "apps", "monitoring", "infra-typo"]) ready.set(name, yield* Latch.make(false))
  const applied: Array<string> = []

  for (const ks of kustomizations) {
    // Go: svc.Go(ctx, ks.Name, func(ctx context.Context) { ... })
    yield* tasks.go(
      ks.name,
      Effect.gen(function*() {
        // Go: svc.YieldQuiescent(func() { waitForDeps(ks) })
        yield* tasks.yieldQuiescent(Effect.forEach(ks.dependsOn, (dep) => ready.get(dep)!.await))
        applied.push(ks.name)
        yield* ready.get(ks.name)!.open
      })
    )
  }

  yield* tasks.awaitQuiescence(0) // Go: <-svc.QuiescenceCh(0)
  assert.deepEqual(applied, ["infra", "apps"])
  const stuck = (yield* tasks.snapshot).filter((info) => info.state === "yielded-quiescent")
  assert.deepEqual(stuck.map((info) => info.name), ["monitoring"])
  return stuck.map((info) => info.name)
  // leaving the layer's scope interrupts "monitoring"
}).pipe(Effect.provide(TaskService.layer))
