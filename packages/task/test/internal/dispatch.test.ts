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

/**
 * Runs `body` with uncaught exceptions collected instead of reported (a
 * user's throwing callback is an uncaught exception, with or without the
 * service); restores vitest's listeners afterwards.
 */
const collectingUncaught = <A, E, R>(body: (errors: Array<unknown>) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const errors: Array<unknown> = []
    const collect = (error: unknown) => void errors.push(error)
    const listeners = process.listeners("uncaughtException")
    process.removeAllListeners("uncaughtException")
    process.on("uncaughtException", collect)
    return Effect.ensuring(
      body(errors),
      Effect.sync(() => {
        process.removeListener("uncaughtException", collect)
        for (const listener of listeners) process.on("uncaughtException", listener)
      })
    )
  })

describe("a callback that throws out of a shared batch", () => {
  it.live.each(
    [
      { body: "yields twice", work: Effect.andThen(Effect.yieldNow, Effect.yieldNow) },
      { body: "is synchronous", work: Effect.void }
    ] as const
  )(
    "strands no other task fiber when the body $body, and is still reported",
    ({ work }) =>
      collectingUncaught((errors) =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const done: Array<string> = []
          // a caller outside the service waits for `run`; its observer throws when
          // the task's exit resumes it, inside the task's batch
          const caller = Effect.runFork(tasks.run("x", Effect.yieldNow))
          caller.addObserver(() => {
            throw new Error("a user's callback throws")
          })
          for (const name of ["b", "c", "d"]) {
            yield* tasks.go(name, Effect.andThen(work, Effect.sync(() => void done.push(name))))
          }
          const finished = yield* Effect.timeoutOption(tasks.blockTillDone, "2 seconds")
          assert.strictEqual(finished._tag, "Some", "every task finished")
          assert.deepStrictEqual(done.toSorted(), ["b", "c", "d"])
          yield* Effect.yieldNow
          assert.deepStrictEqual(errors.map((error) => (error as Error).message), ["a user's callback throws"])
        }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(8))))
      )
  )
})
