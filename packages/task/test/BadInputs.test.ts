/**
 * Bad inputs: one test per row of docs/errors.md. Each bad call either dies
 * with a `Cause.IllegalArgumentError` whose message names the entry point, the
 * argument and the value, or has a documented meaning; and after it the
 * counters are unchanged and the service still works.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Deferred, Effect, Equal, Exit, Fiber, Layer, Stream } from "effect"
import { Coalescer, TaskService, type TaskServiceShape } from "effect-task"
import { isDone, ownedService, ticks } from "./Reliability.helpers.ts"

/** The defect of a failed exit, which must be an IllegalArgumentError; returns its message. */
const illegalArgument = (exit: Exit.Exit<unknown, unknown>): string => {
  assert.isTrue(Exit.isFailure(exit), "the call must die")
  if (!Exit.isFailure(exit)) return ""
  const defects = exit.cause.reasons.filter(Cause.isDieReason).map((r) => r.defect)
  assert.strictEqual(defects.length, 1, "exactly one defect")
  assert.isTrue(Cause.isIllegalArgumentError(defects[0]), "an IllegalArgumentError")
  return (defects[0] as Cause.IllegalArgumentError).message
}

/** The bad call left the counters alone, and the service still runs tasks. */
const stillWorks = (tasks: TaskServiceShape, before: { active: number; failures: number }) =>
  Effect.gen(function*() {
    assert.strictEqual(yield* tasks.activeCount, before.active, "activeCount unchanged")
    assert.strictEqual(yield* tasks.failures, before.failures, "failures unchanged")
    let ran = false
    yield* tasks.go("after-bad-call", Effect.sync(() => (ran = true)))
    yield* tasks.blockTillDone
    assert.isTrue(ran, "the service still runs tasks")
    assert.strictEqual(yield* tasks.activeCount, 0)
    assert.strictEqual(yield* tasks.failures, before.failures)
  })

const counters = (tasks: TaskServiceShape) =>
  Effect.gen(function*() {
    return { active: yield* tasks.activeCount, failures: yield* tasks.failures }
  })

/** Builds `layer` in a scope of its own; returns the build's exit. */
const build = (layer: Layer.Layer<TaskService>) => Effect.exit(Effect.scoped(Layer.build(layer)))

/** Bound of a built service: how many of 12 gated tasks start (12 = unbounded here). */
const observedBound = (tasks: TaskServiceShape) =>
  Effect.gen(function*() {
    let started = 0
    let release = false
    for (let i = 0; i < 12; i++) {
      yield* tasks.go(
        `probe-${i}`,
        Effect.andThen(
          Effect.sync(() => started++),
          Effect.whileLoop({
            while: () => !release,
            body: () => Effect.yieldNow,
            step: () => {}
          })
        )
      )
    }
    yield* ticks(5)
    const seen = started
    release = true
    yield* tasks.blockTillDone
    return seen
  })

class AppKey extends Data.Class<{ readonly id: number }> {}

describe("BadInputs", () => {
  describe("bounds: layerBounded / make / resize", () => {
    for (
      const [value, shown] of [
        [Number.NaN, "NaN"],
        [1.5, "1.5"],
        ["4", "\"4\""],
        [undefined, "undefined"]
      ] as const
    ) {
      it.effect(`layerBounded(${shown}) fails to build, naming workers and the value`, () =>
        Effect.gen(function*() {
          const message = illegalArgument(yield* build(TaskService.layerBounded(value as number)))
          assert.strictEqual(
            message,
            `TaskService.layerBounded: workers must be an integer (<= 0 or Infinity for unbounded), got ${shown}`
          )
        }))

      it.effect(`make({ workers: ${shown} }) dies, naming workers and the value`, () =>
        Effect.gen(function*() {
          if (value === undefined) return // `workers: undefined` means the default bound (tested below)
          const message = illegalArgument(
            yield* Effect.exit(Effect.scoped(TaskService.make({ workers: value as number })))
          )
          assert.strictEqual(
            message,
            `TaskService.make: workers must be an integer (<= 0 or Infinity for unbounded), got ${shown}`
          )
        }))

      it.effect(`resize(${shown}) dies, naming workers and the value; the bound is unchanged`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(3))
          const before = yield* counters(tasks)
          const message = illegalArgument(yield* Effect.exit(tasks.resize(value as number)))
          assert.strictEqual(
            message,
            `TaskService.resize: workers must be an integer (<= 0 or Infinity for unbounded), got ${shown}`
          )
          assert.strictEqual(yield* tasks.workers, 3)
          assert.strictEqual(yield* observedBound(tasks), 3)
          yield* stillWorks(tasks, before)
          yield* close
        }))
    }

    for (const value of [Infinity, -Infinity, 0, -1, -7.5]) {
      it.effect(`layerBounded(${value}) means unbounded`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(value))
          assert.isUndefined(yield* tasks.workers)
          assert.strictEqual(yield* observedBound(tasks), 12)
          yield* close
        }))

      it.effect(`make({ workers: ${value} }) means unbounded`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService.make({ workers: value })
          assert.isUndefined(yield* tasks.workers)
          assert.strictEqual(yield* observedBound(tasks), 12)
        }))

      it.effect(`resize(${value}) means unbounded`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
          yield* tasks.resize(value)
          assert.isUndefined(yield* tasks.workers)
          assert.strictEqual(yield* observedBound(tasks), 12)
          yield* stillWorks(tasks, { active: 0, failures: 0 })
          yield* close
        }))
    }

    it.effect("make({ workers: undefined }) and make() use the default bound", () =>
      Effect.gen(function*() {
        const a = yield* TaskService.make({ workers: undefined })
        const b = yield* TaskService.make()
        assert.strictEqual(yield* a.workers, TaskService.defaultWorkers())
        assert.strictEqual(yield* b.workers, TaskService.defaultWorkers())
      }))
  })

  describe("service names: make / layerWith / layerBounded", () => {
    for (const [value, shown] of [["", "\"\""], [42, "42"], [null, "null"]] as const) {
      const bad = value as unknown as string
      for (
        const [method, build_] of [
          ["TaskService.make", () => Effect.exit(Effect.scoped(TaskService.make({ name: bad })))],
          ["TaskService.layerWith", () => build(TaskService.layerWith({ name: bad }))],
          ["TaskService.layerBounded", () => build(TaskService.layerBounded(2, { name: bad }))]
        ] as const
      ) {
        it.effect(`${method} with name ${shown} dies naming name and the value`, () =>
          Effect.gen(function*() {
            const message = illegalArgument(yield* build_())
            assert.strictEqual(message, `${method}: name must be a non-empty string, got ${shown}`)
          }))
      }
    }
  })

  describe("task names: go / submit", () => {
    for (const [value, shown] of [["", "\"\""], [42, "42"], [undefined, "undefined"], [null, "null"]] as const) {
      it.effect(`go(${shown}, body) dies naming name and the value; nothing is registered`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
          const before = yield* counters(tasks)
          let ran = false
          const message = illegalArgument(
            yield* Effect.exit(tasks.go(value as string, Effect.sync(() => (ran = true))))
          )
          assert.strictEqual(message, `TaskService.go: name must be a non-empty string, got ${shown}`)
          yield* ticks(3)
          assert.isFalse(ran)
          assert.deepStrictEqual(yield* tasks.snapshot, [])
          yield* stillWorks(tasks, before)
          yield* close
        }))

      it.effect(`submit(${shown}, key, body) dies naming name and the value; nothing is registered`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
          const coalescer = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
          const before = yield* counters(tasks)
          let ran = false
          const message = illegalArgument(
            yield* Effect.exit(coalescer.submit(value as string, "k", Effect.sync(() => (ran = true))))
          )
          assert.strictEqual(message, `Coalescer.submit: name must be a non-empty string, got ${shown}`)
          yield* ticks(3)
          assert.isFalse(ran)
          assert.strictEqual(yield* coalescer.size, 0)
          yield* stillWorks(tasks, before)
          yield* close
        }))
    }
  })

  describe("bodies that are not an Effect (called from JavaScript)", () => {
    for (
      const [value, shown] of [
        [() => 1, "() => 1"],
        [Promise.resolve(1), "[object Promise]"],
        [{}, "[object Object]"],
        [undefined, "undefined"]
      ] as const
    ) {
      it.effect(`go(name, ${shown}) dies naming body; nothing is registered`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
          const before = yield* counters(tasks)
          const message = illegalArgument(yield* Effect.exit(tasks.go("t", value as unknown as Effect.Effect<void>)))
          assert.strictEqual(message, `TaskService.go: body must be an Effect, got ${shown}`)
          assert.deepStrictEqual(yield* tasks.snapshot, [])
          yield* stillWorks(tasks, before)
          yield* close
        }))

      it.effect(`submit(name, key, ${shown}) dies naming body; nothing is registered`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
          const coalescer = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
          const before = yield* counters(tasks)
          const message = illegalArgument(
            yield* Effect.exit(coalescer.submit("t", "k", value as unknown as Effect.Effect<void>))
          )
          assert.strictEqual(message, `Coalescer.submit: body must be an Effect, got ${shown}`)
          assert.strictEqual(yield* coalescer.size, 0)
          yield* stillWorks(tasks, before)
          yield* close
        }))

      for (const method of ["yieldSlot", "yieldQuiescent"] as const) {
        it.effect(`${method}(${shown}) inside a task dies naming self; the task keeps its slot and count`, () =>
          Effect.gen(function*() {
            const { close, tasks } = yield* ownedService(TaskService.layerBounded(1))
            const seen = yield* Deferred.make<readonly [string, number]>()
            yield* tasks.go(
              "caller",
              Effect.gen(function*() {
                const exit = yield* Effect.exit(tasks[method](value as unknown as Effect.Effect<void>))
                yield* Deferred.succeed(seen, [illegalArgument(exit), yield* tasks.activeCount])
              })
            )
            const [message, active] = yield* Deferred.await(seen)
            assert.strictEqual(message, `TaskService.${method}: self must be an Effect, got ${shown}`)
            assert.strictEqual(active, 1)
            yield* tasks.blockTillDone
            yield* stillWorks(tasks, { active: 0, failures: 0 })
            yield* close
          }))
      }
    }
  })

  describe("thresholds: awaitQuiescence", () => {
    for (
      const [value, shown] of [
        [Number.NaN, "NaN"],
        ["1", "\"1\""],
        [undefined, "undefined"],
        [10n, "10n"]
      ] as const
    ) {
      it.effect(`awaitQuiescence(${shown}) dies naming threshold and the value`, () =>
        Effect.gen(function*() {
          const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
          const before = yield* counters(tasks)
          const message = illegalArgument(yield* Effect.exit(tasks.awaitQuiescence(value as number)))
          assert.strictEqual(message, `TaskService.awaitQuiescence: threshold must be a number, got ${shown}`)
          yield* stillWorks(tasks, before)
          yield* close
        }))
    }

    it.effect("awaitQuiescence(-1) never completes (documented), and leaves nothing behind when interrupted", () =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
        const waiter = yield* Effect.forkChild(tasks.awaitQuiescence(-1))
        yield* ticks(5)
        assert.isFalse(isDone(waiter), "idle service, still waiting")
        yield* tasks.go("t", Effect.void)
        yield* tasks.blockTillDone
        yield* ticks(5)
        assert.isFalse(isDone(waiter))
        yield* Fiber.interrupt(waiter)
        yield* stillWorks(tasks, { active: 0, failures: 0 })
        yield* close
      }))

    it.effect("awaitQuiescence(Infinity) completes at once; awaitQuiescence(0.5) completes at 0", () =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
        yield* tasks.go("t", Effect.never)
        yield* tasks.awaitQuiescence(Infinity)
        const half = yield* Effect.forkChild(tasks.awaitQuiescence(0.5))
        yield* ticks(5)
        assert.isFalse(isDone(half), "count 1 > 0.5")
        yield* close // the task is interrupted: count 0
        yield* Fiber.join(half)
      }))
  })

  describe("coalescer keys", () => {
    it.effect("plain objects and arrays are compared by structure (effect 4 Equal): equal keys collapse", () =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(1))
        const coalescer = yield* Coalescer.make<unknown>().pipe(Effect.provideService(TaskService, tasks))
        const runs: Array<string> = []
        yield* tasks.go("holder", ticks(3)) // keeps the slot: the runs below stay parked
        yield* coalescer.submit("a", { ns: "x", name: "app" }, Effect.sync(() => runs.push("a")))
        yield* coalescer.submit("b", { ns: "x", name: "app" }, Effect.sync(() => runs.push("b")))
        yield* coalescer.submit("c", ["x", "app"], Effect.sync(() => runs.push("c")))
        yield* coalescer.submit("d", ["x", "app"], Effect.sync(() => runs.push("d")))
        assert.strictEqual(yield* coalescer.size, 2)
        yield* tasks.blockTillDone
        assert.deepStrictEqual(runs, ["b", "d"])
        assert.strictEqual(yield* coalescer.size, 0)
        yield* close
      }))

    it.effect("Equal.byReference keys are compared by identity; Data values by structure", () =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(1))
        const coalescer = yield* Coalescer.make<unknown>().pipe(Effect.provideService(TaskService, tasks))
        const runs: Array<string> = []
        yield* tasks.go("holder", ticks(3))
        const key = { ns: "x", name: "app" }
        yield* coalescer.submit("r1", Equal.byReference(key), Effect.sync(() => runs.push("r1")))
        yield* coalescer.submit("r2", Equal.byReference(key), Effect.sync(() => runs.push("r2")))
        yield* coalescer.submit("d1", new AppKey({ id: 1 }), Effect.sync(() => runs.push("d1")))
        yield* coalescer.submit("d2", new AppKey({ id: 1 }), Effect.sync(() => runs.push("d2")))
        assert.strictEqual(yield* coalescer.size, 3)
        yield* tasks.blockTillDone
        assert.deepStrictEqual(runs, ["r1", "r2", "d2"])
        assert.strictEqual(yield* coalescer.size, 0)
        yield* close
      }))
  })

  describe("calls after shutdown", () => {
    it.effect("go and submit do nothing; awaitQuiescence and blockTillDone complete at once; activeChanges emits 0 and ends", () =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
        const coalescer = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
        yield* tasks.go("failing", Effect.fail("boom"))
        yield* tasks.blockTillDone
        yield* close
        let ran = false
        yield* tasks.go("late", Effect.sync(() => (ran = true)))
        yield* coalescer.submit("late", "k", Effect.sync(() => (ran = true)))
        assert.strictEqual(yield* tasks.activeCount, 0)
        assert.strictEqual(yield* coalescer.size, 0)
        assert.deepStrictEqual(yield* tasks.snapshot, [])
        yield* tasks.awaitQuiescence(0)
        yield* tasks.blockTillDone
        assert.deepStrictEqual(Array.from(yield* Stream.runCollect(tasks.activeChanges)), [0])
        yield* ticks(3)
        assert.isFalse(ran, "no body runs after shutdown")
        assert.strictEqual(yield* tasks.failures, 1, "failures keeps its count")
        // validation still comes first
        const message = illegalArgument(yield* Effect.exit(tasks.go("", Effect.void)))
        assert.include(message, "name must be a non-empty string")
      }))
  })
})
