/**
 * Shared dispatch (`src/internal/dispatch.ts`): a service's task fibers
 * schedule through one dispatcher per scheduler, while each body still sees
 * the scheduler it would see without the service.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Scheduler } from "effect"
import { TaskService } from "effect-task"

/** What a body reads of its own fiber: its dispatcher and the scheduler in its context. */
const probe = (seen: Deferred.Deferred<readonly [Scheduler.SchedulerDispatcher, Scheduler.Scheduler]>) =>
  Effect.gen(function*() {
    const fiber = Fiber.getCurrent()!
    const scheduler = yield* Scheduler.Scheduler
    yield* Deferred.succeed(seen, [fiber.currentDispatcher, scheduler] as const)
  })

describe("shared dispatch", () => {
  it.effect("two task fibers of one service schedule through one dispatcher", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const a = yield* Deferred.make<readonly [Scheduler.SchedulerDispatcher, Scheduler.Scheduler]>()
      const b = yield* Deferred.make<readonly [Scheduler.SchedulerDispatcher, Scheduler.Scheduler]>()
      yield* tasks.go("a", probe(a))
      yield* tasks.go("b", probe(b))
      const [dispatcherA] = yield* Deferred.await(a)
      const [dispatcherB] = yield* Deferred.await(b)
      assert.strictEqual(dispatcherA, dispatcherB)
      // a fiber of the caller's own makes its own dispatcher
      const outside = yield* Effect.forkChild(Effect.sync(() => Fiber.getCurrent()!.currentDispatcher))
      assert.notStrictEqual(yield* Fiber.join(outside), dispatcherA)
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(2)))))

  it.effect("a body sees the scheduler of the context it was registered from, not a wrapper", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const ambient = yield* Scheduler.Scheduler
      const seen = yield* Deferred.make<readonly [Scheduler.SchedulerDispatcher, Scheduler.Scheduler]>()
      yield* tasks.go("probe", probe(seen))
      const [, scheduler] = yield* Deferred.await(seen)
      assert.strictEqual(scheduler, ambient)
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(2)))))

  it.effect("a task registered under another scheduler gets that scheduler's shared dispatcher", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const other = new Scheduler.MixedScheduler()
      const a = yield* Deferred.make<readonly [Scheduler.SchedulerDispatcher, Scheduler.Scheduler]>()
      const b = yield* Deferred.make<readonly [Scheduler.SchedulerDispatcher, Scheduler.Scheduler]>()
      const c = yield* Deferred.make<readonly [Scheduler.SchedulerDispatcher, Scheduler.Scheduler]>()
      yield* tasks.go("default", probe(a))
      yield* Effect.provideService(tasks.go("other", probe(b)), Scheduler.Scheduler, other)
      yield* Effect.provideService(tasks.go("other too", probe(c)), Scheduler.Scheduler, other)
      const [dispatcherA] = yield* Deferred.await(a)
      const [dispatcherB, schedulerB] = yield* Deferred.await(b)
      const [dispatcherC] = yield* Deferred.await(c)
      assert.strictEqual(schedulerB, other)
      assert.notStrictEqual(dispatcherB, dispatcherA)
      assert.strictEqual(dispatcherB, dispatcherC)
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(4)))))
})
