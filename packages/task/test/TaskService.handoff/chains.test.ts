/**
 * The quiescence hand-off regression (CONTRACT.md, "Quiescence hand-off"):
 * a chain of tasks, each waiting inside `yieldQuiescent` for the previous
 * one's result; `awaitQuiescence(0)` registered at the start must complete
 * only after the last task has finished.
 *
 * The waits resume in different ways: `Latch` and `Queue` resume their waiters
 * a scheduler round later, a `Deferred` waiter that yields once more resumes
 * synchronously and then gives the scheduler one round, and a plain
 * `Deferred` resumes inside the completing call (no window; kept as the
 * baseline).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Latch, Layer, Queue, Stream } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"
import { isDone } from "../helpers/exits.ts"
import { type Link, linkKinds } from "../helpers/handoff.ts"
import { settle, untilStates } from "../helpers/waits.ts"

/** The wake-ups of `helpers/handoff.ts`, and a Deferred waiter that yields once more after it wakes. */
const signalKinds: ReadonlyArray<readonly [string, Effect.Effect<Link>]> = [
  ["Latch", linkKinds.Latch],
  ["Queue", linkKinds.Queue],
  [
    "Deferred + yieldNow",
    Effect.map(linkKinds.Deferred, (link): Link => ({ ...link, wait: Effect.andThen(link.wait, Effect.yieldNow) }))
  ],
  ["Deferred", linkKinds.Deferred]
]

const bounds: ReadonlyArray<readonly [string, () => Layer.Layer<TaskService>]> = [
  ["bound 1", () => TaskService.layerBounded(1)],
  ["bound 2", () => TaskService.layerBounded(2)],
  ["unbounded", () => Layer.fresh(TaskService.layerUnbounded)]
]

type Order = "dependents first" | "source first"

/**
 * Registers a chain `link0 → link1 → … → link(n-1)`: link0 waits for an
 * outside gate (holding its slot), every other link waits inside
 * `yieldQuiescent` for the previous link's signal, then does a little work
 * of its own (one `yieldNow`) and signals the next.
 */
const runChain = (
  tasks: TaskServiceShape,
  makeSignal: Effect.Effect<Link>,
  length: number,
  order: Order
) =>
  Effect.gen(function*() {
    const log: Array<string> = []
    const gate = yield* Deferred.make<void>()
    const signals = yield* Effect.forEach(Array.from({ length }, (_, i) => i), () => makeSignal)
    const link = (i: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (i === 0) yield* Deferred.await(gate)
        else yield* tasks.yieldQuiescent(signals[i - 1]!.wait)
        yield* Effect.yieldNow
        log.push(`link${i}`)
        yield* signals[i]!.fire
      })
    const indices = Array.from({ length }, (_, i) => i)
    for (const i of order === "source first" ? indices : indices.toReversed()) {
      yield* tasks.go(`link${i}`, link(i))
    }
    yield* settle // every link that gets a slot enters yieldQuiescent; link0 waits for the gate
    const counts: Array<number> = []
    const waiter = yield* Effect.forkChild(
      Effect.gen(function*() {
        yield* tasks.awaitQuiescence(0)
        counts.push(yield* tasks.activeCount)
        log.push("quiet")
      })
    )
    yield* settle // link0 waits for the gate: nothing may complete
    assert.deepStrictEqual(log, [])
    assert.isFalse(isDone(waiter))
    yield* Deferred.succeed(gate, undefined)
    yield* Fiber.join(waiter)
    assert.deepStrictEqual(log, [...indices.map((i) => `link${i}`), "quiet"])
    assert.deepStrictEqual(counts, [0])
    yield* tasks.blockTillDone
    assert.strictEqual(yield* tasks.failures, 0)
  })

describe("hand-off: chains of tasks, each waking the next inside yieldQuiescent", () => {
  for (const [kind, makeSignal] of signalKinds) {
    describe(`waits on ${kind}`, () => {
      for (const [boundName, layer] of bounds) {
        for (const length of [3, 5, 10]) {
          for (const order of ["dependents first", "source first"] as const) {
            it.effect(
              `${boundName}, chain of ${length}, ${order}: awaitQuiescence(0) completes only after the last link`,
              () =>
                Effect.gen(function*() {
                  const tasks = yield* TaskService
                  yield* runChain(tasks, makeSignal, length, order)
                }).pipe(Effect.provide(layer()))
            )
          }
        }
      }
    })
  }

  it.effect("a waiter registered in the window (on seeing the count reach 0) does not complete before the next link", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const latch = yield* Latch.make(false)
      yield* tasks.go(
        "next",
        Effect.andThen(tasks.yieldQuiescent(latch.await), Effect.sync(() => log.push("next")))
      )
      yield* tasks.go(
        "src",
        Effect.andThen(Deferred.await(gate), Effect.andThen(latch.open, Effect.sync(() => log.push("src"))))
      )
      yield* untilStates(tasks, { next: "yielded-quiescent", src: "running" })
      // a watcher that, as soon as it sees the count at 0, asks for quiescence
      const watcher = yield* Effect.forkChild(
        tasks.activeChanges.pipe(
          Stream.filter((n) => n === 0),
          Stream.runHead,
          Effect.andThen(tasks.awaitQuiescence(0)),
          Effect.andThen(Effect.sync(() => log.push("quiet")))
        )
      )
      yield* settle // the watcher has subscribed (it sees 1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(watcher)
      assert.deepStrictEqual(log, ["src", "next", "quiet"])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("with another task still running, awaitQuiescence(1) completes only after the last link", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const log: Array<string> = []
      const holder = yield* Latch.make(false)
      const gate = yield* Deferred.make<void>()
      const latches = yield* Effect.forEach([0, 1, 2, 3], () => Latch.make(false))
      yield* tasks.go("holder", holder.await)
      for (let i = 4; i >= 1; i--) {
        yield* tasks.go(
          `link${i}`,
          Effect.gen(function*() {
            yield* tasks.yieldQuiescent(latches[i - 1]!.await)
            log.push(`link${i}`)
            if (i < 4) yield* latches[i]!.open
          })
        )
      }
      yield* tasks.go(
        "link0",
        Effect.gen(function*() {
          yield* Deferred.await(gate)
          log.push("link0")
          yield* latches[0]!.open
        })
      )
      yield* untilStates(tasks, {
        holder: "running",
        link0: "running",
        link1: "yielded-quiescent",
        link2: "yielded-quiescent",
        link3: "yielded-quiescent",
        link4: "yielded-quiescent"
      })
      const waiter = yield* Effect.forkChild(
        Effect.andThen(tasks.awaitQuiescence(1), Effect.sync(() => log.push("quiet")))
      )
      yield* settle // count 2 > 1: the waiter waits
      assert.deepStrictEqual(log, [])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(log, ["link0", "link1", "link2", "link3", "link4", "quiet"])
      assert.strictEqual(yield* tasks.activeCount, 1)
      yield* holder.open
      yield* tasks.blockTillDone
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a link that fails after signalling still hands off: quiet only after the last link", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const latches = yield* Effect.forEach([0, 1, 2], () => Latch.make(false))
      for (let i = 3; i >= 1; i--) {
        yield* tasks.go(
          `link${i}`,
          Effect.gen(function*() {
            yield* tasks.yieldQuiescent(latches[i - 1]!.await)
            log.push(`link${i}`)
            if (i < 3) {
              yield* latches[i]!.open
              return yield* Effect.fail(`link${i} failed`)
            }
          })
        )
      }
      yield* tasks.go(
        "link0",
        Effect.gen(function*() {
          yield* Deferred.await(gate)
          log.push("link0")
          yield* latches[0]!.open
          return yield* Effect.die("link0 died")
        })
      )
      yield* untilStates(tasks, {
        link0: "running",
        link1: "yielded-quiescent",
        link2: "yielded-quiescent",
        link3: "yielded-quiescent"
      })
      const waiter = yield* Effect.forkChild(
        Effect.andThen(tasks.awaitQuiescence(0), Effect.sync(() => log.push("quiet")))
      )
      yield* settle // count 1 > 0: the waiter waits
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(log, ["link0", "link1", "link2", "link3", "quiet"])
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.failures, 3)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a fan-in: one task waits inside yieldQuiescent for two sources; quiet only after it finishes", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const a = yield* Latch.make(false)
      const b = yield* Queue.unbounded<number>()
      yield* tasks.go(
        "sink",
        Effect.gen(function*() {
          yield* tasks.yieldQuiescent(a.await)
          yield* tasks.yieldQuiescent(Queue.take(b))
          log.push("sink")
        })
      )
      yield* tasks.go(
        "a",
        Effect.andThen(Deferred.await(gate), Effect.andThen(a.open, Effect.sync(() => log.push("a"))))
      )
      yield* tasks.go(
        "b",
        Effect.andThen(
          Deferred.await(gate),
          Effect.andThen(Effect.yieldNow, Effect.andThen(Queue.offer(b, 1), Effect.sync(() => log.push("b"))))
        )
      )
      yield* untilStates(tasks, { sink: "yielded-quiescent", a: "running", b: "running" })
      const waiter = yield* Effect.forkChild(
        Effect.andThen(tasks.awaitQuiescence(0), Effect.sync(() => log.push("quiet")))
      )
      yield* settle // count 2 > 0: the waiter waits
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(log, ["a", "b", "sink", "quiet"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))
})
