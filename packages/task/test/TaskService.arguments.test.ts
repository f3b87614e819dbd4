/**
 * Every bad argument to the service, one table row each (docs/errors.md):
 * the call dies with a `Cause.IllegalArgumentError` whose message names the
 * entry point, the argument and the value, exactly; after it the counters
 * are unchanged, nothing was registered and the service still works. The
 * values with a documented meaning instead (a bound `<= 0` or `Infinity`, a
 * negative threshold, …) have their own rows. The coalescer's arguments are
 * in `Coalescer.arguments.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, type Exit, Fiber, Layer } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"
import { badNames, notEffects } from "./helpers/arguments.ts"
import { illegalArgument, isDone } from "./helpers/exits.ts"
import { ownedService } from "./helpers/service.ts"
import { settle, until } from "./helpers/waits.ts"

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

/**
 * The bound of a built service: how many of 12 gated probes run at once,
 * once `expected` of them have started and every runnable fiber has run.
 */
const observedBound = (tasks: TaskServiceShape, expected: number) =>
  Effect.gen(function*() {
    let started = 0
    const gate = yield* Deferred.make<void>()
    for (let i = 0; i < 12; i++) {
      yield* tasks.go(`probe-${i}`, Effect.andThen(Effect.sync(() => started++), Deferred.await(gate)))
    }
    yield* until(`${expected} probes have started`, () => started >= expected, () => `started ${started}`)
    yield* settle // and no more start
    const seen = started
    yield* Deferred.succeed(gate, undefined)
    yield* tasks.blockTillDone
    return seen
  })

/** `workers` values that are not a bound, with how a message shows them. */
const badWorkers: ReadonlyArray<readonly [unknown, string]> = [
  [Number.NaN, "NaN"],
  [1.5, "1.5"],
  [0.5, "0.5"],
  [7.25, "7.25"],
  ["4", "\"4\""],
  [undefined, "undefined"]
]
const workersMessage = (method: string, shown: string) =>
  `${method}: workers must be an integer (<= 0 or Infinity for unbounded), got ${shown}`

/** A service's `name: undefined` means no name: the other bad names. */
const badServiceNames = badNames.filter(([value]) => value !== undefined)

/** `threshold` values that are not a number. */
const badThresholds: ReadonlyArray<readonly [unknown, string]> = [
  [Number.NaN, "NaN"],
  ["1", "\"1\""],
  [undefined, "undefined"],
  [10n, "10n"]
]

interface BuildRow {
  readonly call: string
  readonly build: () => Effect.Effect<Exit.Exit<unknown, unknown>>
  readonly message: string
}

/** Every constructor argument that makes the service fail to build. */
const buildRows: ReadonlyArray<BuildRow> = [
  ...badWorkers.map(([value, shown]): BuildRow => ({
    call: `layerBounded(${shown})`,
    build: () => build(TaskService.layerBounded(value as number)),
    message: workersMessage("TaskService.layerBounded", shown)
  })),
  // `make({ workers: undefined })` means the default bound (a row of its own below)
  ...badWorkers.filter(([value]) => value !== undefined).map(([value, shown]): BuildRow => ({
    call: `make({ workers: ${shown} })`,
    build: () => Effect.exit(Effect.scoped(TaskService.make({ workers: value as number }))),
    message: workersMessage("TaskService.make", shown)
  })),
  ...badWorkers.filter(([value]) => value !== undefined).map(([value, shown]): BuildRow => ({
    call: `layerWith({ workers: ${shown} })`,
    build: () => build(TaskService.layerWith({ workers: value as number })),
    message: workersMessage("TaskService.layerWith", shown)
  })),
  ...badServiceNames.flatMap(([value, shown]): Array<BuildRow> => {
    const bad = value as string
    return [
      {
        call: `make({ name: ${shown} })`,
        build: () => Effect.exit(Effect.scoped(TaskService.make({ name: bad }))),
        message: `TaskService.make: name must be a non-empty string, got ${shown}`
      },
      {
        call: `layerWith({ name: ${shown} })`,
        build: () => build(TaskService.layerWith({ name: bad })),
        message: `TaskService.layerWith: name must be a non-empty string, got ${shown}`
      },
      {
        call: `layerBounded(2, { name: ${shown} })`,
        build: () => build(TaskService.layerBounded(2, { name: bad })),
        message: `TaskService.layerBounded: name must be a non-empty string, got ${shown}`
      }
    ]
  })
]

interface CallRow {
  readonly call: string
  /** the bad call; `body` marks whether a body it was given ever ran */
  readonly run: (tasks: TaskServiceShape, body: Effect.Effect<void>) => Effect.Effect<unknown>
  readonly message: string
}

/** Every bad argument to a method of a running service (bound 3). */
const callRows: ReadonlyArray<CallRow> = [
  ...badWorkers.map(([value, shown]): CallRow => ({
    call: `resize(${shown})`,
    run: (tasks) => tasks.resize(value as number),
    message: workersMessage("TaskService.resize", shown)
  })),
  ...badNames.flatMap(([value, shown]): Array<CallRow> => [
    {
      call: `go(${shown}, body)`,
      run: (tasks, body) => tasks.go(value as string, body),
      message: `TaskService.go: name must be a non-empty string, got ${shown}`
    },
    {
      call: `run(${shown}, body)`,
      run: (tasks, body) => tasks.run(value as string, body),
      message: `TaskService.run: name must be a non-empty string, got ${shown}`
    }
  ]),
  ...notEffects.flatMap(([value, shown]): Array<CallRow> => [
    {
      call: `go(name, ${shown})`,
      run: (tasks) => tasks.go("t", value as Effect.Effect<void>),
      message: `TaskService.go: body must be an Effect, got ${shown}`
    },
    {
      call: `run(name, ${shown})`,
      run: (tasks) => tasks.run("t", value as Effect.Effect<void>),
      message: `TaskService.run: body must be an Effect, got ${shown}`
    }
  ]),
  ...badThresholds.map(([value, shown]): CallRow => ({
    call: `awaitQuiescence(${shown})`,
    run: (tasks) => tasks.awaitQuiescence(value as number),
    message: `TaskService.awaitQuiescence: threshold must be a number, got ${shown}`
  }))
]

describe("TaskService arguments", () => {
  describe("a bad constructor argument fails the build with a defect naming the argument and the value", () => {
    it.effect.each(buildRows)("$call", (row) =>
      Effect.gen(function*() {
        assert.strictEqual(illegalArgument(yield* row.build()), row.message)
      }))
  })

  describe("a bad method argument dies naming the argument and the value; nothing changes", () => {
    it.effect.each(callRows)("$call", (row) =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(3))
        const before = yield* counters(tasks)
        let ran = false
        const message = illegalArgument(yield* Effect.exit(row.run(tasks, Effect.sync(() => (ran = true)))))
        assert.strictEqual(message, row.message)
        yield* settle
        assert.isFalse(ran, "the body never runs")
        assert.deepStrictEqual(yield* tasks.snapshot, [], "nothing is registered")
        assert.strictEqual(yield* tasks.workers, 3, "the bound is unchanged")
        assert.strictEqual(yield* observedBound(tasks, 3), 3)
        yield* stillWorks(tasks, before)
        yield* close
      }))
  })

  describe("yieldSlot and yieldQuiescent with a self that is not an Effect die inside a task; the task keeps its slot and count", () => {
    const rows = notEffects.flatMap(([value, shown]) =>
      (["yieldSlot", "yieldQuiescent"] as const).map((method) => ({ method, value, shown }))
    )
    it.effect.each(rows)("$method($shown)", ({ method, shown, value }) =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(1))
        const seen = yield* Deferred.make<readonly [string, number]>()
        yield* tasks.go(
          "caller",
          Effect.gen(function*() {
            const exit = yield* Effect.exit(tasks[method](value as Effect.Effect<void>))
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
  })

  describe("a bound <= 0 or ±Infinity means unbounded", () => {
    const values = [Infinity, -Infinity, 0, -1, -3, -7.5]
    it.effect.each(values)("layerBounded(%s)", (value) =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(value))
        assert.isUndefined(yield* tasks.workers)
        assert.strictEqual(yield* observedBound(tasks, 12), 12)
        yield* close
      }))

    it.effect.each(values)("make({ workers: %s })", (value) =>
      Effect.gen(function*() {
        const tasks = yield* TaskService.make({ workers: value })
        assert.isUndefined(yield* tasks.workers)
        assert.strictEqual(yield* observedBound(tasks, 12), 12)
      }))

    it.effect.each(values)("resize(%s)", (value) =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
        yield* tasks.resize(value)
        assert.isUndefined(yield* tasks.workers)
        assert.strictEqual(yield* observedBound(tasks, 12), 12)
        yield* stillWorks(tasks, { active: 0, failures: 0 })
        yield* close
      }))
  })

  it.effect("make({ workers: undefined }) and make() use the default bound", () =>
    Effect.gen(function*() {
      const a = yield* TaskService.make({ workers: undefined })
      const b = yield* TaskService.make()
      assert.strictEqual(yield* a.workers, TaskService.defaultWorkers())
      assert.strictEqual(yield* b.workers, TaskService.defaultWorkers())
    }))

  describe("thresholds with a documented meaning", () => {
    it.effect("awaitQuiescence(-1) never completes, and leaves nothing behind when interrupted", () =>
      Effect.gen(function*() {
        const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
        const waiter = yield* Effect.forkChild(tasks.awaitQuiescence(-1))
        yield* settle
        assert.isFalse(isDone(waiter), "idle service, still waiting")
        yield* tasks.go("t", Effect.void)
        yield* tasks.blockTillDone
        yield* settle
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
        yield* settle
        assert.isFalse(isDone(half), "count 1 > 0.5")
        yield* close // the task is interrupted: count 0
        yield* Fiber.join(half)
      }))
  })
})
