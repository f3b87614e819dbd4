import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Latch, Schedule, Scheduler, Scope } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { slotsIntact } from "./helpers/gauge.ts"
import { ownedService } from "./helpers/service.ts"
import { settle, untilScheduled, untilStates } from "./helpers/waits.ts"

// `Coalescer.cancel` (CONTRACT.md, "Additions: reconciler features") in
// every state of a key, then racing submits and a run's end at every step.

/** `log.push(label)` as an effect */
const record = (log: Array<string>, label: string) => Effect.sync(() => void log.push(label))

/** Advances the TestClock and lets the runs it released start and end. */
/**
 * Advances the TestClock by `millis`, then lets every runnable fiber run: a
 * run that a timer registers starts on the service's own dispatcher, which
 * `adjust` does not wait for.
 */
const advance = (millis: number) => Effect.andThen(TestClock.adjust(millis), settle)

const setup = Effect.gen(function*() {
  const tasks = yield* TaskService
  const c = yield* Coalescer.make<string>({ retry: Schedule.spaced("100 millis") })
  const log: Array<string> = []
  return { c, log, tasks }
})

/** A fresh `[started, gate]` pair of Deferreds for a body held at a gate. */
const startGate = Effect.all([Deferred.make<void>(), Deferred.make<void>()])

/** Nothing is left: no entry, no timer, no task; the slots are intact. */
const drained = (tasks: TaskService.Shape, c: Coalescer<never>, bound: number) =>
  Effect.gen(function*() {
    yield* tasks.blockTillDone
    assert.strictEqual(yield* c.size, 0)
    assert.strictEqual(yield* c.scheduled, 0)
    assert.strictEqual(yield* tasks.activeCount, 0)
    assert.strictEqual(yield* slotsIntact(tasks, bound), bound)
  })

describe("Coalescer.cancel in every state of a key", () => {
  it.effect("an idle key: false, nothing changes", () =>
    Effect.gen(function*() {
      const { c, tasks } = yield* setup
      assert.isFalse(yield* c.cancel("nobody"))
      yield* c.submit("done", "k", Effect.void)
      yield* tasks.blockTillDone
      assert.isFalse(yield* c.cancel("k"))
      yield* drained(tasks, c, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a parked run (with submits collapsed into it) never runs; the count drops at once", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      const gate = yield* Latch.make(false)
      yield* tasks.go("holder", gate.await)
      yield* c.submit("a", "k", record(log, "a"))
      yield* c.submit("b", "k", record(log, "b"))
      assert.strictEqual(yield* tasks.activeCount, 2)
      assert.isTrue(yield* c.cancel("k"))
      assert.strictEqual(yield* tasks.activeCount, 1)
      assert.strictEqual(yield* c.size, 0)
      assert.deepStrictEqual((yield* tasks.snapshot).map((info) => info.name), ["holder"])
      yield* gate.open
      yield* drained(tasks, c, 1)
      assert.deepStrictEqual(log, [])
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a running body is interrupted, its pending re-run dropped; cancel returns after it ended", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      const started = yield* Deferred.make<void>()
      yield* c.submit(
        "long",
        "k",
        Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
          Effect.onInterrupt(() => record(log, "long:interrupted"))
        )
      )
      yield* Deferred.await(started)
      yield* c.submit("pending", "k", record(log, "pending"))
      assert.isTrue(yield* c.cancel("k"))
      assert.deepStrictEqual(log, ["long:interrupted"])
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.strictEqual(yield* c.size, 0)
      yield* advance(1_000)
      yield* drained(tasks, c, 1)
      assert.deepStrictEqual(log, ["long:interrupted"])
      assert.strictEqual(yield* tasks.failures, 0)
      assert.strictEqual(yield* c.retries("k"), 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a requeued re-run waiting for its slot is dropped; the task ahead of it runs", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      const [started, gate] = yield* startGate
      const otherGate = yield* Latch.make(false)
      yield* c.submit(
        "first",
        "k",
        Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(gate)).pipe(
          Effect.andThen(record(log, "first"))
        )
      )
      yield* Deferred.await(started)
      yield* c.submit("second", "k", record(log, "second"))
      yield* tasks.go("other", Effect.andThen(record(log, "other:start"), otherGate.await))
      yield* Deferred.succeed(gate, undefined)
      yield* untilStates(tasks, { second: "parked", other: "running" })
      // the re-run gave its slot to "other" and waits for it
      const states = (yield* tasks.snapshot).map((info) => [info.name, info.state])
      assert.deepStrictEqual(states, [["second", "parked"], ["other", "running"]])
      assert.isTrue(yield* c.cancel("k"))
      assert.strictEqual(yield* tasks.activeCount, 1)
      yield* otherGate.open
      yield* drained(tasks, c, 1)
      assert.deepStrictEqual(log, ["first", "other:start"])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a retry wait is dropped: nothing runs when it would have been due", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submit("fails", "k", Effect.andThen(record(log, "fails"), Effect.fail("no")))
      yield* untilScheduled(c, 1) // the run failed: the key waits for its retry
      assert.strictEqual(yield* c.scheduled, 1)
      assert.strictEqual(yield* c.retries("k"), 1)
      assert.isTrue(yield* c.cancel("k"))
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.retries("k"), 0)
      yield* advance(1_000)
      assert.deepStrictEqual(log, ["fails"])
      yield* drained(tasks, c, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a delayed submit is dropped, and so is the run beside it", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submitAfter("later", "k", record(log, "later"), 100)
      assert.isTrue(yield* c.cancel("k"))
      assert.strictEqual(yield* c.scheduled, 0)
      const started = yield* Deferred.make<void>()
      yield* c.submit("now", "k", Effect.andThen(Deferred.succeed(started, undefined), Effect.never))
      yield* c.submitAfter("later", "k", record(log, "later"), 100)
      yield* Deferred.await(started)
      assert.strictEqual(yield* c.size, 1)
      assert.strictEqual(yield* c.scheduled, 1)
      assert.isTrue(yield* c.cancel("k"))
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 0)
      yield* advance(1_000)
      assert.deepStrictEqual(log, [])
      yield* drained(tasks, c, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a submit after the cancel gets a fresh run with a fresh retry count", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submit("fails", "k", Effect.andThen(record(log, "fails"), Effect.fail("no")))
      yield* untilScheduled(c, 1) // the run failed: the key waits for its retry
      yield* c.cancel("k")
      yield* c.submit("fresh", "k", record(log, "fresh"))
      yield* tasks.blockTillDone
      assert.deepStrictEqual(log, ["fails", "fresh"])
      assert.strictEqual(yield* c.retries("k"), 0)
      yield* drained(tasks, c, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a submit while the cancelled run is still ending gets a fresh run after it ends", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      const [started, finalizerGate] = yield* startGate
      const inFinalizer = yield* Deferred.make<void>()
      yield* c.submit(
        "slow-to-stop",
        "k",
        Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
          Effect.ensuring(
            Effect.andThen(Deferred.succeed(inFinalizer, undefined), Deferred.await(finalizerGate)).pipe(
              Effect.andThen(record(log, "stopped"))
            )
          )
        )
      )
      yield* Deferred.await(started)
      const cancelling = yield* Effect.forkChild(c.cancel("k"))
      yield* Deferred.await(inFinalizer)
      assert.strictEqual(yield* c.size, 1) // at most one run per key: the entry stays until the run ends
      yield* c.submit("after", "k", record(log, "after"))
      yield* settle // "after" must wait for the cancelled run's end
      assert.deepStrictEqual(log, [])
      yield* Deferred.succeed(finalizerGate, undefined)
      assert.isTrue(yield* Fiber.join(cancelling))
      yield* tasks.blockTillDone
      assert.deepStrictEqual(log, ["stopped", "after"])
      yield* drained(tasks, c, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a submit after the cancel, before the cancelled run's fiber took its first steps, gets a fresh run", () =>
    Effect.gen(function*() {
      // The run's fiber is forked at once (a free slot) but, on a small op budget, yields
      // inside its first steps; the cancel comes in that window. A submit made after the
      // cancel's step (the delayed submit it dropped shows it) must get a fresh run: the
      // cancelled run must neither execute that body nor swallow it. Each budget and
      // number of driver yields is one deterministic interleaving; the sweep keeps the
      // window covered when the op counts shift (3 ops and no yield hit it today).
      for (let maxOps = 3; maxOps <= 8; maxOps++) {
        for (let yields = 0; yields <= 3; yields++) {
          const at = `op budget ${maxOps}, ${yields} yields`
          yield* Effect.gen(function*() {
            const { c, log, tasks } = yield* setup
            yield* c.submitAfter("later", "k", record(log, "later"), "1 hour")
            yield* c.submit("a", "k", record(log, "a")).pipe(
              Effect.provideService(Scheduler.MaxOpsBeforeYield, maxOps)
            )
            for (let i = 0; i < yields; i++) yield* Effect.yieldNow
            const cancel = yield* Effect.forkChild(c.cancel("k"), { startImmediately: true })
            assert.strictEqual(yield* c.scheduled, 0, `the cancel has taken its step (${at})`)
            yield* c.submit("b", "k", record(log, "b"))
            assert.isTrue(yield* Fiber.join(cancel))
            yield* tasks.blockTillDone
            assert.deepStrictEqual(log.filter((label) => label !== "a"), ["b"], at)
            yield* drained(tasks, c, 1)
          }).pipe(Effect.provide(TaskService.layerBounded(1)))
        }
      }
    }))

  it.effect("cancel from the key's own run interrupts that run; the entry is removed", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submit(
        "self",
        "k",
        Effect.gen(function*() {
          log.push("before")
          yield* c.cancel("k")
          log.push("after") // never reached
        }).pipe(Effect.onInterrupt(() => record(log, "interrupted")))
      )
      yield* tasks.blockTillDone
      assert.deepStrictEqual(log, ["before", "interrupted"])
      assert.strictEqual(yield* tasks.failures, 0)
      yield* drained(tasks, c, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("cancel from a fiber the run forked interrupts the run (and that fiber) without a deadlock", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submit(
        "k",
        "k",
        Effect.gen(function*() {
          const child = yield* Effect.forkChild(Effect.andThen(Effect.yieldNow, c.cancel("k")))
          yield* Fiber.join(child)
          log.push("after")
        }).pipe(Effect.onInterrupt(() => record(log, "interrupted")))
      )
      yield* tasks.blockTillDone
      assert.deepStrictEqual(log, ["interrupted"])
      yield* drained(tasks, c, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("shutdown after a cancel: nothing left over", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(1))
      const c = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
      yield* c.submitAfter("a", "a", Effect.void, 100)
      yield* c.submit("b", "b", Effect.never)
      yield* c.cancel("a")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.isFalse(yield* c.cancel("b"))
    }))
})

// -----------------------------------------------------------------------------
// cancel racing submits, delayed submits, retries and a run's end, at every step
// -----------------------------------------------------------------------------

type Event =
  | { readonly _tag: "submit"; readonly id: number }
  | { readonly _tag: "start"; readonly id: number }
  | { readonly _tag: "cancel" }

/**
 * One scenario on bound 1 with a retrying coalescer: the driver takes
 * `steps` steps (a `yieldNow` and a 1 ms `TestClock.adjust` each) and, at
 * step `at`, forks a `cancel` of the key (an `at` beyond the last step
 * cancels nothing).
 * Submits (ordinary and delayed) happen at fixed steps; bodies yield a few
 * times, some fail (so the key retries) and one has a slow finalizer.
 */
const raceAt = (at: number) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const c = yield* Coalescer.make<string>({ retry: Schedule.spaced("2 millis").pipe(Schedule.upTo({ times: 2 })) })
    const events: Array<Event> = []
    let nextId = 1
    const body = (id: number, fails: boolean) =>
      Effect.gen(function*() {
        events.push({ _tag: "start", id })
        yield* Effect.yieldNow
        yield* Effect.yieldNow
        if (fails) return yield* Effect.fail(`run ${id} failed`)
      }).pipe(Effect.ensuring(Effect.andThen(Effect.yieldNow, Effect.yieldNow)))
    const submit = (fails: boolean) =>
      Effect.suspend(() => {
        const id = nextId++
        events.push({ _tag: "submit", id })
        return c.submit(`s${id}`, "k", body(id, fails))
      })
    /** a delayed submit counts as a submit at the step it is made (conservative for the check) */
    const submitAfter = (delay: number) =>
      Effect.suspend(() => {
        const id = nextId++
        events.push({ _tag: "submit", id })
        return c.submitAfter(`d${id}`, "k", body(id, false), delay)
      })
    const script: Record<number, Effect.Effect<void>> = {
      0: submit(true),
      1: submit(false),
      2: tasks.go("other", Effect.andThen(Effect.yieldNow, Effect.yieldNow)),
      3: submitAfter(2),
      5: submit(true),
      7: submitAfter(1),
      9: submit(false),
      12: submitAfter(3)
    }
    const steps = 16
    let cancel: Fiber.Fiber<boolean> | undefined
    for (let step = 0; step < steps; step++) {
      if (step === at) {
        cancel = yield* Effect.forkChild(
          Effect.suspend(() => {
            events.push({ _tag: "cancel" })
            return c.cancel("k")
          })
        )
      }
      const action = script[step]
      if (action !== undefined) yield* action
      yield* Effect.yieldNow
      yield* TestClock.adjust(1)
      assert.isAtMost(yield* c.size, 1)
    }
    if (cancel !== undefined) yield* Fiber.join(cancel)
    yield* advance(1_000)
    yield* tasks.blockTillDone
    yield* advance(1_000)
    // counters end at 0
    assert.strictEqual(yield* c.size, 0, `size at ${at}`)
    assert.strictEqual(yield* c.scheduled, 0, `scheduled at ${at}`)
    assert.strictEqual(yield* tasks.activeCount, 0)
    assert.strictEqual(yield* slotsIntact(tasks, 1), 1)
    // every submit not removed by the cancel is followed by a run that starts after it
    const cancelAt = events.findIndex((e) => e._tag === "cancel")
    events.forEach((event, i) => {
      if (event._tag !== "submit" || i < cancelAt) return
      const followed = events.slice(i + 1).some((e) => e._tag === "start")
      assert.isTrue(
        followed,
        `submit ${event.id} (cancel at step ${at}) has no run after it: ${JSON.stringify(events)}`
      )
    })
    if (cancelAt !== -1) {
      // runs starting after the cancel execute only bodies submitted after it
      const firstAfter = events.slice(cancelAt).find((e) => e._tag === "submit")?.id ?? Infinity
      events.slice(cancelAt).forEach((event) => {
        if (event._tag === "start") {
          assert.isAtLeast(event.id, firstAfter, `run ${event.id} started after the cancel at step ${at}`)
        }
      })
    }
    return events
  }).pipe(Effect.provide(TaskService.layerBounded(1)))

describe("Coalescer.cancel racing submits and a run's end", () => {
  it.effect("at every step: counters end at 0, no slot leaks, every submit after the cancel runs", () =>
    Effect.gen(function*() {
      const baseline = yield* raceAt(Infinity)
      // without a cancel every submit is followed by a run (the property holds from the start)
      assert.isTrue(baseline.some((e) => e._tag === "start"))
      for (let at = 0; at <= 16; at++) yield* raceAt(at)
    }))

  it.effect("the driver's clock is the TestClock: the scenario is deterministic", () =>
    Effect.gen(function*() {
      const first = yield* raceAt(6)
      const second = yield* raceAt(6)
      assert.deepStrictEqual(first, second)
    }))
})

/**
 * The same script on a service of its own, whose scope is closed at step
 * `at`: shutdown cancels every delayed submit and retry wait, and nothing
 * starts after the scope has closed.
 */
const shutdownAt = (at: number) =>
  Effect.gen(function*() {
    const { scope, tasks } = yield* ownedService(TaskService.layerBounded(1))
    const c = yield* Coalescer.make<string>({ retry: Schedule.spaced("2 millis") }).pipe(
      Effect.provideService(TaskService, tasks)
    )
    const starts: Array<number> = []
    let closed = false
    let startedAfterClose = 0
    let nextId = 1
    const body = (fails: boolean) =>
      Effect.gen(function*() {
        starts.push(nextId)
        if (closed) startedAfterClose++
        yield* Effect.yieldNow
        if (fails) return yield* Effect.fail("failed")
      })
    const script: Record<number, Effect.Effect<void>> = {
      0: c.submit("a", "k", body(true)),
      1: c.submitAfter("b", "j", body(false), 3),
      2: tasks.go("other", Effect.andThen(Effect.yieldNow, Effect.yieldNow)),
      4: c.submit("c", "k", body(true)),
      6: c.submitAfter("d", "k", body(false), 5),
      8: c.submit("e", "j", body(true))
    }
    for (let step = 0; step < 12; step++) {
      if (step === at) {
        yield* Scope.close(scope, Exit.void)
        closed = true
        assert.strictEqual(yield* c.size, 0, `size right after the close at ${at}`)
        assert.strictEqual(yield* c.scheduled, 0, `scheduled right after the close at ${at}`)
      }
      nextId++
      const action = script[step]
      if (action !== undefined) yield* action
      yield* Effect.yieldNow
      yield* TestClock.adjust(1)
    }
    if (!closed) yield* Scope.close(scope, Exit.void)
    closed = true
    yield* advance(1_000)
    assert.strictEqual(startedAfterClose, 0, `a run started after the close at ${at}`)
    assert.strictEqual(yield* c.size, 0)
    assert.strictEqual(yield* c.scheduled, 0)
    assert.strictEqual(yield* tasks.activeCount, 0)
    return starts.length
  })

describe("Coalescer shutdown at every step", () => {
  it.effect("delayed submits and retry waits are dropped; nothing starts after the scope has closed", () =>
    Effect.gen(function*() {
      const runs = yield* shutdownAt(Infinity)
      assert.isAbove(runs, 5) // without a shutdown, the retries run on
      for (let at = 0; at <= 12; at++) yield* shutdownAt(at)
    }))
})
