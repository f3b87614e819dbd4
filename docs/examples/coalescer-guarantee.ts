/**
 * Every submit is followed by a run that starts after it, also when the
 * submit comes from the key's own body and when that run fails.
 */
import { Effect } from "effect"
import { Coalescer, TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<string>()
  let attempts = 0

  const sync: Effect.Effect<void, string> = Effect.gen(function*() {
    attempts++
    if (attempts === 1) {
      // the inputs changed while we ran: ask for another run, then fail
      yield* coalescer.submit("sync repo", "git/repo", sync)
      return yield* Effect.fail("stale checkout")
    }
  })
  yield* coalescer.submit("sync repo", "git/repo", sync)
  yield* tasks.blockTillDone

  assert.equal(attempts, 2) // the pending re-run happened
  assert.equal(yield* tasks.failures, 1) // the failure counted once
  assert.equal(yield* coalescer.size, 0)
}).pipe(Effect.provide(TaskService.layerBounded(2)))
