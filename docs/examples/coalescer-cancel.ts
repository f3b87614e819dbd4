/**
 * Cancel on delete: when the object behind a key is deleted, `cancel` stops
 * the key wherever it is — it interrupts a running reconcile (and waits for
 * it to end), drops a pending re-run, a retry wait and a delayed submit, and
 * removes the key's entry.
 */
import { Effect, Latch, Schedule } from "effect"
import { Coalescer, TaskService } from "effect-task"
import assert from "node:assert/strict"

type Event =
  | { readonly _tag: "Upserted"; readonly key: string }
  | { readonly _tag: "Deleted"; readonly key: string }

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<string>({ retry: Schedule.spaced("5 seconds") })
  const log: Array<string> = []
  const started = yield* Latch.make(false)

  const reconcile = (key: string) =>
    Effect.andThen(started.open, Effect.never).pipe(
      Effect.onInterrupt(() => Effect.sync(() => log.push(`${key}: reconcile interrupted`)))
    )

  const handle = (event: Event) =>
    event._tag === "Upserted"
      ? coalescer.submit(`reconcile ${event.key}`, event.key, reconcile(event.key))
      : Effect.flatMap(coalescer.cancel(event.key), (found) => Effect.sync(() => log.push(`${event.key}: ${found}`)))

  yield* handle({ _tag: "Upserted", key: "default/app" })
  yield* started.await
  yield* handle({ _tag: "Upserted", key: "default/app" }) // pending re-run
  yield* handle({ _tag: "Deleted", key: "default/app" })
  yield* handle({ _tag: "Deleted", key: "default/app" }) // nothing left to cancel
  assert.deepEqual(log, ["default/app: reconcile interrupted", "default/app: true", "default/app: false"])
  assert.equal(yield* coalescer.size, 0)
  assert.equal(yield* tasks.activeCount, 0)
  assert.equal(yield* tasks.failures, 0) // a cancelled run is an interruption, not a failure
}).pipe(Effect.provide(TaskService.layerBounded(4)))
