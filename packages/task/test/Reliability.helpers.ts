/**
 * Shared helpers for the reliability suite (`Reliability.*.test.ts`,
 * `BadInputs.test.ts`); not a test file itself.
 */
import { Context, Effect, Exit, Latch, Layer, Scheduler, Scope } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"
import { TestClock, TestConsole } from "effect/testing"
import { isDone, ticks } from "./TaskService.helpers.ts"

export { isDone, ticks }

/**
 * A fresh test environment for one generated program: its own `TestClock`
 * (and the clock's tracking scheduler) and `TestConsole` (failed tasks log
 * there), and no op-budget yields (`PreventSchedulerYield`). Without the
 * budget, a fiber only yields where the program says so (`yieldNow`, a sleep,
 * a wait), so the test's own bookkeeping, done right next to each call into
 * the service, is updated in the same synchronous step as the service's
 * counters and can be compared exactly at any point.
 */
const isolated = Layer.mergeAll(TestClock.layer(), TestConsole.layer)

/**
 * Runs `effect` in its own runtime with the isolated test environment and a
 * real-time watchdog: a program that hangs (a deadlock, a shutdown that never
 * completes) is interrupted and reported as a failure instead of stalling the
 * whole file, so fast-check can report its seed and shrink it.
 */
export const runIsolated = <A, E>(
  effect: Effect.Effect<A, E>,
  watchdogMillis = 10_000,
  hostile?: HostileSchedule
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const scheduled = hostile === undefined
      ? Effect.provideService(effect, Scheduler.PreventSchedulerYield, true)
      : Effect.provideService(effect, Scheduler.MaxOpsBeforeYield, hostile.maxOpsBeforeYield)
    const fiber = Effect.runFork(
      Effect.provide(scheduled, Layer.fresh(isolated)),
      hostile === undefined ? undefined : { scheduler: hostile.scheduler }
    )
    const timer = setTimeout(() => {
      fiber.interruptUnsafe()
      reject(new Error(`program did not finish within ${watchdogMillis} ms of real time (hang)`))
    }, watchdogMillis)
    fiber.addObserver((exit) => {
      clearTimeout(timer)
      if (Exit.isSuccess(exit)) resolve(exit.value)
      else reject(exit.cause)
    })
  })

/**
 * A hostile schedule for `runIsolated`: op-budget yields every
 * `maxOpsBeforeYield` operations (instead of none), and every fiber, the
 * test clock's included, on `scheduler` (a random-order one, for example).
 */
export interface HostileSchedule {
  readonly maxOpsBeforeYield: number
  readonly scheduler: Scheduler.Scheduler
}

/** A service built into its own scope, so that a test can shut it down (`close`) at any point. */
export interface OwnedService {
  readonly tasks: TaskServiceShape
  readonly context: Context.Context<TaskService>
  readonly close: Effect.Effect<void>
}

/** Builds `layer` into an explicit `Scope.make()`; `close` closes that scope. */
export const ownedService = (layer: Layer.Layer<TaskService>): Effect.Effect<OwnedService> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { tasks: Context.get(context, TaskService), context, close: Scope.close(scope, Exit.void) }
  })

/** `bound` for a layer: `0` means unbounded. */
export const layerFor = (bound: number): Layer.Layer<TaskService> =>
  bound === 0 ? TaskService.layerUnbounded : TaskService.layerBounded(bound)

/**
 * No slot is leaked: `bound` fresh tasks gated on one latch all start (the
 * high-water of running bodies equals the bound), one more does not (when
 * bounded), and all of them end. Returns the high-water mark.
 */
export const slotsIntact = (tasks: TaskServiceShape, bound: number): Effect.Effect<number> =>
  Effect.gen(function*() {
    const n = bound === 0 ? 8 : bound
    let running = 0
    let high = 0
    const gate = yield* Latch.make(false)
    const body = Effect.gen(function*() {
      running++
      if (running > high) high = running
      yield* gate.await
      running--
    })
    for (let i = 0; i < n + 1; i++) yield* tasks.go(`slot-probe-${i}`, body)
    const target = bound === 0 ? n + 1 : n
    const allStarted = () => high >= target // `high` is raised by the probe bodies
    for (let i = 0; i < 200 && !allStarted(); i++) yield* Effect.yieldNow
    yield* ticks(3)
    const seen = high
    yield* gate.open
    yield* tasks.blockTillDone
    return seen
  })
