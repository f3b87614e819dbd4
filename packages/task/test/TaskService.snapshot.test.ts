/**
 * `snapshot`: every live task with its id, name, state and the Clock times of
 * its registration and of its last state change.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Latch, Metric, Scope } from "effect"
import { TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { ownedService } from "./helpers/service.ts"
import { settle, untilGone, untilRunning, untilState, untilStates } from "./helpers/waits.ts"

describe("TaskService.snapshot", () => {
  it.effect("lists each task with its state, name, registration time and state time from the Clock", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const aGate = yield* Latch.make(false)
      const bGate = yield* Latch.make(false)
      const cGate = yield* Latch.make(false)
      const eGate = yield* Latch.make(false)
      yield* tasks.go("A", tasks.yieldSlot(aGate.await))
      yield* untilState(tasks, "A", "yielded-slot")
      yield* TestClock.adjust("1 second")
      yield* tasks.go("C", tasks.yieldQuiescent(cGate.await))
      yield* untilState(tasks, "C", "yielded-quiescent")
      yield* TestClock.adjust("1 second")
      yield* tasks.go("B", bGate.await)
      yield* untilRunning(tasks, "B")
      yield* TestClock.adjust("1 second")
      yield* tasks.go("E", eGate.await)
      yield* untilRunning(tasks, "E")
      yield* TestClock.adjust("1 second")
      yield* tasks.go("D", Effect.void)
      yield* settle // D stays parked: both slots are taken
      assert.deepStrictEqual(yield* tasks.snapshot, [
        { id: 1, name: "A", state: "yielded-slot", registeredAt: 0, stateSince: 0 },
        { id: 2, name: "C", state: "yielded-quiescent", registeredAt: 1000, stateSince: 1000 },
        { id: 3, name: "B", state: "running", registeredAt: 2000, stateSince: 2000 },
        { id: 4, name: "E", state: "running", registeredAt: 3000, stateSince: 3000 },
        { id: 5, name: "D", state: "parked", registeredAt: 4000, stateSince: 4000 }
      ])
      assert.strictEqual(yield* tasks.activeCount, 4)

      // A's effect ends while both slots are taken: A waits for a slot, behind D
      yield* TestClock.adjust("1 second")
      yield* aGate.open
      yield* untilState(tasks, "A", "parked")
      const afterA = yield* tasks.snapshot
      assert.deepStrictEqual(afterA.find((task) => task.name === "A"), {
        id: 1,
        name: "A",
        state: "parked",
        registeredAt: 0,
        stateSince: 5000
      })

      // E ends: D starts, then A gets its slot back and ends
      yield* TestClock.adjust("1 second")
      yield* eGate.open
      yield* untilGone(tasks, "A")
      yield* untilGone(tasks, "D")
      assert.deepStrictEqual(yield* tasks.snapshot, [
        { id: 2, name: "C", state: "yielded-quiescent", registeredAt: 1000, stateSince: 1000 },
        { id: 3, name: "B", state: "running", registeredAt: 2000, stateSince: 2000 }
      ])
      yield* bGate.open
      yield* cGate.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(yield* tasks.snapshot, [])
      // ids keep increasing
      yield* tasks.go("F", Effect.never)
      const [f] = yield* tasks.snapshot
      assert.strictEqual(f!.id, 6)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  // A regression test: task times were once stored as `(clock - epoch) | 0`,
  // which wraps to a negative number once the service has lived 2^31 ms
  // (24.8 days; observed -2134967296 instead of 2160000000).
  it.effect("times stay exact epoch millis for a service that has lived longer than 2^31 ms (24.8 days)", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const day = 24 * 60 * 60 * 1000
      yield* TestClock.adjust("25 days")
      yield* tasks.go("late", Effect.never)
      yield* untilRunning(tasks, "late")
      assert.deepStrictEqual(yield* tasks.snapshot, [
        { id: 1, name: "late", state: "running", registeredAt: 25 * day, stateSince: 25 * day }
      ])
      yield* TestClock.adjust("25 days")
      yield* tasks.go("later", Effect.never)
      assert.deepStrictEqual((yield* tasks.snapshot).map((task) => task.registeredAt), [25 * day, 50 * day])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("times follow the Clock when it starts far from 0", () =>
    Effect.gen(function*() {
      const start = Date.UTC(2026, 10, 28, 12, 0, 0)
      yield* TestClock.setTime(start)
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(1))
      yield* TestClock.adjust("90 minutes")
      yield* tasks.go("a", Effect.never)
      yield* tasks.go("b", Effect.never)
      yield* untilStates(tasks, { a: "running", b: "parked" })
      assert.deepStrictEqual(yield* tasks.snapshot, [
        { id: 1, name: "a", state: "running", registeredAt: start + 5_400_000, stateSince: start + 5_400_000 },
        { id: 2, name: "b", state: "parked", registeredAt: start + 5_400_000, stateSince: start + 5_400_000 }
      ])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a parked task that starts later reports when it started", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      const second = yield* Latch.make(false)
      yield* tasks.go("first", gate.await)
      yield* tasks.go("second", second.await)
      yield* untilStates(tasks, { first: "running", second: "parked" })
      yield* TestClock.adjust("3 seconds")
      yield* gate.open
      yield* untilRunning(tasks, "second")
      assert.deepStrictEqual(yield* tasks.snapshot, [
        { id: 2, name: "second", state: "running", registeredAt: 0, stateSince: 3000 }
      ])
      yield* second.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(1))))
})

describe("task times through a service", () => {
  it.effect("under TestClock a registration after a burst reads the clock anew", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      for (let i = 0; i < 100; i++) yield* tasks.go(`quick-${i}`, Effect.never)
      yield* TestClock.adjust("1 second")
      yield* tasks.go("late", Effect.never)
      const snapshot = yield* tasks.snapshot
      assert.strictEqual(snapshot.length, 101)
      assert.strictEqual(snapshot[99]!.registeredAt, 0)
      assert.strictEqual(snapshot[100]!.name, "late")
      assert.strictEqual(snapshot[100]!.registeredAt, 1000)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("under TestClock every task time is exact: a start after an adjust shows the adjusted time", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("first", Effect.sleep("3 seconds"))
      yield* tasks.go("second", Effect.never)
      yield* TestClock.adjust("3 seconds")
      const [second] = yield* tasks.snapshot
      assert.strictEqual(second!.name, "second")
      assert.strictEqual(second!.state, "running")
      assert.strictEqual(second!.registeredAt, 0)
      assert.strictEqual(second!.stateSince, 3000)
      const parked = yield* Metric.value(TaskService.metrics.parkedDuration)
      assert.strictEqual(parked.count, 2)
      assert.strictEqual(parked.max, 3)
    }).pipe(
      Effect.provide(TaskService.layerBounded(1)),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))
})

describe("task times read the Clock at every registration (found by review)", () => {
  it.effect("registeredAt follows the Clock between two registrations", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("a", Effect.never)
      yield* TestClock.adjust("1 second")
      yield* tasks.go("b", Effect.never)
      const [a, b] = yield* tasks.snapshot
      assert.strictEqual(b!.registeredAt - a!.registeredAt, 1000)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  // real time on purpose: the live clock's shared reading must not outlast long synchronous work
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
})
