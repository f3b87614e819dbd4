import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Latch, Layer } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"
import { interruptedChild, isDone } from "./helpers/exits.ts"
import { Gauge, releasing, tracked, untilRunningBodies, untilStarted } from "./helpers/gauge.ts"
import { collectChanges } from "./helpers/service.ts"
import { settle, until, untilDone, untilState, yieldTimes } from "./helpers/waits.ts"

type Outcome = "success" | "failure" | "defect" | "interruption"

const outcomes: ReadonlyArray<readonly [Outcome, Effect.Effect<string, string>]> = [
  ["success", Effect.succeed("ok")],
  ["failure", Effect.fail("typed")],
  ["defect", Effect.die("defect")],
  ["interruption", interruptedChild]
]

/** Submits `count` gated bodies and checks exactly `expected` of them start, then lets them finish. */
const freshBatch = (tasks: TaskServiceShape, gauge: Gauge, count: number, expected: number) =>
  Effect.gen(function*() {
    const gate = yield* Latch.make(false)
    const before = gauge.started
    for (let i = 0; i < count; i++) yield* tasks.go(`fresh${i}`, tracked(gauge, `fresh${i}`, gate.await))
    yield* untilStarted(gauge, before + expected)
    yield* settle // and no more
    assert.strictEqual(gauge.started - before, expected)
    return gate
  })

/** No slot leaked or gained: of a fresh batch of `count` gated tasks exactly `bound` start, and never more. */
const boundStillExact = (tasks: TaskServiceShape, gauge: Gauge, count: number, bound: number) =>
  Effect.gen(function*() {
    const batch = yield* freshBatch(tasks, gauge, count, bound)
    yield* batch.open
    yield* tasks.blockTillDone
    assert.strictEqual(gauge.high, bound)
  })

/**
 * Task "T" runs `body`, which yields its slot around a gated `inner`; once T
 * is in `yielded-slot`, a batch of two takes both slots, the gate opens and T
 * parks, waiting for its slot. Returns the batch (its gate still closed).
 */
const parkedBehindFullSlots = (
  tasks: TaskServiceShape,
  gauge: Gauge,
  inner: Effect.Effect<string, string>,
  body: (yielded: Effect.Effect<string, string>) => Effect.Effect<void, string>
) =>
  Effect.gen(function*() {
    const innerGate = yield* Latch.make(false)
    yield* tasks.go(
      "T",
      tracked(gauge, "T", body(releasing(gauge, tasks, "slot", Effect.andThen(innerGate.await, inner))))
    )
    yield* untilState(tasks, "T", "yielded-slot")
    const fill = yield* freshBatch(tasks, gauge, 2, 2)
    yield* innerGate.open
    yield* untilState(tasks, "T", "parked")
    return fill
  })

const captureFiber = (ref: { fiber?: Fiber.Fiber<unknown, unknown> }) =>
  Effect.withFiber((fiber) => Effect.sync(() => (ref.fiber = fiber)))

/**
 * The body of task "T": an `outer` yield (tracked by `gauge`) around an
 * `inner` one. It records `activeCount` before, inside and after the inner
 * yield in `counts`, and — once `gate` opens — the bodies started so far in
 * `seen`.
 */
const nestedYields = (
  tasks: TaskServiceShape,
  gauge: Gauge,
  outer: "slot" | "quiescent",
  inner: "slot" | "quiescent",
  gate: Latch.Latch,
  counts: Array<number>,
  seen: Array<ReadonlyArray<string>>
) => {
  const yieldInner = <A, E, R>(self: Effect.Effect<A, E, R>) =>
    inner === "slot" ? tasks.yieldSlot(self) : tasks.yieldQuiescent(self)
  return tracked(
    gauge,
    "T",
    releasing(
      gauge,
      tasks,
      outer,
      Effect.gen(function*() {
        counts.push(yield* tasks.activeCount)
        yield* yieldInner(
          Effect.gen(function*() {
            counts.push(yield* tasks.activeCount)
            yield* gate.await
            yield* yieldTimes(10) // time for a wrongly freed slot to be taken
            seen.push([...gauge.starts])
          })
        )
        counts.push(yield* tasks.activeCount)
      })
    )
  )
}

describe("TaskService.yieldSlot", () => {
  it.effect("two parents filling a bound of 2 can wait for children they started", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const events: Array<string> = []
      const bothRunning = yield* Latch.make(false)
      const parent = (name: string) =>
        tracked(
          gauge,
          name,
          Effect.gen(function*() {
            yield* bothRunning.await
            const done = yield* Deferred.make<string>()
            yield* tasks.go(
              `${name}-child`,
              tracked(gauge, `${name}-child`, Deferred.succeed(done, `${name}-child`))
            )
            const result = yield* releasing(gauge, tasks, "slot", Deferred.await(done))
            events.push(`${name} got ${result}`)
          })
        )
      yield* tasks.go("p1", parent("p1"))
      yield* tasks.go("p2", parent("p2"))
      yield* untilRunningBodies(gauge, 2)
      yield* bothRunning.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(gauge.starts.slice(0, 2), ["p1", "p2"])
      assert.deepStrictEqual(events.toSorted(), ["p1 got p1-child", "p2 got p2-child"])
      assert.strictEqual(gauge.high, 2)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("without yieldSlot the same two parents leave their children parked (the deadlock yieldSlot avoids)", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const bothRunning = yield* Latch.make(false)
      const parent = (name: string) =>
        tracked(
          gauge,
          name,
          Effect.gen(function*() {
            yield* bothRunning.await
            const done = yield* Deferred.make<void>()
            yield* tasks.go(`${name}-child`, tracked(gauge, `${name}-child`, Deferred.succeed(done, undefined)))
            yield* Deferred.await(done)
          })
        )
      yield* tasks.go("p1", parent("p1"))
      yield* tasks.go("p2", parent("p2"))
      yield* untilRunningBodies(gauge, 2)
      yield* bothRunning.open
      yield* untilStarted(gauge, 2)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["p1", "p2"])
      assert.strictEqual(yield* tasks.activeCount, 4)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  describe("the slot comes back however the inner effect ends, and the bound stays exact", () => {
    for (const [outcome, inner] of outcomes) {
      it.effect(`after ${outcome}`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const gauge = new Gauge()
          const holdGate = yield* Latch.make(false)
          const events: Array<string> = []
          // while T is yielded, two others take both slots
          const fill = yield* parkedBehindFullSlots(tasks, gauge, inner, (yielded) =>
            Effect.gen(function*() {
              const exit = yield* Effect.exit(yielded)
              events.push(Exit.isSuccess(exit) ? "T:success" : "T:failure")
              yield* holdGate.await
            }))
          yield* settle // T must not come back while both slots are taken
          assert.deepStrictEqual(events, [], "T waits for its slot while both are taken")
          yield* fill.open
          yield* until("events has 1 entries", () => events.length === 1)
          assert.deepStrictEqual(events, [outcome === "success" ? "T:success" : "T:failure"])
          // T holds a slot again: exactly one of a fresh batch can start
          gauge.resetHigh()
          const batch = yield* freshBatch(tasks, gauge, 5, 1)
          assert.strictEqual(gauge.high, 2)
          yield* holdGate.open
          yield* batch.open
          yield* tasks.blockTillDone
          assert.strictEqual(gauge.high, 2)
          assert.strictEqual(yield* tasks.failures, 0)
          // and the service is still exact for a new batch
          yield* boundStillExact(tasks, gauge, 6, 2)
        }).pipe(Effect.provide(TaskService.layerBounded(2))))
    }
  })

  describe("a task interrupted while waiting to get its slot back leaks nothing and ends interrupted, whatever self returned", () => {
    for (const [outcome, inner] of outcomes.filter(([kind]) => kind !== "interruption")) {
      it.effect(`after ${outcome}`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const gauge = new Gauge()
          const ref: { fiber?: Fiber.Fiber<unknown, unknown> } = {}
          const events: Array<string> = []
          const fill = yield* parkedBehindFullSlots(tasks, gauge, inner, (yielded) =>
            Effect.gen(function*() {
              yield* captureFiber(ref)
              yield* yielded
              events.push("T:back")
            }))
          // T is queued for its slot: interrupt it there
          yield* Fiber.interrupt(ref.fiber!)
          const exit = yield* Fiber.await(ref.fiber!)
          // the interruption alone: the task counts as interrupted, not as failed
          assert.deepStrictEqual(Exit.isFailure(exit) ? exit.cause.reasons.map((reason) => reason._tag) : [], [
            "Interrupt"
          ])
          assert.strictEqual(yield* tasks.activeCount, 2)
          yield* fill.open
          yield* tasks.blockTillDone
          assert.deepStrictEqual(events, [])
          assert.strictEqual(yield* tasks.failures, 0)
          gauge.resetHigh()
          yield* boundStillExact(tasks, gauge, 7, 2)
        }).pipe(Effect.provide(TaskService.layerBounded(2))))
    }
  })

  it.effect("a task interrupted while its inner effect runs leaks nothing", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const ref: { fiber?: Fiber.Fiber<unknown, unknown> } = {}
      yield* tasks.go(
        "T",
        tracked(gauge, "T", Effect.andThen(captureFiber(ref), releasing(gauge, tasks, "slot", Effect.never)))
      )
      yield* until("the body runs", () => ref.fiber !== undefined)
      yield* untilState(tasks, "T", "yielded-slot")
      yield* Fiber.interrupt(ref.fiber!)
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.failures, 0)
      yield* boundStillExact(tasks, gauge, 7, 2)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a body that interrupts itself inside yieldSlot leaks nothing", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      yield* tasks.go("T", tasks.yieldSlot(Effect.andThen(Effect.yieldNow, Effect.interrupt)))
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.failures, 0)
      yield* boundStillExact(tasks, gauge, 7, 2)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("many tasks yielding repeatedly never exceed the bound", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      for (let i = 0; i < 20; i++) {
        yield* tasks.go(
          `t${i}`,
          tracked(
            gauge,
            `t${i}`,
            Effect.gen(function*() {
              for (let j = 0; j < 5; j++) {
                yield* Effect.yieldNow
                yield* releasing(gauge, tasks, "slot", Effect.andThen(Effect.yieldNow, Effect.yieldNow))
              }
            })
          )
        )
      }
      yield* tasks.blockTillDone
      assert.strictEqual(gauge.finished, 20)
      assert.strictEqual(gauge.high, 3)
    }).pipe(Effect.provide(TaskService.layerBounded(3))))

  describe("runs the effect unchanged where it holds no slot", () => {
    it.effect("outside any task: returns the value, keeps the failure, frees no slot", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gauge = new Gauge()
        const gate = yield* Latch.make(false)
        yield* tasks.go("holder", tracked(gauge, "holder", gate.await))
        yield* tasks.go("parked", tracked(gauge, "parked", Effect.void))
        yield* untilStarted(gauge, 1)
        const value = yield* tasks.yieldSlot(Effect.andThen(yieldTimes(10), Effect.succeed(42)))
        assert.strictEqual(value, 42)
        const exit = yield* Effect.exit(tasks.yieldSlot(Effect.fail("outside")))
        assert.deepStrictEqual(exit, Exit.fail("outside"))
        assert.deepStrictEqual(gauge.starts, ["holder"])
        assert.strictEqual(yield* tasks.activeCount, 2)
        yield* gate.open
        yield* tasks.blockTillDone
        assert.strictEqual(gauge.high, 1)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("on a child fiber the body forked: frees no slot", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gauge = new Gauge()
        const seen: Array<string> = []
        yield* tasks.go(
          "body",
          tracked(
            gauge,
            "body",
            Effect.gen(function*() {
              const child = yield* Effect.forkChild(
                tasks.yieldSlot(Effect.andThen(yieldTimes(10), Effect.sync(() => [...gauge.starts])))
              )
              seen.push(...(yield* Fiber.join(child)))
            })
          )
        )
        yield* untilStarted(gauge, 1)
        yield* tasks.go("parked", tracked(gauge, "parked", Effect.void))
        yield* tasks.blockTillDone
        assert.deepStrictEqual(seen, ["body"])
        assert.deepStrictEqual(gauge.starts, ["body", "parked"])
        assert.strictEqual(gauge.high, 1)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("nested: the inner yieldSlot frees nothing more", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gauge = new Gauge()
        const inner = yield* Latch.make(false)
        const p1Gate = yield* Latch.make(false)
        const seen: Array<ReadonlyArray<string>> = []
        yield* tasks.go("T", nestedYields(tasks, gauge, "slot", "slot", inner, [], seen))
        yield* untilStarted(gauge, 1)
        yield* tasks.go("P1", tracked(gauge, "P1", p1Gate.await))
        yield* tasks.go("P2", tracked(gauge, "P2", Effect.void))
        yield* inner.open
        yield* until("seen has 1 entries", () => seen.length === 1)
        assert.deepStrictEqual(seen, [["T", "P1"]])
        yield* p1Gate.open
        yield* tasks.blockTillDone
        assert.deepStrictEqual(gauge.starts, ["T", "P1", "P2"])
        assert.strictEqual(gauge.high, 1)
        yield* boundStillExact(tasks, gauge, 4, 1)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("on an unbounded service: same value, same count, nothing else changes", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const seen: Array<number | string> = []
        yield* tasks.go(
          "T",
          Effect.gen(function*() {
            seen.push(yield* tasks.yieldSlot(tasks.activeCount))
            const exit = yield* Effect.exit(tasks.yieldSlot(Effect.fail("e")))
            seen.push(Exit.isFailure(exit) ? "failed" : "succeeded")
            seen.push(yield* tasks.activeCount)
          })
        )
        yield* tasks.blockTillDone
        assert.deepStrictEqual(seen, [1, "failed", 1])
        assert.strictEqual(yield* tasks.failures, 0)
      }).pipe(Effect.provide(Layer.fresh(TaskService.layerUnbounded))))
  })

  it.effect("the task stays counted in activeCount while it is yielded", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const seen: Array<number> = []
      const other = yield* Latch.make(false)
      yield* tasks.go("other", other.await)
      yield* tasks.go(
        "T",
        tasks.yieldSlot(Effect.andThen(Effect.yieldNow, tasks.activeCount)).pipe(Effect.map((n) => seen.push(n)))
      )
      yield* until("seen has 1 entries", () => seen.length === 1)
      assert.deepStrictEqual(seen, [2])
      yield* other.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(4))))
})

describe("TaskService.yieldQuiescent", () => {
  describe("the task leaves the count while the effect runs and comes back however it ends", () => {
    for (const [outcome, inner] of outcomes) {
      it.effect(`after ${outcome}`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const innerGate = yield* Latch.make(false)
          const seen: Array<number> = []
          const changes = yield* collectChanges(tasks, 5)
          yield* tasks.go(
            "T",
            Effect.gen(function*() {
              yield* Effect.exit(tasks.yieldQuiescent(Effect.andThen(innerGate.await, inner)))
              seen.push(yield* tasks.activeCount)
            })
          )
          yield* untilState(tasks, "T", "yielded-quiescent")
          assert.strictEqual(yield* tasks.activeCount, 0)
          yield* innerGate.open
          yield* tasks.blockTillDone
          assert.deepStrictEqual(seen, [1])
          assert.deepStrictEqual(yield* Fiber.join(changes), [0, 1, 0, 1, 0])
          assert.strictEqual(yield* tasks.failures, 0)
        }).pipe(Effect.provide(TaskService.layerBounded(1))))
    }

    it.effect("after the task's fiber is interrupted inside it", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const ref: { fiber?: Fiber.Fiber<unknown, unknown> } = {}
        const changes = yield* collectChanges(tasks, 5)
        yield* tasks.go("T", Effect.andThen(captureFiber(ref), tasks.yieldQuiescent(Effect.never)))
        yield* until("the body runs", () => ref.fiber !== undefined)
        yield* untilState(tasks, "T", "yielded-quiescent")
        assert.strictEqual(yield* tasks.activeCount, 0)
        yield* Fiber.interrupt(ref.fiber!)
        yield* tasks.blockTillDone
        assert.deepStrictEqual(yield* Fiber.join(changes), [0, 1, 0, 1, 0])
        assert.strictEqual(yield* tasks.activeCount, 0)
        assert.strictEqual(yield* tasks.failures, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("when the body interrupts itself inside it", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const changes = yield* collectChanges(tasks, 5)
        yield* tasks.go("T", tasks.yieldQuiescent(Effect.andThen(Effect.yieldNow, Effect.interrupt)))
        yield* tasks.blockTillDone
        assert.deepStrictEqual(yield* Fiber.join(changes), [0, 1, 0, 1, 0])
        assert.strictEqual(yield* tasks.failures, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))
  })

  it.effect("it also gives the slot back while the effect runs", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const inner = yield* Latch.make(false)
      yield* tasks.go("T", tracked(gauge, "T", releasing(gauge, tasks, "quiescent", inner.await)))
      yield* untilStarted(gauge, 1)
      const batch = yield* freshBatch(tasks, gauge, 3, 1)
      yield* inner.open
      yield* batch.open
      yield* tasks.blockTillDone
      assert.strictEqual(gauge.high, 1)
      assert.deepStrictEqual(gauge.starts, ["T", "fresh0", "fresh1", "fresh2"])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("the task is counted again as soon as the effect ends, while it still waits for its slot", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const inner = yield* Latch.make(false)
      const holder = yield* Latch.make(false)
      const events: Array<string> = []
      yield* tasks.go(
        "T",
        tracked(
          gauge,
          "T",
          Effect.andThen(releasing(gauge, tasks, "quiescent", inner.await), Effect.sync(() => events.push("T:back")))
        )
      )
      yield* untilStarted(gauge, 1)
      yield* tasks.go("holder", tracked(gauge, "holder", holder.await))
      yield* untilStarted(gauge, 2)
      assert.strictEqual(yield* tasks.activeCount, 1)
      const quiet = yield* Effect.forkChild(tasks.awaitQuiescence(1))
      yield* untilDone(quiet, "awaitQuiescence(1) completes (T is out of the count)")
      assert.isTrue(isDone(quiet))
      yield* inner.open
      yield* untilState(tasks, "T", "parked")
      yield* settle // T must not come back while the holder keeps the slot
      // T's effect ended; T waits for the slot the holder keeps, and is counted
      assert.deepStrictEqual(events, [])
      assert.strictEqual(yield* tasks.activeCount, 2)
      const info = (yield* tasks.snapshot).find((task) => task.name === "T")
      assert.strictEqual(info!.state, "parked")
      const late = yield* Effect.forkChild(tasks.awaitQuiescence(1))
      yield* settle // count 2 > 1
      assert.isFalse(isDone(late))
      yield* holder.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(events, ["T:back"])
      assert.strictEqual(gauge.high, 1)
      yield* Fiber.join(late)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  describe("nesting", () => {
    it.effect("yieldQuiescent inside yieldSlot only leaves the count (the slot is already free)", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gauge = new Gauge()
        const inner = yield* Latch.make(false)
        const p1Gate = yield* Latch.make(false)
        const counts: Array<number> = []
        const seen: Array<ReadonlyArray<string>> = []
        yield* tasks.go("T", nestedYields(tasks, gauge, "slot", "quiescent", inner, counts, seen))
        yield* until("counts has 2 entries", () => counts.length === 2)
        yield* tasks.go("P1", tracked(gauge, "P1", p1Gate.await))
        yield* tasks.go("P2", tracked(gauge, "P2", Effect.void))
        yield* inner.open
        yield* until("seen has 1 entries", () => seen.length === 1)
        assert.deepStrictEqual(seen, [["T", "P1"]])
        yield* p1Gate.open
        yield* tasks.blockTillDone
        // inside yieldSlot: T counts; inside the nested yieldQuiescent: T left; after it: T, P1, P2
        assert.deepStrictEqual(counts, [1, 0, 3])
        assert.strictEqual(gauge.high, 1)
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("yieldSlot inside yieldQuiescent changes nothing", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gauge = new Gauge()
        const inner = yield* Latch.make(false)
        const p1Gate = yield* Latch.make(false)
        const counts: Array<number> = []
        const seen: Array<ReadonlyArray<string>> = []
        const other = yield* Latch.make(false)
        yield* tasks.go("other", tracked(gauge, "other", other.await))
        yield* tasks.go("T", nestedYields(tasks, gauge, "quiescent", "slot", inner, counts, seen))
        yield* until("counts has 2 entries", () => counts.length === 2)
        assert.deepStrictEqual(counts, [1, 1])
        yield* tasks.go("P1", tracked(gauge, "P1", p1Gate.await))
        yield* tasks.go("P2", tracked(gauge, "P2", Effect.void))
        yield* inner.open
        yield* until("seen has 1 entries", () => seen.length === 1)
        assert.deepStrictEqual(seen, [["other", "T", "P1"]])
        assert.deepStrictEqual(counts, [1, 1, 3])
        yield* p1Gate.open
        yield* other.open
        yield* tasks.blockTillDone
        assert.strictEqual(gauge.high, 2)
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("yieldQuiescent inside yieldQuiescent leaves the count once", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const other = yield* Latch.make(false)
        const counts: Array<number> = []
        const changes = yield* collectChanges(tasks, 6)
        yield* tasks.go("other", other.await)
        yield* tasks.go(
          "T",
          tasks.yieldQuiescent(
            Effect.gen(function*() {
              counts.push(yield* tasks.activeCount)
              counts.push(yield* tasks.yieldQuiescent(tasks.activeCount))
              counts.push(yield* tasks.activeCount)
            })
          )
        )
        yield* until("counts has 3 entries", () => counts.length === 3)
        assert.deepStrictEqual(counts, [1, 1, 1])
        yield* tasks.blockTillDone.pipe(Effect.forkChild)
        yield* other.open
        yield* tasks.blockTillDone
        // 0 → other 1 → T 2 → T leaves 1 → T back 2 → T ends 1 → other ends 0 (6 values taken)
        assert.deepStrictEqual(yield* Fiber.join(changes), [0, 1, 2, 1, 2, 1])
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))
  })

  describe("runs the effect unchanged where the task is not a task body's own fiber", () => {
    it.effect("outside any task: the count does not change", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gate = yield* Latch.make(false)
        yield* tasks.go("a", gate.await)
        yield* tasks.go("b", gate.await)
        assert.strictEqual(yield* tasks.yieldQuiescent(tasks.activeCount), 2)
        yield* gate.open
        yield* tasks.blockTillDone
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("on a child fiber the body forked: the count does not change and no slot is freed", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const gauge = new Gauge()
        const seen: Array<number | ReadonlyArray<string>> = []
        yield* tasks.go(
          "body",
          tracked(
            gauge,
            "body",
            Effect.gen(function*() {
              const child = yield* Effect.forkChild(
                tasks.yieldQuiescent(
                  Effect.gen(function*() {
                    yield* yieldTimes(10) // time for a wrongly freed slot to be taken
                    seen.push(yield* tasks.activeCount)
                    seen.push([...gauge.starts])
                  })
                )
              )
              yield* Fiber.join(child)
            })
          )
        )
        yield* untilStarted(gauge, 1)
        yield* tasks.go("parked", tracked(gauge, "parked", Effect.void))
        yield* tasks.blockTillDone
        assert.deepStrictEqual(seen, [2, ["body"]])
        assert.strictEqual(gauge.high, 1)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("on an unbounded service it leaves the count (there is no slot to free)", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const seen: Array<number> = []
        yield* tasks.go("T", Effect.map(tasks.yieldQuiescent(tasks.activeCount), (n) => seen.push(n)))
        yield* tasks.blockTillDone
        assert.deepStrictEqual(seen, [0])
      }).pipe(Effect.provide(Layer.fresh(TaskService.layerUnbounded))))
  })
})

/** Whether `other` could start while `first`'s body ran `wrap(yield…)` (20 turns of its own): the slot was given back. */
const slotFreed = (wrap: (tasks: TaskServiceShape, wait: Effect.Effect<void>) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const started = yield* Deferred.make<void>()
    const result = yield* Deferred.make<boolean>()
    yield* tasks.go(
      "first",
      Effect.flatMap(
        wrap(tasks, Effect.andThen(yieldTimes(20), Effect.void)),
        () => Effect.flatMap(Deferred.isDone(started), (done) => Deferred.succeed(result, done))
      )
    )
    yield* tasks.go("other", Deferred.succeed(started, undefined))
    return yield* Deferred.await(result)
  }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(1))))

describe("TaskService: the timeout-outside-the-yield trap (documented in the yields' Gotchas)", () => {
  it.effect("Effect.timeout(yieldSlot(wait)) runs the yield on a forked fiber: the slot is kept", () =>
    Effect.map(
      slotFreed((tasks, wait) => Effect.timeout(tasks.yieldSlot(wait), "1 minute")),
      (freed) => assert.isFalse(freed)
    ))

  it.effect("yieldSlot(Effect.timeout(wait)) gives the slot back while it waits", () =>
    Effect.map(
      slotFreed((tasks, wait) => tasks.yieldSlot(Effect.timeout(wait, "1 minute"))),
      (freed) => assert.isTrue(freed)
    ))
})
