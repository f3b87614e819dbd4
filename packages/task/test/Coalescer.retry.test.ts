import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Effect, Exit, Latch, Schedule, Scope } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { interruptedChild } from "./helpers/exits.ts"
import { Gauge, tracked, untilStarted } from "./helpers/gauge.ts"
import { ownedService } from "./helpers/service.ts"
import { settle, until, untilScheduled, untilSize } from "./helpers/waits.ts"

// Per-key retry with a Schedule (CONTRACT.md, "Additions: reconciler
// features"). Time is the TestClock's: every due time below is exact.

/** `Schedule.exponential("100 millis")`: waits 100, 200, 400, ... ms */
const backoff = Schedule.exponential("100 millis")

/** A body that logs `<label>@<now>` and fails while `fails()` holds. */
const attempt = (log: Array<string>, label: string, fails: () => boolean) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    log.push(`${label}@${now}`)
    return fails() ? Effect.fail(`${label} failed`) : Effect.void
  })

/** The first `n` calls fail, the later ones succeed. */
const failTimes = (n: number) => {
  let calls = 0
  return () => calls++ < n
}

/**
 * Advances the TestClock, then lets every runnable fiber run: a run that a
 * timer registers starts on the service's own dispatcher, which `adjust`
 * does not wait for.
 */
const advance = (millis: number) => Effect.andThen(TestClock.adjust(millis), settle)

/** Until the key's run has failed and the key waits for its retry. */
const untilRetrying = (c: Coalescer<string>) => untilScheduled(c, 1)

const setup = (retry: Schedule.Schedule<unknown, unknown> = backoff) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const c = yield* Coalescer.make<string>({ retry })
    const log: Array<string> = []
    return { c, log, tasks }
  })

describe("Coalescer retry", () => {
  it.effect("a failing key runs again after each of the schedule's delays, exactly, then succeeds", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup()
      yield* c.submit("sync", "k", attempt(log, "sync", failTimes(3)))
      yield* untilRetrying(c)
      assert.deepStrictEqual(log, ["sync@0"])
      assert.strictEqual(yield* c.retries("k"), 1)
      // the wait: no task, no slot, not counted; the key is scheduled
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 1)
      assert.deepStrictEqual(yield* tasks.snapshot, [])
      // the service's waits do not wait for a scheduled key: nothing is registered
      yield* tasks.blockTillDone
      yield* tasks.awaitQuiescence(0)
      yield* advance(99)
      assert.deepStrictEqual(log, ["sync@0"])
      yield* advance(1)
      assert.deepStrictEqual(log, ["sync@0", "sync@100"])
      assert.strictEqual(yield* c.retries("k"), 2)
      yield* advance(199)
      assert.strictEqual(log.length, 2)
      yield* advance(1)
      assert.deepStrictEqual(log, ["sync@0", "sync@100", "sync@300"])
      assert.strictEqual(yield* c.retries("k"), 3)
      yield* advance(400)
      assert.deepStrictEqual(log, ["sync@0", "sync@100", "sync@300", "sync@700"])
      // the fourth run succeeded: the key is idle again
      assert.strictEqual(yield* c.retries("k"), 0)
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* tasks.failures, 3)
      yield* advance(10_000)
      assert.strictEqual(log.length, 4)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a submit during the wait runs at once with its body and drops the wait", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup()
      yield* c.submit("first", "k", attempt(log, "first", () => true))
      yield* untilRetrying(c)
      yield* advance(50)
      yield* c.submit("second", "k", attempt(log, "second", () => false))
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.size, 1)
      yield* untilSize(c, 0) // second succeeded
      assert.deepStrictEqual(log, ["first@0", "second@50"])
      assert.strictEqual(yield* c.retries("k"), 0)
      yield* advance(1_000)
      assert.deepStrictEqual(log, ["first@0", "second@50"])
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a success resets the key's schedule: the next failure waits the first delay again", () =>
    Effect.gen(function*() {
      const { c, log } = yield* setup()
      yield* c.submit("a", "k", attempt(log, "a", () => true))
      yield* untilRetrying(c)
      yield* advance(100) // a@100 fails: the next wait would be 200
      yield* advance(50)
      // t = 150: a submit runs at once; a submit during it is pending, so the
      // key's entry lives on through the success into the pending re-run
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      yield* c.submit(
        "b",
        "k",
        Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(gate)).pipe(
          Effect.andThen(attempt(log, "b", () => false))
        )
      )
      yield* Deferred.await(started)
      yield* c.submit("c", "k", attempt(log, "c", () => true))
      yield* Deferred.succeed(gate, undefined)
      yield* untilRetrying(c)
      assert.deepStrictEqual(log, ["a@0", "a@100", "b@150", "c@150"])
      assert.strictEqual(yield* c.retries("k"), 1) // c's failure only: b's success reset the count
      yield* advance(99)
      assert.strictEqual(log.length, 4)
      yield* advance(1)
      assert.deepStrictEqual(log, ["a@0", "a@100", "b@150", "c@150", "c@250"])
      assert.strictEqual(yield* c.retries("k"), 2)
      yield* c.cancel("k")
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("when the schedule is done the key gives up and its entry is removed", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup(backoff.pipe(Schedule.upTo({ times: 2 })))
      yield* c.submit("r", "k", attempt(log, "r", () => true))
      yield* untilRetrying(c)
      yield* advance(100)
      yield* advance(200)
      assert.deepStrictEqual(log, ["r@0", "r@100", "r@300"])
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.retries("k"), 0)
      assert.strictEqual(yield* tasks.failures, 3)
      yield* advance(10_000)
      assert.strictEqual(log.length, 3)
      // the key starts over with a fresh schedule
      yield* c.submit("again", "k", attempt(log, "again", () => true))
      yield* untilRetrying(c)
      yield* advance(100)
      assert.deepStrictEqual(log.slice(3), ["again@10300", "again@10400"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("retries never hold a slot: with a bound of 1 another task runs during the wait", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup()
      const gauge = new Gauge()
      yield* c.submit("r", "k", tracked(gauge, "r", attempt(log, "r", failTimes(1))))
      yield* untilRetrying(c)
      assert.strictEqual(yield* c.scheduled, 1)
      const gate = yield* Latch.make(false)
      yield* tasks.go("other", tracked(gauge, "other", gate.await))
      yield* untilStarted(gauge, 2)
      yield* settle // and r does not come back meanwhile
      assert.deepStrictEqual(gauge.starts, ["r", "other"]) // other got the only slot during the wait
      assert.strictEqual(yield* tasks.activeCount, 1)
      yield* advance(100)
      // the retry is due but waits for the slot like any task: parked, counted, with its retry count
      const snapshot = yield* tasks.snapshot
      assert.deepStrictEqual(
        snapshot.map((info) => [info.name, info.state, info.key, info.retries]),
        [["other", "running", undefined, undefined], ["r", "parked", "k", 1]]
      )
      assert.strictEqual(yield* tasks.activeCount, 2)
      assert.strictEqual(yield* c.size, 1)
      assert.strictEqual(yield* c.scheduled, 0)
      yield* gate.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(gauge.starts, ["r", "other", "r"])
      assert.deepStrictEqual(log, ["r@0", "r@100"])
      assert.strictEqual(gauge.high, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a schedule without delays (recurs) retries at once, then gives up", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup(Schedule.recurs(2))
      yield* c.submit("r", "k", attempt(log, "r", () => true))
      yield* until("three attempts have run", () => log.length >= 3)
      yield* settle // and no fourth
      assert.deepStrictEqual(log, ["r@0", "r@0", "r@0"])
      assert.strictEqual(yield* tasks.failures, 3)
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a defect is retried like a typed failure; an interruption is not", () =>
    Effect.gen(function*() {
      const { c, tasks } = yield* setup()
      let dies = 0
      yield* c.submit("dies", "d", Effect.suspend(() => dies++ === 0 ? Effect.die("boom") : Effect.void))
      let interrupted = 0
      yield* c.submit("interrupted", "i", Effect.suspend(() => (interrupted++, interruptedChild)))
      yield* untilRetrying(c) // "d" died and waits; "i" was interrupted and does not
      yield* settle
      assert.strictEqual(yield* c.retries("d"), 1)
      assert.strictEqual(yield* c.retries("i"), 0)
      assert.strictEqual(yield* c.scheduled, 1)
      yield* advance(100)
      assert.strictEqual(dies, 2)
      assert.strictEqual(interrupted, 1)
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* tasks.failures, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a submit pending during a failed run re-runs at once, without waiting", () =>
    Effect.gen(function*() {
      const { c, log } = yield* setup()
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      yield* c.submit(
        "a",
        "k",
        Effect.gen(function*() {
          yield* Deferred.succeed(started, undefined)
          yield* Deferred.await(gate)
          return yield* attempt(log, "a", () => true)
        })
      )
      yield* Deferred.await(started)
      yield* c.submit("b", "k", attempt(log, "b", () => false))
      yield* Deferred.succeed(gate, undefined)
      yield* untilSize(c, 0) // b succeeded
      assert.deepStrictEqual(log, ["a@0", "b@0"])
      assert.strictEqual(yield* c.retries("k"), 0)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.size, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("the schedule's input is the failed run's cause", () =>
    Effect.gen(function*() {
      const inputs: Array<unknown> = []
      const schedule = backoff.pipe(
        Schedule.while(({ input }) => {
          inputs.push(input)
          return Cause.isCause(input) && Cause.hasFails(input)
        })
      )
      const { c, log } = yield* setup(schedule as Schedule.Schedule<unknown, unknown>)
      let calls = 0
      yield* c.submit(
        "r",
        "k",
        Effect.suspend(() => {
          log.push(`r${calls}`)
          return calls++ === 0 ? Effect.fail("typed") : Effect.die("defect")
        })
      )
      yield* untilRetrying(c)
      yield* advance(100)
      // the typed failure is retried; the defect's cause stops the schedule
      assert.deepStrictEqual(log, ["r0", "r1"])
      assert.strictEqual(inputs.length, 2)
      assert.isTrue(Cause.isCause(inputs[1]) && Cause.hasDies(inputs[1] as Cause.Cause<unknown>))
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.size, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("shutdown cancels a retry wait: nothing fires after the service's scope has closed", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(2))
      const c = yield* Coalescer.make<string>({ retry: backoff }).pipe(Effect.provideService(TaskService, tasks))
      const log: Array<string> = []
      yield* c.submit("r", "k", attempt(log, "r", () => true))
      yield* untilRetrying(c)
      assert.strictEqual(yield* c.scheduled, 1)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.size, 0)
      yield* advance(10_000)
      assert.deepStrictEqual(log, ["r@0"])
      assert.strictEqual(yield* tasks.activeCount, 0)
    }))

  it.effect("the retry waits read the Clock of the context the coalescer was made in", () =>
    Effect.gen(function*() {
      const { c, log } = yield* setup()
      yield* TestClock.setTime(5_000)
      yield* c.submit("r", "k", attempt(log, "r", failTimes(1)))
      yield* untilRetrying(c)
      yield* advance(100)
      assert.deepStrictEqual(log, ["r@5000", "r@5100"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})
