/**
 * Running a generated program in a runtime of its own (the random-program,
 * interruption and lost-wake-up suites); not a test file.
 */
import { Effect, Exit, Layer, Scheduler } from "effect"
import { TestClock, TestConsole } from "effect/testing"

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
