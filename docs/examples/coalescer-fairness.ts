/**
 * A re-run gives its slot back and queues behind the tasks already waiting,
 * so one busy key cannot starve the others.
 */
import { Effect, Latch } from "effect"
import { Coalescer, TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const coalescer = yield* Coalescer.make<string>()
  const order: Array<string> = []
  const started = yield* Latch.make(false)
  const finish = yield* Latch.make(false)

  yield* coalescer.submit(
    "hot key, run 1",
    "hot",
    Effect.andThen(Effect.sync(() => order.push("hot 1")), Effect.andThen(started.open, finish.await))
  )
  yield* started.await
  yield* tasks.go("other 1", Effect.sync(() => order.push("other 1")))
  yield* tasks.go("other 2", Effect.sync(() => order.push("other 2")))
  yield* coalescer.submit("hot key, run 2", "hot", Effect.sync(() => order.push("hot 2")))

  yield* finish.open
  yield* tasks.blockTillDone
  assert.deepEqual(order, ["hot 1", "other 1", "other 2", "hot 2"])
}).pipe(Effect.provide(TaskService.layerBounded(1)))
