/**
 * The service lives as long as the layer's scope. Closing the scope
 * interrupts every registered task, waits for it, and leaves the counters at
 * 0; `go` after that registers nothing.
 */
import { Context, Effect, Exit, Latch, Layer, Scope } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const log: Array<string> = []
  const scope = yield* Scope.make()
  const context = yield* Layer.buildWithScope(TaskService.layerBounded(1), scope)
  const tasks = Context.get(context, TaskService)

  const started = yield* Latch.make(false)
  yield* tasks.go(
    "watch",
    Effect.andThen(started.open, Effect.never).pipe(
      Effect.onInterrupt(() => Effect.sync(() => log.push("watch interrupted")))
    )
  )
  // bound 1: this one waits for a slot and never starts
  yield* tasks.go("render", Effect.sync(() => log.push("render ran")))
  yield* started.await
  assert.equal(yield* tasks.activeCount, 2)

  yield* Scope.close(scope, Exit.void) // returns once every task has ended
  assert.deepEqual(log, ["watch interrupted"])
  assert.equal(yield* tasks.activeCount, 0)

  yield* tasks.go("late", Effect.sync(() => log.push("late ran")))
  assert.equal(yield* tasks.activeCount, 0)
  yield* tasks.blockTillDone // nothing registered: completes at once
  assert.deepEqual(log, ["watch interrupted"])
})
