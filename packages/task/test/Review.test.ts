/**
 * Regression tests for defects a review found, each named after its scenario:
 * a coalescer run submitted from inside another task, a re-run's parked time,
 * an interrupted coalescer run's running time, registration times read from
 * the Clock, and how far the hand-off rule reaches (a woken waiter that yields
 * up to two more times; docs/quiescence.md states the limit).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Latch, Metric } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { isolated, ticks } from "./TaskService.helpers.ts"

describe("review: coalescer runs and yieldSlot", () => {
  it.effect("control: a run submitted from outside any task can yield its slot", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const coalescer = yield* Coalescer.make<string>()
      const gate = yield* Deferred.make<void>()
      const otherRan = yield* Deferred.make<void>()
      yield* coalescer.submit("run", "k", tasks.yieldSlot(Deferred.await(gate)))
      yield* ticks(5)
      yield* tasks.go("other", Deferred.succeed(otherRan, undefined))
      yield* ticks(5)
      const states = (yield* tasks.snapshot).map((t) => t.state)
      assert.isTrue(yield* Deferred.isDone(otherRan), `other did not run; states ${states}`)
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a run submitted from inside another task's body can yield its slot", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const coalescer = yield* Coalescer.make<string>()
      const gate = yield* Deferred.make<void>()
      const otherRan = yield* Deferred.make<void>()
      yield* tasks.go("submitter", coalescer.submit("run", "k", tasks.yieldSlot(Deferred.await(gate))))
      yield* ticks(5)
      yield* tasks.go("other", Deferred.succeed(otherRan, undefined))
      yield* ticks(5)
      const snapshot = yield* tasks.snapshot
      assert.isTrue(
        yield* Deferred.isDone(otherRan),
        `other did not run; snapshot ${JSON.stringify(snapshot.map((t) => [t.name, t.state]))}`
      )
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a run submitted from inside another task's body leaves activeCount in yieldQuiescent", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const coalescer = yield* Coalescer.make<string>()
      const gate = yield* Deferred.make<void>()
      yield* tasks.go("submitter", coalescer.submit("run", "k", tasks.yieldQuiescent(Deferred.await(gate))))
      yield* ticks(10)
      assert.strictEqual(yield* tasks.activeCount, 0)
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerUnbounded)))
})

/**
 * Registers (through `register`) a body that never ends, interrupts its fiber
 * once it runs, and waits until the service is idle again.
 */
const interruptNeverEnding = (register: (body: Effect.Effect<never>) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    let fiber: Fiber.Fiber<unknown, unknown> | undefined
    yield* register(
      Effect.withFiber((f) => {
        fiber = f
        return Effect.never
      })
    )
    yield* ticks(5)
    yield* Fiber.interrupt(fiber!)
    yield* tasks.blockTillDone
  })

describe("review: metrics", () => {
  it.effect("control: a plain task whose fiber is interrupted counts one interruption and one running duration", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* interruptNeverEnding((body) => tasks.go("plain", body))
      assert.strictEqual((yield* Metric.value(TaskService.metrics.interrupted)).count, 1)
      assert.strictEqual((yield* Metric.value(TaskService.metrics.runningDuration)).count, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(2)), isolated))

  it.effect("a coalescer run whose fiber is interrupted counts one interruption and observes one running duration", () =>
    Effect.gen(function*() {
      const coalescer = yield* Coalescer.make<string>()
      yield* interruptNeverEnding((body) => coalescer.submit("run", "k", body))
      assert.strictEqual((yield* Metric.value(TaskService.metrics.interrupted)).count, 1)
      assert.strictEqual((yield* Metric.value(TaskService.metrics.started)).count, 1)
      assert.strictEqual((yield* Metric.value(TaskService.metrics.runningDuration)).count, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(2)), isolated))

  it.effect("a coalescer re-run that gets its slot back at once records ~0 s parked", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const coalescer = yield* Coalescer.make<string>()
      yield* coalescer.submit("first", "k", Effect.sleep("10 seconds"))
      yield* ticks(5)
      yield* coalescer.submit("second", "k", Effect.void) // pending: one re-run follows
      yield* TestClock.adjust("10 seconds")
      yield* tasks.blockTillDone
      const parked = yield* Metric.value(TaskService.metrics.parkedDuration)
      assert.strictEqual(parked.count, 2)
      // nothing else is queued and a slot is free: the re-run waits 0 s
      assert.strictEqual(parked.max, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2)), isolated))
})

describe("review: clock", () => {
  it.effect("registeredAt follows the Clock between two registrations", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("a", Effect.never)
      yield* TestClock.adjust("1 second")
      yield* tasks.go("b", Effect.never)
      const [a, b] = yield* tasks.snapshot
      assert.strictEqual(b!.registeredAt - a!.registeredAt, 1000)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))
})

describe("review: more", () => {
  it.live("on the live clock, the second registration of a turn reads the clock again after long synchronous work", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("a", Effect.never)
      yield* Effect.sync(() => {
        const until = Date.now() + 50
        while (Date.now() < until) {
          // busy: 50 ms of synchronous work, no microtask checkpoint
        }
      })
      yield* tasks.go("b", Effect.never)
      const [a, b] = yield* tasks.snapshot
      assert.isAtLeast(b!.registeredAt - a!.registeredAt, 50)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  for (const extra of [0, 1, 2]) {
    it.effect(`hand-off: woken waiter yields ${extra} more times inside yieldQuiescent`, () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const latch = yield* Latch.make(false)
        let leafDone = false
        yield* tasks.go(
          "leaf",
          Effect.gen(function*() {
            yield* tasks.yieldQuiescent(Effect.gen(function*() {
              yield* latch.await
              for (let i = 0; i < extra; i++) yield* Effect.yieldNow
            }))
            leafDone = true
          })
        )
        yield* tasks.go("src", Effect.andThen(ticks(3), latch.open))
        yield* ticks(2)
        yield* tasks.awaitQuiescence(0)
        assert.isTrue(leafDone)
      }).pipe(Effect.provide(TaskService.layerBounded(4))))
  }

  it.effect("hand-off: dependency wait with a timeout (Effect.timeout around Deferred.await)", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const dep = yield* Deferred.make<void>()
      let leafDone = false
      yield* tasks.go(
        "leaf",
        Effect.gen(function*() {
          yield* tasks.yieldQuiescent(Effect.timeout(Deferred.await(dep), "1 minute"))
          leafDone = true
        })
      )
      yield* tasks.go("src", Effect.andThen(ticks(3), Deferred.succeed(dep, undefined)))
      yield* ticks(2)
      yield* tasks.awaitQuiescence(0)
      assert.isTrue(leafDone)
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("hand-off: dependency wait through a forked child (Fiber.join)", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const latch = yield* Latch.make(false)
      let leafDone = false
      yield* tasks.go(
        "leaf",
        Effect.gen(function*() {
          yield* tasks.yieldQuiescent(Effect.gen(function*() {
            const child = yield* Effect.forkChild(Effect.andThen(latch.await, Effect.yieldNow))
            yield* Fiber.join(child)
          }))
          leafDone = true
        })
      )
      yield* tasks.go("src", Effect.andThen(ticks(3), latch.open))
      yield* ticks(2)
      yield* tasks.awaitQuiescence(0)
      assert.isTrue(leafDone)
    }).pipe(Effect.provide(TaskService.layerBounded(4))))
})
