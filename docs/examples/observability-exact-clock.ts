/**
 * Exact task times on the live clock: give the service a `Clock` of its own.
 * Any clock other than Effect's default is read at every event, so a task's
 * time is never shared with an earlier event of the same turn. Each read
 * then costs a `Date.now()` (see "How times are read").
 */
import { Clock, Context, Effect, Layer } from "effect"
import { TaskService } from "effect-task"
import assert from "node:assert/strict"

/** Effect's live clock, as a service value of its own (same methods, a distinct object) */
const ExactClock: Clock.Clock = Object.create(Context.get(Context.empty(), Clock.Clock))

/** The service reads the clock it is built with: provide the clock to the layer. */
export const ExactTasks = TaskService.layerBounded(4).pipe(Layer.provide(Layer.succeed(Clock.Clock, ExactClock)))

export const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  for (let i = 0; i < 40; i++) yield* tasks.go(`quick-${i}`, Effect.never)
  const busyUntil = Date.now() + 20
  while (Date.now() < busyUntil) {
    // 20 ms of synchronous work in the same turn
  }
  yield* tasks.go("late", Effect.never)
  const snapshot = yield* tasks.snapshot
  const late = snapshot.find((info) => info.name === "late")!
  assert.ok(late.registeredAt - snapshot[0]!.registeredAt >= 20)
}).pipe(Effect.provide(ExactTasks))
