/**
 * The service's metrics, read through Effect's own metric APIs. They live in
 * the `MetricRegistry` of the context the layer is built in; this example
 * gives the program a registry of its own.
 */
import { Effect, Latch, Metric } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

const { metrics } = TaskService

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  const gate = yield* Latch.make(false)
  yield* tasks.go("a", gate.await)
  yield* tasks.go("b", gate.await)
  yield* tasks.go("c", Effect.fail("boom"))
  yield* Effect.yieldNow // "a" starts; "b" and "c" wait for the slot

  assert.equal((yield* Metric.value(metrics.registered)).value, 3)
  assert.equal((yield* Metric.value(metrics.running)).value, 1)
  assert.equal((yield* Metric.value(metrics.parked)).value, 2)

  yield* gate.open
  yield* tasks.blockTillDone
  assert.equal((yield* Metric.value(metrics.started)).count, 3)
  assert.equal((yield* Metric.value(metrics.succeeded)).count, 2)
  assert.equal((yield* Metric.value(metrics.failed)).count, 1)
  assert.equal((yield* Metric.value(metrics.parkedDuration)).count, 3)

  // every series, as an exporter sees them
  const names = (yield* Metric.snapshot).map((snapshot) => snapshot.id).filter((id) => id.startsWith("effect_task"))
  assert.deepEqual(names.toSorted(), [
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
}).pipe(
  Effect.provide(TaskService.layerBounded(1)),
  Effect.provideService(Metric.MetricRegistry, new Map())
)
