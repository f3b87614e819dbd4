/**
 * Keys are compared with `Equal`: strings and numbers by value, `Data`
 * classes, plain objects and arrays by structure. `Equal.byReference` opts a
 * key out and makes it compare by identity.
 */
import { Data, Effect, Equal } from "effect"
import { Coalescer, TaskService } from "effect-task"
import assert from "node:assert/strict"

class Ref extends Data.Class<{ readonly namespace: string; readonly name: string }> {}

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<Ref>()

  // runs start a scheduler round later; until then these submits collapse
  yield* coalescer.submit("reconcile default/app", new Ref({ namespace: "default", name: "app" }), Effect.void)
  yield* coalescer.submit("reconcile default/app", new Ref({ namespace: "default", name: "app" }), Effect.void)
  yield* coalescer.submit("reconcile prod/app", new Ref({ namespace: "prod", name: "app" }), Effect.void)
  assert.equal(yield* coalescer.size, 2)

  // plain objects compare by structure too
  const plain = yield* Coalescer.make<{ readonly namespace: string; readonly name: string }>()
  yield* plain.submit("reconcile default/app", { namespace: "default", name: "app" }, Effect.void)
  yield* plain.submit("reconcile default/app", { namespace: "default", name: "app" }, Effect.void)
  assert.equal(yield* plain.size, 1)
  // unless marked to compare by identity
  yield* plain.submit("reconcile default/app", Equal.byReference({ namespace: "default", name: "app" }), Effect.void)
  assert.equal(yield* plain.size, 2)

  yield* tasks.blockTillDone
  assert.equal(yield* coalescer.size, 0)
  assert.equal(yield* plain.size, 0)
}).pipe(Effect.provide(TaskService.layerUnbounded))
