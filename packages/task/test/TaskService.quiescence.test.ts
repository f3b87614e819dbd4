import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Latch, Stream } from "effect"
import { TaskService } from "effect-task"
import { isDone } from "./helpers/exits.ts"
import { collectChanges } from "./helpers/service.ts"
import { settle, until, untilActive, untilRunning, untilState } from "./helpers/waits.ts"

describe("TaskService.blockTillDone", () => {
  it.effect("completes at once when no task is registered", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const waiter = yield* Effect.forkChild(tasks.blockTillDone, { startImmediately: true })
      assert.isTrue(isDone(waiter))
      // and again after some tasks came and went
      yield* tasks.go("a", Effect.void)
      yield* tasks.blockTillDone
      const again = yield* Effect.forkChild(tasks.blockTillDone, { startImmediately: true })
      assert.isTrue(isDone(again))
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("waits for a task registered while it waits", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const events: Array<string> = []
      const first = yield* Latch.make(false)
      const second = yield* Latch.make(false)
      yield* tasks.go("first", Effect.andThen(first.await, Effect.sync(() => events.push("first"))))
      const waiter = yield* Effect.forkChild(
        Effect.andThen(tasks.blockTillDone, Effect.sync(() => events.push("done")))
      )
      yield* untilRunning(tasks, "first")
      yield* tasks.go("second", Effect.andThen(second.await, Effect.sync(() => events.push("second"))))
      yield* first.open
      yield* until("first has ended", () => events.includes("first"))
      yield* settle // the waiter must not complete while second runs
      assert.deepStrictEqual(events, ["first"])
      assert.isFalse(isDone(waiter))
      yield* second.open
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(events, ["first", "second", "done"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("waits for a task that a finishing task registers from its own body", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const events: Array<string> = []
      const gate = yield* Latch.make(false)
      const childGate = yield* Latch.make(false)
      yield* tasks.go(
        "parent",
        Effect.gen(function*() {
          yield* gate.await
          yield* tasks.go("child", Effect.andThen(childGate.await, Effect.sync(() => events.push("child"))))
          events.push("parent")
        })
      )
      const waiter = yield* Effect.forkChild(
        Effect.andThen(tasks.blockTillDone, Effect.sync(() => events.push("done")))
      )
      yield* untilRunning(tasks, "parent")
      yield* gate.open
      yield* until("parent has ended", () => events.includes("parent"))
      yield* settle // the waiter must not complete while child runs
      assert.deepStrictEqual(events, ["parent"])
      assert.isFalse(isDone(waiter))
      yield* childGate.open
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(events, ["parent", "child", "done"])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("waits for tasks inside yieldQuiescent although activeCount reads 0", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const events: Array<string> = []
      const gate = yield* Latch.make(false)
      yield* tasks.go(
        "dependent",
        Effect.andThen(tasks.yieldQuiescent(gate.await), Effect.sync(() => events.push("dependent")))
      )
      yield* untilState(tasks, "dependent", "yielded-quiescent")
      assert.strictEqual(yield* tasks.activeCount, 0)
      const waiter = yield* Effect.forkChild(
        Effect.andThen(tasks.blockTillDone, Effect.sync(() => events.push("done")))
      )
      yield* settle // the waiter must not complete while dependent waits
      assert.isFalse(isDone(waiter))
      yield* gate.open
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(events, ["dependent", "done"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("failures is up to date when it returns", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      yield* tasks.go("fails-late", Effect.andThen(gate.await, Effect.fail("late")))
      yield* tasks.go("dies-late", Effect.andThen(gate.await, Effect.die("late")))
      yield* tasks.go("ok", gate.await)
      const waiter = yield* Effect.forkChild(Effect.andThen(tasks.blockTillDone, tasks.failures))
      yield* untilRunning(tasks, "dies-late") // both slots taken, "ok" parked
      yield* gate.open
      assert.strictEqual(yield* Fiber.join(waiter), 2)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("several waiters all complete together when the last task ends", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      yield* tasks.go("t", gate.await)
      const waiters = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(tasks.blockTillDone))
      yield* settle // they all wait for t
      assert.deepStrictEqual(waiters.map(isDone), [false, false, false])
      yield* gate.open
      yield* Fiber.joinAll(waiters)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})

describe("TaskService.awaitQuiescence", () => {
  it.effect("completes at once when activeCount is already at or below the threshold", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      yield* tasks.go("a", gate.await)
      yield* tasks.go("b", gate.await)
      yield* untilActive(tasks, 2)
      for (const threshold of [2, 3, 100]) {
        const waiter = yield* Effect.forkChild(tasks.awaitQuiescence(threshold), { startImmediately: true })
        assert.isTrue(isDone(waiter), `threshold ${threshold}`)
      }
      const below = yield* Effect.forkChild(tasks.awaitQuiescence(1), { startImmediately: true })
      yield* settle // count 2 > 1
      assert.isFalse(isDone(below))
      yield* gate.open
      yield* Fiber.join(below)
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("completes at once on an idle service with threshold 0", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const waiter = yield* Effect.forkChild(tasks.awaitQuiescence(0), { startImmediately: true })
      assert.isTrue(isDone(waiter))
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("each waiter fires on the decrement that reaches its threshold, independently of the others", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gates = yield* Effect.forEach([0, 1, 2], () => Latch.make(false))
      for (const [i, gate] of gates.entries()) yield* tasks.go(`t${i}`, gate.await)
      yield* untilRunning(tasks, "t2")
      const fired: Array<string> = []
      const waiter = (label: string, threshold: number) =>
        Effect.forkChild(Effect.andThen(tasks.awaitQuiescence(threshold), Effect.sync(() => fired.push(label))))
      const w2 = yield* waiter("t2", 2)
      const w1a = yield* waiter("t1a", 1)
      const w1b = yield* waiter("t1b", 1)
      const w0 = yield* waiter("t0", 0)
      const interrupted = yield* waiter("t1-interrupted", 1)
      yield* settle // count 3: none fires
      assert.deepStrictEqual(fired, [])
      yield* Fiber.interrupt(interrupted)

      yield* gates[0]!.open
      yield* Fiber.join(w2)
      yield* settle // the others stay
      assert.deepStrictEqual(fired, ["t2"])

      yield* gates[1]!.open
      yield* Fiber.joinAll([w1a, w1b])
      yield* settle // t0 stays, the interrupted one never fires
      assert.deepStrictEqual(fired.toSorted(), ["t1a", "t1b", "t2"])

      yield* gates[2]!.open
      yield* Fiber.join(w0)
      assert.deepStrictEqual(fired.toSorted(), ["t0", "t1a", "t1b", "t2"])
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("a waiter completes when the count drops because a task enters yieldQuiescent", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const enter = yield* Latch.make(false)
      const leave = yield* Latch.make(false)
      yield* tasks.go("t", Effect.andThen(enter.await, tasks.yieldQuiescent(leave.await)))
      yield* untilRunning(tasks, "t")
      const waiter = yield* Effect.forkChild(tasks.awaitQuiescence(0))
      yield* settle // count 1 > 0
      assert.isFalse(isDone(waiter))
      yield* enter.open
      yield* Fiber.join(waiter)
      assert.strictEqual(yield* tasks.activeCount, 0)
      yield* leave.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a negative threshold never completes, not even on an idle service", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const idle = yield* Effect.forkChild(tasks.awaitQuiescence(-1))
      yield* tasks.go("t", Effect.yieldNow)
      yield* tasks.blockTillDone
      const late = yield* Effect.forkChild(tasks.awaitQuiescence(-5))
      yield* settle // neither ever completes
      assert.isFalse(isDone(idle))
      assert.isFalse(isDone(late))
      yield* Fiber.interrupt(idle)
      yield* Fiber.interrupt(late)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a body reading activeCount counts itself; awaitQuiescence(1) from inside means nobody else", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const seen: Array<number> = []
      const other = yield* Latch.make(false)
      yield* tasks.go("other", other.await)
      yield* tasks.go(
        "self",
        Effect.gen(function*() {
          seen.push(yield* tasks.activeCount)
          yield* tasks.awaitQuiescence(1)
          seen.push(yield* tasks.activeCount)
          seen.push(yield* tasks.yieldQuiescent(tasks.activeCount))
        })
      )
      yield* until("self has read activeCount", () => seen.length === 1)
      yield* settle // self waits for other
      assert.deepStrictEqual(seen, [2])
      yield* other.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(seen, [2, 1, 0])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("10,000 interrupted waiters, in five rounds, leave nothing behind", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      yield* tasks.go("holder", gate.await)
      yield* untilRunning(tasks, "holder")
      for (let round = 0; round < 5; round++) {
        const waiters = yield* Effect.forEach(
          Array.from({ length: 2_000 }, (_, i) => i),
          (i) => Effect.forkChild(tasks.awaitQuiescence(i % 2 === 0 ? 0 : -1), { startImmediately: true })
        )
        assert.isFalse(waiters.some(isDone))
        yield* Fiber.interruptAll(waiters)
      }
      // a waiter registered afterwards still works, and the interrupted ones never fire
      const fired: Array<string> = []
      const later = yield* Effect.forkChild(
        Effect.andThen(tasks.awaitQuiescence(0), Effect.sync(() => fired.push("later")))
      )
      yield* settle // the holder still runs
      assert.deepStrictEqual(fired, [])
      yield* gate.open
      yield* Fiber.join(later)
      assert.deepStrictEqual(fired, ["later"])
      // and the next cycle too
      const gate2 = yield* Latch.make(false)
      yield* tasks.go("holder-2", gate2.await)
      const again = yield* Effect.forkChild(tasks.awaitQuiescence(0))
      yield* settle // holder-2 still runs
      assert.isFalse(isDone(again))
      yield* gate2.open
      yield* Fiber.join(again)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("an interrupted high-threshold waiter does not make later low-threshold waiters fire early", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gates = yield* Effect.forEach([0, 1, 2], () => Latch.make(false))
      for (const [i, gate] of gates.entries()) yield* tasks.go(`t${i}`, gate.await)
      yield* untilRunning(tasks, "t2")
      const high = yield* Effect.forkChild(tasks.awaitQuiescence(2))
      yield* settle // the high waiter has registered
      yield* Fiber.interrupt(high)
      const low = yield* Effect.forkChild(tasks.awaitQuiescence(0))
      yield* gates[0]!.open
      yield* untilActive(tasks, 2)
      yield* settle // count 2 > 0
      assert.isFalse(isDone(low))
      yield* gates[1]!.open
      yield* untilActive(tasks, 1)
      yield* settle // count 1 > 0
      assert.isFalse(isDone(low))
      yield* gates[2]!.open
      yield* Fiber.join(low)
    }).pipe(Effect.provide(TaskService.layerBounded(4))))
})

describe("TaskService.activeChanges", () => {
  it.effect("emits the current count first, then every change", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gates = yield* Effect.forEach([0, 1, 2], () => Latch.make(false))
      yield* tasks.go("t0", gates[0]!.await)
      yield* tasks.go("t1", gates[1]!.await)
      const changes = yield* collectChanges(tasks, 6)
      yield* tasks.go("t2", gates[2]!.await)
      for (const [i, gate] of gates.entries()) {
        yield* gate.open
        yield* untilActive(tasks, 2 - i)
      }
      yield* tasks.go("t3", Effect.void)
      assert.deepStrictEqual(yield* Fiber.join(changes), [2, 3, 2, 1, 0, 1])
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("reports a burst of synchronous changes one by one", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      const changes = yield* collectChanges(tasks, 101)
      for (let i = 0; i < 100; i++) yield* tasks.go(`t${i}`, gate.await)
      assert.deepStrictEqual(yield* Fiber.join(changes), Array.from({ length: 101 }, (_, i) => i))
      yield* gate.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("reports a task leaving and rejoining the count around yieldQuiescent", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const inner = yield* Latch.make(false)
      const changes = yield* collectChanges(tasks, 5)
      yield* tasks.go("t", tasks.yieldQuiescent(inner.await))
      yield* untilState(tasks, "t", "yielded-quiescent")
      yield* inner.open
      assert.deepStrictEqual(yield* Fiber.join(changes), [0, 1, 0, 1, 0])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("two subscribers each see their own current value first", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      const early = yield* collectChanges(tasks, 4)
      yield* tasks.go("a", gate.await)
      yield* tasks.go("b", gate.await)
      const late = yield* collectChanges(tasks, 3)
      yield* gate.open
      assert.deepStrictEqual(yield* Fiber.join(early), [0, 1, 2, 1])
      assert.deepStrictEqual(yield* Fiber.join(late), [2, 1, 0])
    }).pipe(Effect.provide(TaskService.layerBounded(4))))

  it.effect("a stream that is taken from and stopped keeps later subscribers working", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const first = yield* Stream.runCollect(Stream.take(tasks.activeChanges, 1))
      assert.deepStrictEqual(first, [0])
      const gate = yield* Latch.make(false)
      yield* tasks.go("a", gate.await)
      const second = yield* Stream.runCollect(Stream.take(tasks.activeChanges, 1))
      assert.deepStrictEqual(second, [1])
      yield* gate.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(4))))
})
