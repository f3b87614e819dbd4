/**
 * `snapshot` lists every registered task with its state; `resize` changes the
 * bound while the service runs and `workers` reads it.
 */
import { Effect, Latch } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const started = yield* Latch.make(false)
  const gate = yield* Latch.make(false)

  yield* tasks.go("a", Effect.andThen(started.open, gate.await))
  yield* tasks.go("b", gate.await)
  yield* tasks.go("c", gate.await)
  yield* started.await

  const states = (yield* tasks.snapshot).map((info) => `${info.id} ${info.name} ${info.state}`)
  assert.deepEqual(states, ["1 a running", "2 b parked", "3 c parked"])

  // raising the bound starts parked tasks at once
  yield* tasks.resize(3)
  assert.equal(yield* tasks.workers, 3)
  assert.deepEqual((yield* tasks.snapshot).map((info) => info.state), ["running", "running", "running"])

  // lowering it interrupts nothing: the three bodies keep running
  yield* tasks.resize(1)
  assert.equal(yield* tasks.activeCount, 3)

  yield* gate.open
  yield* tasks.blockTillDone
  assert.deepEqual(yield* tasks.snapshot, [])
}).pipe(Effect.provide(TaskService.layerBounded(1)))
