/**
 * Hand-offs through regions the quiescence tracker cannot fully see
 * (docs/quiescence.md, "What counts as blocked"): a scheduler the body
 * provides, `PreventSchedulerYield`, forked children and daemons, a tracer of
 * the user's. Where it cannot see, it waits instead of completing early. Each
 * case an adversarial review found is a regression test named after its
 * scenario.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Latch, Layer, Queue, Scheduler, Stream, Tracer } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"
import { settle, untilState, untilStates, yieldTimes } from "../helpers/waits.ts"

const fresh = () => Layer.fresh(TaskService.layerUnbounded)

/** A chain: `A` (counted) opens a latch; `B` waits for it inside `yieldQuiescent`, then runs `after` there. */
const latchHandOff = (tasks: TaskServiceShape, after: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const latch = yield* Latch.make(false)
    let finished = false
    yield* tasks.go(
      "B",
      Effect.andThen(
        tasks.yieldQuiescent(Effect.andThen(latch.await, after)),
        Effect.sync(() => void (finished = true))
      )
    )
    yield* tasks.go("A", Effect.asVoid(latch.open))
    return () => finished
  })

describe("hand-off: what the tracker cannot see, it waits for", () => {
  it.effect("a scheduler the body provides inside yieldQuiescent holds quiescence until it leaves", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const own = new Scheduler.MixedScheduler()
      const finished = yield* latchHandOff(tasks, Effect.provideService(yieldTimes(10), Scheduler.Scheduler, own))
      yield* tasks.awaitQuiescence(0)
      assert.isTrue(finished())
    }).pipe(Effect.provide(fresh())))

  it.effect("PreventSchedulerYield inside yieldQuiescent: a wake-up it issues still holds quiescence until it arrives", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const latch = yield* Latch.make(false)
      const release = yield* Latch.make(false)
      const queue = yield* Queue.unbounded<number>() // made outside: its taker resumes through this fiber's dispatcher
      let cFinished = false
      // B's steps skip `shouldYield`: it wakes C through the queue, then stays suspended in the region
      yield* tasks.go(
        "B",
        tasks.yieldQuiescent(
          Effect.provideService(
            latch.await.pipe(Effect.andThen(Queue.offer(queue, 1)), Effect.andThen(release.await)),
            Scheduler.PreventSchedulerYield,
            true
          )
        )
      )
      yield* tasks.go(
        "C",
        Effect.andThen(tasks.yieldQuiescent(Queue.take(queue)), Effect.sync(() => void (cFinished = true)))
      )
      yield* tasks.go("A", Effect.asVoid(latch.open))
      const waiter = yield* Effect.forkChild(Effect.andThen(tasks.awaitQuiescence(0), Effect.sync(() => cFinished)))
      // B's steps are seen through the region's tracer: the waiter may complete while B waits for
      // `release`, but only once C, which B woke, has finished
      assert.isTrue(yield* Fiber.join(waiter))
      yield* release.open
    }).pipe(Effect.provide(fresh())))

  it.effect("a region blocked under a scheduler of its own is counted as active: awaitQuiescence(0) waits", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const never = yield* Latch.make(false)
      yield* tasks.go(
        "opaque",
        tasks.yieldQuiescent(Effect.provideService(never.await, Scheduler.Scheduler, new Scheduler.MixedScheduler()))
      )
      yield* untilState(tasks, "opaque", "yielded-quiescent")
      assert.strictEqual(yield* tasks.activeCount, 0)
      const zero = yield* Effect.forkChild(tasks.awaitQuiescence(0))
      yield* settle // the opaque region is blocked: the waiter must wait
      assert.isUndefined(zero.pollUnsafe())
      yield* tasks.awaitQuiescence(1) // the task itself: exact at once
      yield* Fiber.interrupt(zero)
    }).pipe(Effect.provide(fresh())))

  it.effect("a fiber forked inside yieldQuiescent belongs to the wait while it runs", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const never = yield* Latch.make(false)
      const latch = yield* Latch.make(false)
      let finished = false
      // B forks a child that yields 30 times and then opens the latch C waits for
      yield* tasks.go(
        "B",
        tasks.yieldQuiescent(
          Effect.andThen(Effect.forkDetach(Effect.andThen(yieldTimes(30), latch.open)), never.await)
        )
      )
      yield* tasks.go("C", Effect.andThen(tasks.yieldQuiescent(latch.await), Effect.sync(() => void (finished = true))))
      yield* tasks.awaitQuiescence(0)
      assert.isTrue(finished)
    }).pipe(Effect.provide(fresh())))

  it.effect("a task registered from inside yieldQuiescent does not run under the region's scheduler", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const ambient = yield* Scheduler.Scheduler
      const seen = yield* Deferred.make<readonly [inRegion: boolean, inChild: boolean]>()
      yield* tasks.go(
        "parent",
        tasks.yieldQuiescent(Effect.gen(function*() {
          const inRegion = (yield* Scheduler.Scheduler) !== ambient
          yield* tasks.go(
            "registered inside",
            Effect.gen(function*() {
              const scheduler = yield* Scheduler.Scheduler
              yield* Deferred.succeed(seen, [inRegion, scheduler !== ambient])
            })
          )
        }))
      )
      assert.deepStrictEqual(yield* Deferred.await(seen), [true, false])
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(fresh())))
})

/**
 * A (counted) opens a latch and ends; K, a child B forked inside its region
 * (wrapped by `wrap`), wakes C (inside a region) and then stays suspended
 * until `hold` opens. Returns whether C had woken when `awaitQuiescence(0)`
 * completed.
 */
const forkedWaker = (
  wrap: (k: Effect.Effect<void>) => Effect.Effect<void>,
  viaLatch: boolean,
  /** how B runs the waker inside its region: by default a forked child it joins */
  spawn: (k: Effect.Effect<void>) => Effect.Effect<void> = (k) => Effect.flatMap(Effect.forkChild(k), Fiber.join)
) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const latch = yield* Latch.make(false)
    const start = yield* Latch.make(false)
    const queue = yield* Queue.unbounded<number>() // made outside the service
    const forC = yield* Latch.make(false)
    const hold = yield* Latch.make(false)
    let cWoke = false
    const k = latch.await.pipe(
      Effect.andThen(viaLatch ? forC.open : Queue.offer(queue, 1)),
      Effect.andThen(hold.await)
    )
    yield* tasks.go("B", tasks.yieldQuiescent(spawn(wrap(Effect.asVoid(k)))))
    yield* tasks.go(
      "C",
      Effect.andThen(
        tasks.yieldQuiescent(viaLatch ? forC.await : Effect.asVoid(Queue.take(queue))),
        Effect.sync(() => void (cWoke = true))
      )
    )
    yield* tasks.go("A", Effect.andThen(start.await, latch.open))
    yield* untilStates(tasks, { A: "running", B: "yielded-quiescent", C: "yielded-quiescent" })
    const waiter = yield* Effect.forkChild(Effect.andThen(tasks.awaitQuiescence(0), Effect.sync(() => cWoke)))
    yield* settle // the waiter has registered; A still counts
    yield* start.open
    yield* settle // A ends, K wakes C; K then holds B's region open
    yield* hold.open // K leaves: B ends, and the waiter may complete
    const seen = yield* Fiber.join(waiter)
    yield* tasks.blockTillDone
    return seen
  }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(2))))

/** Runs `k` under `PreventSchedulerYield`. */
const preventYield = (k: Effect.Effect<void>) => Effect.provideService(k, Scheduler.PreventSchedulerYield, true)

/** Runs `k` under a scheduler of its own. */
const underOwnScheduler = (k: Effect.Effect<void>) =>
  Effect.provideService(k, Scheduler.Scheduler, new Scheduler.MixedScheduler())

describe("hand-off: found by the adversarial review", () => {
  it.live("registered <= t is not enough while a woken region has not run: it may register tasks", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const log: Array<string> = []
      const latch = yield* Latch.make(false)
      const release = yield* Latch.make(false)
      yield* tasks.go(
        "B",
        tasks.yieldQuiescent(Effect.gen(function*() {
          yield* latch.await
          log.push("B woke")
          yield* tasks.go("B's work 1", release.await)
          yield* tasks.go("B's work 2", release.await)
        }))
      )
      yield* untilState(tasks, "B", "yielded-quiescent")
      yield* Effect.forkChild(
        Effect.andThen(yieldTimes(20), Effect.andThen(release.open, Effect.sync(() => log.push("released"))))
      )
      yield* latch.open // a wake-up issued before the call
      yield* tasks.awaitQuiescence(1) // registered is 1 here, but B's two tasks will count: 2 > 1
      log.push("quiescent(1)")
      assert.deepStrictEqual(log, ["B woke", "released", "quiescent(1)"])
    }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(2)))))

  it.live("a Queue made inside a region and used by fibers outside the service does not hold quiescence off", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const made = yield* Deferred.make<Queue.Queue<number>>()
      const never = yield* Latch.make(false)
      yield* tasks.go(
        "B",
        tasks.yieldQuiescent(Effect.flatMap(Queue.unbounded<number>(), (q) => Deferred.succeed(made, q)))
      )
      const queue = yield* Deferred.await(made)
      yield* tasks.blockTillDone
      yield* tasks.go("D", tasks.yieldQuiescent(never.await)) // a truly missing dependency
      const taker = yield* Effect.forkChild(Effect.forever(Queue.take(queue)))
      const offerer = yield* Effect.forkChild(Effect.forever(Effect.andThen(Queue.offer(queue, 1), Effect.yieldNow)))
      const result = yield* tasks.awaitQuiescence(0).pipe(Effect.timeoutOption("5 seconds"))
      assert.strictEqual(result._tag, "Some")
      yield* Fiber.interrupt(taker)
      yield* Fiber.interrupt(offerer)
    }).pipe(Effect.provide(fresh())))

  it.live("a child forked in a region under PreventSchedulerYield that wakes another region holds quiescence", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* forkedWaker((k) => Effect.provideService(k, Scheduler.PreventSchedulerYield, true), false))
    }))

  it.live("a child forked in a region under a scheduler of its own holds quiescence (through a Queue or a Latch)", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* forkedWaker(underOwnScheduler, false))
      assert.isTrue(yield* forkedWaker(underOwnScheduler, true))
    }))

  it.live("a child forked before the region is not part of the wait: quiescence still completes", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const never = yield* Latch.make(false)
      yield* tasks.go(
        "B",
        Effect.gen(function*() {
          yield* Effect.forkChild(Effect.provideService(never.await, Scheduler.PreventSchedulerYield, true))
          yield* tasks.yieldQuiescent(never.await)
        })
      )
      const result = yield* tasks.awaitQuiescence(0).pipe(Effect.timeoutOption("5 seconds"))
      assert.strictEqual(result._tag, "Some")
    }).pipe(Effect.provide(fresh())))

  it.live("a child under a scheduler of its own that ends without a step the tracker sees: the waiter still completes", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const never = yield* Latch.make(false)
      yield* tasks.go(
        "B",
        tasks.yieldQuiescent(
          Effect.andThen(underOwnScheduler(Effect.asVoid(Effect.forkChild(Effect.sleep("30 millis")))), never.await)
        )
      )
      const result = yield* tasks.awaitQuiescence(0).pipe(Effect.timeoutOption("5 seconds"))
      assert.strictEqual(result._tag, "Some")
    }).pipe(Effect.provide(fresh())))

  it.live("a fiber forked in a region that outlives it is part of no later wait", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const queue = yield* Queue.unbounded<number>() // made outside the service
      const never = yield* Latch.make(false)
      yield* tasks.go("B", tasks.yieldQuiescent(Effect.asVoid(Effect.forkDetach(Effect.forever(Queue.take(queue))))))
      yield* tasks.blockTillDone // B is over; its daemon takes from the queue forever
      yield* tasks.go("D", tasks.yieldQuiescent(never.await)) // a truly missing dependency
      const offerer = yield* Effect.forkChild(Effect.forever(Effect.andThen(Queue.offer(queue, 1), Effect.yieldNow)))
      const result = yield* tasks.awaitQuiescence(0).pipe(Effect.timeoutOption("5 seconds"))
      assert.strictEqual(result._tag, "Some")
      yield* Fiber.interrupt(offerer)
    }).pipe(Effect.provide(fresh())))

  const spawns: ReadonlyArray<readonly [string, (k: Effect.Effect<void>) => Effect.Effect<void>]> = [
    ["Effect.forkDetach (joined)", (k) => Effect.flatMap(Effect.forkDetach(k), Fiber.join)],
    ["Effect.all with concurrency", (k) => Effect.asVoid(Effect.all([k, Effect.void], { concurrency: 2 }))],
    ["Effect.race", (k) => Effect.race(k, Effect.never)],
    ["Effect.timeoutOption", (k) => Effect.asVoid(Effect.timeoutOption(k, "1 minute"))],
    [
      "a Stream's concurrent stage",
      (k) => Stream.runDrain(Stream.mapEffect(Stream.make(1), () => k, { concurrency: 2 }))
    ]
  ]
  for (const [name, spawn] of spawns) {
    it.live(`a daemon forked by ${name} inside a region, under PreventSchedulerYield or a scheduler of its own, holds quiescence`, () =>
      Effect.gen(function*() {
        assert.isTrue(yield* forkedWaker(preventYield, false, spawn), "PreventSchedulerYield")
        assert.isTrue(yield* forkedWaker(underOwnScheduler, false, spawn), "a scheduler of its own, through a Queue")
        assert.isTrue(yield* forkedWaker(underOwnScheduler, true, spawn), "a scheduler of its own, through a Latch")
      }))
  }

  it.effect("a region fiber that moves between schedulers does not pile up exit observers", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const own = new Scheduler.MixedScheduler()
      const observers = yield* Deferred.make<number>()
      yield* tasks.go(
        "B",
        tasks.yieldQuiescent(Effect.gen(function*() {
          for (let i = 0; i < 200; i++) {
            yield* Effect.provideService(Effect.yieldNow, Scheduler.Scheduler, own)
            yield* Effect.yieldNow
          }
          const fiber = Fiber.getCurrent()!
          yield* Deferred.succeed(observers, ((fiber as any)._observers as Array<unknown> | undefined)?.length ?? 0)
        }))
      )
      // the pool's own exit observer, and none left by the 200 trips
      assert.isAtMost(yield* Deferred.await(observers), 2)
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(fresh())))

  it.live("a truly missing dependency behind Effect.withTracer in a region is still decided", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const never = yield* Latch.make(false)
      yield* tasks.go("B", tasks.yieldQuiescent(Effect.withTracer(never.await, Tracer.nativeTracer)))
      const result = yield* tasks.awaitQuiescence(0).pipe(Effect.timeoutOption("5 seconds"))
      assert.strictEqual(result._tag, "Some")
    }).pipe(Effect.provide(fresh())))
})
