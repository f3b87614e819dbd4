import { assert, describe, it } from "@effect/vitest"
import { Context, Data, Deferred, Effect, Equal, Exit, Fiber, Latch, Layer, Scope, Stream } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestConsole } from "effect/testing"
import { settle, until, untilEffect, untilState } from "./helpers/waits.ts"

// Deterministic tests of `Coalescer` (CONTRACT.md, section "Coalescer").
// Every wait is a Deferred/Latch gate; `yieldNow` only lets already-runnable
// fibers take their turn. The random programs live in Coalescer.random-programs*.test.ts.

class AppKey extends Data.Class<{ readonly id: number }> {}

/** `log.push(label)` as an effect */
const record = (log: Array<string>, label: string) => Effect.sync(() => void log.push(label))

/**
 * A body that records `<label>:start`, signals `started`, waits for `gate`,
 * then records `<label>:end`.
 */
const gated = (
  log: Array<string>,
  label: string,
  started: Deferred.Deferred<void>,
  gate: Deferred.Deferred<void>
): Effect.Effect<void> =>
  record(log, `${label}:start`).pipe(
    Effect.andThen(Deferred.succeed(started, undefined)),
    Effect.andThen(Deferred.await(gate)),
    Effect.andThen(record(log, `${label}:end`))
  )

const open = (gate: Deferred.Deferred<void>) => Deferred.succeed(gate, undefined)

/** A fresh `[started, gate]` pair of Deferreds for a `gated` body. */
const startGate = Effect.all([Deferred.make<void>(), Deferred.make<void>()])

/**
 * Waits for a body's `started` signal, then yields once. `Deferred.succeed`
 * resumes its waiter synchronously, inside the body's step — when that is the
 * body's first step, inside the service's start of the task. The extra yield
 * lets that step finish before the test goes on.
 */
const awaitStarted = (started: Deferred.Deferred<void>) => Effect.andThen(Deferred.await(started), Effect.yieldNow)

/** The service in context, a string-keyed coalescer on it, and a log for `record`. */
const setup = Effect.gen(function*() {
  const tasks = yield* TaskService
  const c = yield* Coalescer.make<string>()
  const log: Array<string> = []
  return { c, log, tasks }
})

/** Waits for every task, then checks the log and that no key is left in `c` (of any key type: only its size is read). */
const drained = (
  tasks: TaskService.Shape,
  c: Coalescer<never>,
  log: ReadonlyArray<string>,
  expected: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    yield* tasks.blockTillDone
    assert.deepStrictEqual(log, expected)
    assert.strictEqual(yield* c.size, 0)
  })

/**
 * Bound 1: key "k" runs "first"; "second" is submitted during it; a task
 * "other" parks; "first" ends, so the re-run queues behind "other", which now
 * runs (held at `otherGate`).
 */
const rerunQueuedBehindOther = Effect.gen(function*() {
  const { c, log, tasks } = yield* setup
  const [started, gate] = yield* startGate
  const [otherStarted, otherGate] = yield* startGate
  yield* c.submit("first", "k", gated(log, "first", started, gate))
  yield* awaitStarted(started)
  yield* c.submit("second", "k", record(log, "second"))
  yield* tasks.go("other", gated(log, "other", otherStarted, otherGate))
  yield* open(gate)
  yield* awaitStarted(otherStarted)
  return { c, log, otherGate, tasks }
})

/** A service with its own scope (closed by the test) and a coalescer on it. */
const ownedCoalescer = (workers: number) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(TaskService.layerBounded(workers), scope)
    const tasks = Context.get(context, TaskService)
    const c = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
    return { c, scope, tasks }
  })

/** The `task "<name>" failed` messages logged so far (TestConsole). */
const failureMessages = Effect.map(
  TestConsole.logLines,
  (lines) => lines.filter((line): line is string => typeof line === "string" && /^task ".*" failed$/.test(line))
)

/** Until `n` `task "<name>" failed` lines have been logged (each is written on the failed task's own fiber). */
const untilFailureLines = (n: number) =>
  untilEffect(`${n} failure lines are logged`, Effect.map(failureMessages, (lines) => lines.length >= n))

/** Until the `changes` collector has received `n` values. */
const untilChanges = (changes: ReadonlyArray<number>, n: number) =>
  until(`the activeChanges collector has ${n} values`, () => changes.length >= n, () => `[${changes.join(", ")}]`)

/** Collects `activeChanges` on a child fiber; returns the array and the fiber. */
const collectChanges = (tasks: TaskService.Shape) =>
  Effect.gen(function*() {
    const changes: Array<number> = []
    const fiber = yield* Effect.forkChild(
      Stream.runForEach(tasks.activeChanges, (n) => Effect.sync(() => void changes.push(n)))
    )
    yield* untilChanges(changes, 1)
    assert.deepStrictEqual(changes, [0], "the collector has subscribed")
    return { changes, fiber }
  })

const coalescerEntries = (tasks: TaskService.Shape) =>
  Effect.map(
    tasks.snapshot,
    (infos) =>
      infos.map((info) =>
        "key" in info ? { name: info.name, state: info.state, key: info.key } : { name: info.name, state: info.state }
      )
  )

describe("Coalescer", () => {
  describe("registration and size", () => {
    it.effect("an idle key registers a run at once; size reads 1 while it is registered and 0 after", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const [started, gate] = yield* startGate
        assert.strictEqual(yield* c.size, 0)

        yield* c.submit("a", "k", gated(log, "a", started, gate))
        // submit never waits: the body has not run yet, but the run is registered and counted
        assert.deepStrictEqual(log, [])
        assert.strictEqual(yield* c.size, 1)
        assert.strictEqual(yield* tasks.activeCount, 1)

        yield* awaitStarted(started)
        assert.deepStrictEqual(log, ["a:start"])
        assert.strictEqual(yield* c.size, 1)
        assert.deepStrictEqual(yield* coalescerEntries(tasks), [{ name: "a", state: "running", key: "k" }])

        yield* open(gate)
        yield* drained(tasks, c, log, ["a:start", "a:end"])
        assert.strictEqual(yield* tasks.activeCount, 0)
        assert.strictEqual(yield* tasks.failures, 0)
        assert.deepStrictEqual(yield* tasks.snapshot, [])
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("distinct keys each get their own run; size counts keys", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const c = yield* Coalescer.make<number>()
        const log: Array<string> = []
        yield* c.submit("one", 1, record(log, "one"))
        yield* c.submit("two", 2, record(log, "two"))
        yield* c.submit("one-again", 1, record(log, "one-again"))
        assert.strictEqual(yield* c.size, 2)
        assert.strictEqual(yield* tasks.activeCount, 2)
        yield* drained(tasks, c, log, ["one-again", "two"])
      }).pipe(Effect.provide(TaskService.layerBounded(1))))
  })

  describe("coalescing", () => {
    it.effect("submits while the run is parked collapse into it: one run, of the latest body", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const [blockerStarted, blockerGate] = yield* startGate
        yield* tasks.go("blocker", gated(log, "blocker", blockerStarted, blockerGate))
        yield* awaitStarted(blockerStarted)

        for (let i = 0; i < 4; i++) {
          yield* c.submit(`s${i}`, "k", record(log, `s${i}`))
          assert.strictEqual(yield* c.size, 1)
          assert.strictEqual(yield* tasks.activeCount, 2)
        }
        assert.deepStrictEqual(yield* coalescerEntries(tasks), [
          { name: "blocker", state: "running" },
          { name: "s3", state: "parked", key: "k" }
        ])

        yield* open(blockerGate)
        yield* drained(tasks, c, log, ["blocker:start", "blocker:end", "s3"])
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("K submits during a run cause exactly one re-run, of the latest body under its name", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const seen: Array<unknown> = []
        const [started, gate] = yield* startGate
        yield* c.submit("first", "k", gated(log, "first", started, gate))
        yield* awaitStarted(started)

        for (let i = 0; i < 5; i++) {
          yield* c.submit(
            `s${i}`,
            "k",
            record(log, `s${i}`).pipe(
              Effect.andThen(coalescerEntries(tasks)),
              Effect.tap((entries) => Effect.sync(() => void seen.push(entries)))
            )
          )
        }
        // still one registered run, still executing the first body under the first name
        assert.strictEqual(yield* c.size, 1)
        assert.strictEqual(yield* tasks.activeCount, 1)
        assert.deepStrictEqual(yield* coalescerEntries(tasks), [{ name: "first", state: "running", key: "k" }])

        yield* open(gate)
        yield* tasks.blockTillDone
        assert.deepStrictEqual(log, ["first:start", "first:end", "s4"])
        assert.deepStrictEqual(seen, [[{ name: "s4", state: "running", key: "k" }]])
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.failures, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("submits while the re-run waits for a slot collapse into it: one re-run, of the latest body", () =>
      Effect.gen(function*() {
        const { c, log, otherGate, tasks } = yield* rerunQueuedBehindOther

        yield* c.submit("third", "k", record(log, "third"))
        yield* c.submit("fourth", "k", record(log, "fourth"))
        assert.strictEqual(yield* c.size, 1)
        assert.strictEqual(yield* tasks.activeCount, 2)
        assert.deepStrictEqual(yield* coalescerEntries(tasks), [
          { name: "fourth", state: "parked", key: "k" },
          { name: "other", state: "running" }
        ])

        yield* open(otherGate)
        yield* drained(tasks, c, log, ["first:start", "first:end", "other:start", "other:end", "fourth"])
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    // Regression: a run that had ended and queued again for a slot kept the
    // previous run's name in `snapshot` until it started, although it executes
    // the latest body "under its name" (CONTRACT, Coalescer).
    it.effect("a re-run waiting for a slot is reported under the latest submit's name", () =>
      Effect.gen(function*() {
        const { otherGate, tasks } = yield* rerunQueuedBehindOther
        assert.deepStrictEqual(yield* coalescerEntries(tasks), [
          { name: "second", state: "parked", key: "k" },
          { name: "other", state: "running" }
        ])
        yield* open(otherGate)
        yield* tasks.blockTillDone
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("a failing latest body is logged under its own name, once", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const [started, gate] = yield* startGate
        yield* c.submit("first", "k", gated(log, "first", started, gate))
        yield* awaitStarted(started)
        yield* c.submit("middle", "k", record(log, "middle"))
        yield* c.submit("latest", "k", Effect.andThen(record(log, "latest"), Effect.fail("boom")))

        yield* open(gate)
        yield* tasks.blockTillDone
        yield* untilFailureLines(1)
        assert.deepStrictEqual(log, ["first:start", "first:end", "latest"])
        assert.strictEqual(yield* tasks.failures, 1)
        assert.deepStrictEqual(yield* failureMessages, [`task "latest" failed`])
        assert.strictEqual(yield* c.size, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("a submit during the re-run causes a third run", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const [started1, gate1] = yield* startGate
        const [started2, gate2] = yield* startGate
        yield* c.submit("first", "k", gated(log, "first", started1, gate1))
        yield* awaitStarted(started1)
        yield* c.submit("s0", "k", record(log, "s0"))
        yield* c.submit("s1", "k", gated(log, "s1", started2, gate2))

        yield* open(gate1)
        yield* awaitStarted(started2)
        assert.strictEqual(yield* c.size, 1)
        assert.strictEqual(yield* tasks.activeCount, 1)
        yield* c.submit("third", "k", record(log, "third"))
        yield* c.submit("fourth", "k", record(log, "fourth"))
        assert.strictEqual(yield* c.size, 1)

        yield* open(gate2)
        yield* drained(tasks, c, log, ["first:start", "first:end", "s1:start", "s1:end", "fourth"])
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("a submit from inside the key's own body causes exactly one re-run", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        yield* c.submit(
          "first",
          "k",
          record(log, "first:start").pipe(
            Effect.andThen(c.submit("inner", "k", record(log, "inner"))),
            Effect.andThen(record(log, "first:end"))
          )
        )
        yield* drained(tasks, c, log, ["first:start", "first:end", "inner"])
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("a submit from the body's finalizer, as the run returns, causes a re-run", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        yield* c.submit(
          "first",
          "k",
          record(log, "first").pipe(Effect.ensuring(c.submit("finalizer", "k", record(log, "finalizer"))))
        )
        yield* drained(tasks, c, log, ["first", "finalizer"])
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("a submit from another fiber woken by the same gate as the run causes a later run", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const gate = yield* Latch.make(false)
        yield* c.submit("first", "k", record(log, "first:start").pipe(Effect.andThen(gate.await)))
        const other = yield* Effect.forkChild(
          gate.await.pipe(
            Effect.andThen(record(log, "submit")),
            Effect.andThen(c.submit("second", "k", record(log, "second")))
          )
        )
        yield* settle // the submitter waits on the gate
        assert.deepStrictEqual(log, ["first:start"])
        yield* gate.open
        yield* Fiber.join(other)
        yield* drained(tasks, c, log, ["first:start", "submit", "second"])
      }).pipe(Effect.provide(TaskService.layerBounded(1))))
  })

  describe("failures", () => {
    for (
      const [kind, fail] of [
        ["failing", Effect.fail("boom")],
        ["dying", Effect.die("boom")]
      ] as const
    ) {
      it.effect(`a ${kind} run is counted once, its pending re-run still happens, and the key works afterwards`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const c = yield* Coalescer.make<string>()
          const log: Array<string> = []
          const [started, gate] = yield* startGate
          yield* c.submit("first", "k", Effect.andThen(gated(log, "first", started, gate), fail))
          yield* awaitStarted(started)
          yield* c.submit("second", "k", record(log, "second"))

          yield* open(gate)
          yield* tasks.blockTillDone
          yield* untilFailureLines(1)
          assert.deepStrictEqual(log, ["first:start", "first:end", "second"])
          assert.strictEqual(yield* tasks.failures, 1)
          assert.deepStrictEqual(yield* failureMessages, [`task "first" failed`])
          assert.strictEqual(yield* c.size, 0)
          assert.strictEqual(yield* tasks.activeCount, 0)

          yield* c.submit("third", "k", record(log, "third"))
          assert.strictEqual(yield* c.size, 1)
          yield* tasks.blockTillDone
          assert.deepStrictEqual(log, ["first:start", "first:end", "second", "third"])
          assert.strictEqual(yield* tasks.failures, 1)
          assert.strictEqual(yield* c.size, 0)
        }).pipe(Effect.provide(TaskService.layerBounded(2))))

      it.effect(`a ${kind} run without a pending submit is counted once and removes its entry`, () =>
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const c = yield* Coalescer.make<string>()
          yield* c.submit("only", "k", fail)
          yield* tasks.blockTillDone
          yield* untilFailureLines(1)
          assert.strictEqual(yield* tasks.failures, 1)
          assert.deepStrictEqual(yield* failureMessages, [`task "only" failed`])
          assert.strictEqual(yield* c.size, 0)
          assert.strictEqual(yield* tasks.activeCount, 0)
        }).pipe(Effect.provide(TaskService.layerBounded(2))))
    }

    it.effect("a failing re-run after a failing run counts two failures and leaves no entry", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const c = yield* Coalescer.make<string>()
        const [started, gate] = yield* startGate
        yield* c.submit("first", "k", Effect.andThen(gated([], "first", started, gate), Effect.die("x")))
        yield* awaitStarted(started)
        yield* c.submit("second", "k", Effect.fail("y"))
        yield* open(gate)
        yield* tasks.blockTillDone
        yield* untilFailureLines(2)
        assert.strictEqual(yield* tasks.failures, 2)
        assert.deepStrictEqual(yield* failureMessages, [`task "first" failed`, `task "second" failed`])
        assert.strictEqual(yield* c.size, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))
  })

  describe("interruption and shutdown", () => {
    it.effect("interrupting a run whose re-run waits for a slot leaves no entry; the key runs again on the next submit", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        let runFiber: Fiber.Fiber<unknown, unknown> | undefined
        const [started, gate] = yield* startGate
        const [otherStarted, otherGate] = yield* startGate
        yield* c.submit(
          "first",
          "k",
          Effect.withFiber((fiber) => Effect.sync(() => void (runFiber = fiber))).pipe(
            Effect.andThen(gated(log, "first", started, gate))
          )
        )
        yield* awaitStarted(started)
        yield* c.submit("second", "k", record(log, "second"))
        yield* tasks.go("other", gated(log, "other", otherStarted, otherGate))

        // the run ends, gives its slot to "other" and queues for a new one
        yield* open(gate)
        yield* awaitStarted(otherStarted)
        assert.deepStrictEqual((yield* tasks.snapshot).map((info) => [info.key, info.state]), [
          ["k", "parked"],
          [undefined, "running"]
        ])
        assert.strictEqual(yield* c.size, 1)
        assert.strictEqual(yield* tasks.activeCount, 2)

        yield* Fiber.interrupt(runFiber!)
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.activeCount, 1)

        yield* open(otherGate)
        yield* tasks.blockTillDone
        assert.deepStrictEqual(log, ["first:start", "first:end", "other:start", "other:end"])
        assert.strictEqual(yield* tasks.failures, 0)

        yield* c.submit("third", "k", record(log, "third"))
        assert.strictEqual(yield* c.size, 1)
        yield* drained(tasks, c, log, ["first:start", "first:end", "other:start", "other:end", "third"])
        assert.strictEqual(yield* tasks.activeCount, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("a run interrupted while executing with a submit pending is followed by a new run", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        let runFiber: Fiber.Fiber<unknown, unknown> | undefined
        const started = yield* Deferred.make<void>()
        const { changes, fiber: collector } = yield* collectChanges(tasks)
        yield* c.submit(
          "first",
          "k",
          Effect.withFiber((fiber) => Effect.sync(() => void (runFiber = fiber))).pipe(
            Effect.andThen(record(log, "first:start")),
            Effect.andThen(Deferred.succeed(started, undefined)),
            Effect.andThen(Effect.never),
            Effect.onInterrupt(() => record(log, "first:interrupted"))
          )
        )
        yield* awaitStarted(started)
        const [started2, gate2] = yield* startGate
        yield* c.submit("second", "k", gated(log, "second", started2, gate2))

        yield* Fiber.interrupt(runFiber!)
        yield* awaitStarted(started2)
        assert.strictEqual(yield* c.size, 1)
        assert.strictEqual(yield* tasks.activeCount, 1)
        assert.deepStrictEqual(yield* coalescerEntries(tasks), [{ name: "second", state: "running", key: "k" }])
        yield* open(gate2)
        yield* tasks.blockTillDone
        yield* settle // nothing more runs
        assert.deepStrictEqual(log, ["first:start", "first:interrupted", "second:start", "second:end"])
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.failures, 0)
        // the count never reads 0 between the interrupted run and its replacement
        assert.deepStrictEqual(changes, [0, 1, 2, 1, 0])
        yield* Fiber.interrupt(collector)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("a run interrupted while executing without a pending submit removes its entry", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        let runFiber: Fiber.Fiber<unknown, unknown> | undefined
        const started = yield* Deferred.make<void>()
        yield* c.submit(
          "first",
          "k",
          Effect.withFiber((fiber) => Effect.sync(() => void (runFiber = fiber))).pipe(
            Effect.andThen(Deferred.succeed(started, undefined)),
            Effect.andThen(Effect.never)
          )
        )
        yield* awaitStarted(started)
        yield* Fiber.interrupt(runFiber!)
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
        assert.strictEqual(yield* tasks.failures, 0)

        yield* c.submit("again", "k", record(log, "again"))
        yield* drained(tasks, c, log, ["again"])
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("shutdown before the run starts leaves no entry; a submit after shutdown does nothing", () =>
      Effect.gen(function*() {
        const { c, scope, tasks } = yield* ownedCoalescer(1)
        const log: Array<string> = []
        const blockerStarted = yield* Deferred.make<void>()
        yield* tasks.go(
          "blocker",
          gated(log, "blocker", blockerStarted, yield* Deferred.make<void>()).pipe(
            Effect.onInterrupt(() => record(log, "blocker:interrupted"))
          )
        )
        yield* awaitStarted(blockerStarted)
        yield* c.submit("parked", "k", record(log, "parked"))
        assert.strictEqual(yield* c.size, 1)
        assert.strictEqual(yield* tasks.activeCount, 2)

        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
        assert.deepStrictEqual(log, ["blocker:start", "blocker:interrupted"])

        yield* c.submit("after", "k", record(log, "after"))
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
        yield* settle // the late submit never runs
        yield* drained(tasks, c, log, ["blocker:start", "blocker:interrupted"])
        assert.strictEqual(yield* tasks.failures, 0)
      }))

    it.effect("shutdown while a re-run waits for a slot leaves no entry", () =>
      Effect.gen(function*() {
        const { c, scope, tasks } = yield* ownedCoalescer(1)
        const log: Array<string> = []
        const [started, gate] = yield* startGate
        const otherStarted = yield* Deferred.make<void>()
        yield* c.submit("first", "k", gated(log, "first", started, gate))
        yield* awaitStarted(started)
        yield* c.submit("second", "k", record(log, "second"))
        yield* tasks.go("other", gated(log, "other", otherStarted, yield* Deferred.make<void>()))
        yield* open(gate)
        yield* awaitStarted(otherStarted)
        assert.deepStrictEqual((yield* tasks.snapshot).map((info) => [info.key, info.state]), [
          ["k", "parked"],
          [undefined, "running"]
        ])

        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
        yield* c.submit("after", "k", record(log, "after"))
        yield* settle // the late submit never runs
        assert.deepStrictEqual(log, ["first:start", "first:end", "other:start"])
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.failures, 0)
      }))

    it.effect("shutdown while a run executes with a submit pending leaves no entry and runs nothing more", () =>
      Effect.gen(function*() {
        const { c, scope, tasks } = yield* ownedCoalescer(2)
        const log: Array<string> = []
        const started = yield* Deferred.make<void>()
        yield* c.submit(
          "first",
          "k",
          gated(log, "first", started, yield* Deferred.make<void>()).pipe(
            Effect.onInterrupt(() => record(log, "first:interrupted"))
          )
        )
        yield* awaitStarted(started)
        yield* c.submit("second", "k", record(log, "second"))

        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(yield* c.size, 0)
        assert.strictEqual(yield* tasks.activeCount, 0)
        yield* settle // the pending re-run never runs
        assert.deepStrictEqual(log, ["first:start", "first:interrupted"])
        assert.strictEqual(yield* tasks.failures, 0)
      }))
  })

  describe("counting and fairness", () => {
    it.effect("activeCount never dips to 0 between a run and its re-run", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const { changes, fiber: collector } = yield* collectChanges(tasks)
        const [started1, gate1] = yield* startGate
        const [started2, gate2] = yield* startGate
        yield* c.submit("first", "k", gated(log, "first", started1, gate1))
        yield* awaitStarted(started1)

        const waiter = yield* Effect.forkChild(Effect.andThen(tasks.awaitQuiescence(0), record(log, "quiescent")))
        yield* settle // the waiter has registered (count 1 > 0)
        yield* c.submit("second", "k", gated(log, "second", started2, gate2))

        yield* open(gate1)
        yield* awaitStarted(started2)
        yield* settle // the waiter must not fire between the runs
        assert.deepStrictEqual(log, ["first:start", "first:end", "second:start"])
        assert.strictEqual(yield* tasks.activeCount, 1)

        yield* open(gate2)
        yield* Fiber.join(waiter)
        yield* tasks.blockTillDone
        yield* untilChanges(changes, 3)
        assert.deepStrictEqual(log, ["first:start", "first:end", "second:start", "second:end", "quiescent"])
        assert.deepStrictEqual(changes, [0, 1, 0])
        yield* Fiber.interrupt(collector)
      }).pipe(Effect.provide(TaskService.layerBounded(2))))

    it.effect("with a bound of 1, a parked task runs between a run and its re-run", () =>
      Effect.gen(function*() {
        const { c, log, tasks } = yield* setup
        const { changes, fiber: collector } = yield* collectChanges(tasks)
        const [started, gate] = yield* startGate
        yield* c.submit("first", "k", gated(log, "first", started, gate))
        yield* awaitStarted(started)
        // the re-run is requested before the other task is registered, yet queues behind it
        yield* c.submit("second", "k", record(log, "second"))
        yield* tasks.go("other", record(log, "other"))
        assert.strictEqual(yield* tasks.activeCount, 2)

        yield* open(gate)
        yield* tasks.blockTillDone
        yield* untilChanges(changes, 5)
        assert.deepStrictEqual(log, ["first:start", "first:end", "other", "second"])
        assert.deepStrictEqual(changes, [0, 1, 2, 1, 0])
        assert.strictEqual(yield* c.size, 0)
        yield* Fiber.interrupt(collector)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))

    it.effect("distinct keys run concurrently up to the bound", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const c = yield* Coalescer.make<string>()
        const gate = yield* Latch.make(false)
        const log: Array<string> = []
        let running = 0
        let high = 0
        const started = yield* Effect.forEach([0, 1, 2, 3, 4], () => Deferred.make<void>())
        for (let i = 0; i < 5; i++) {
          yield* c.submit(
            `run-${i}`,
            `key-${i}`,
            Effect.sync(() => {
              running++
              high = Math.max(high, running)
              log.push(`key-${i}`)
            }).pipe(
              Effect.andThen(Deferred.succeed(started[i]!, undefined)),
              Effect.andThen(gate.await),
              Effect.ensuring(Effect.sync(() => void running--))
            )
          )
        }
        assert.strictEqual(yield* c.size, 5)
        yield* awaitStarted(started[2]!)
        yield* settle // no fourth key starts
        assert.strictEqual(running, 3)
        assert.deepStrictEqual(log, ["key-0", "key-1", "key-2"])
        assert.deepStrictEqual(
          (yield* tasks.snapshot).map((info) => [info.key, info.state]),
          [["key-0", "running"], ["key-1", "running"], ["key-2", "running"], ["key-3", "parked"], [
            "key-4",
            "parked"
          ]]
        )

        yield* gate.open
        yield* tasks.blockTillDone
        assert.strictEqual(high, 3)
        assert.deepStrictEqual(log, ["key-0", "key-1", "key-2", "key-3", "key-4"])
        assert.strictEqual(yield* c.size, 0)
      }).pipe(Effect.provide(TaskService.layerBounded(3))))
  })

  describe("keys are compared with Equal", () => {
    class Ref extends Data.Class<{ readonly ns: string; readonly name: string }> {}
    const byRef1 = Equal.byReference({ ns: "x", name: "y" })
    const byRef2 = Equal.byReference({ ns: "x", name: "y" })
    const shared = { ns: "x", name: "app" }

    /** a submit `[label, key]` (parked behind a blocker), or a number: the `size` expected at that point */
    type Step = readonly [label: string, key: unknown] | number

    // effect 4's `Equal.equals` compares plain objects and arrays structurally
    // (unlike effect 3), so equal contents are the same key; an object marked
    // with `Equal.byReference` is compared by reference.
    const rows: ReadonlyArray<
      { readonly name: string; readonly steps: ReadonlyArray<Step>; readonly runs: Array<string> }
    > = [
      {
        name: "Data keys with equal contents share one entry",
        steps: [["one", new Ref({ ns: "a", name: "b" })], ["two", new Ref({ ns: "a", name: "b" })], 1, [
          "other",
          new Ref({ ns: "a", name: "c" })
        ], 2],
        runs: ["two", "other"]
      },
      {
        name: "plain-object keys follow Equal: equal contents share one entry, byReference objects do not",
        steps: [
          ["plain-1", { ns: "a", name: "b" }],
          ["plain-2", { ns: "a", name: "b" }],
          1,
          ["ref-1", byRef1],
          ["ref-2", byRef2],
          ["ref-1-again", byRef1],
          3
        ],
        runs: ["plain-2", "ref-1-again", "ref-2"]
      },
      {
        name: "plain objects and arrays are compared by structure: equal keys collapse",
        steps: [["a", { ns: "x", name: "app" }], ["b", { ns: "x", name: "app" }], ["c", ["x", "app"]], [
          "d",
          ["x", "app"]
        ], 2],
        runs: ["b", "d"]
      },
      {
        name: "each Equal.byReference(o) is a key of its own; Data values are compared by structure",
        steps: [
          ["r1", Equal.byReference(shared)],
          ["r2", Equal.byReference(shared)],
          ["d1", new AppKey({ id: 1 })],
          ["d2", new AppKey({ id: 1 })],
          3
        ],
        runs: ["r1", "r2", "d2"]
      }
    ]

    it.effect.each(rows)("$name", ({ runs, steps }) =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const c = yield* Coalescer.make<unknown>()
        const log: Array<string> = []
        const [blockerStarted, blockerGate] = yield* startGate
        yield* tasks.go("blocker", gated([], "blocker", blockerStarted, blockerGate)) // the runs below stay parked
        yield* awaitStarted(blockerStarted)
        for (const step of steps) {
          if (typeof step === "number") assert.strictEqual(yield* c.size, step)
          else yield* c.submit(step[0], step[1], record(log, step[0]))
        }
        yield* open(blockerGate)
        yield* drained(tasks, c, log, runs)
      }).pipe(Effect.provide(TaskService.layerBounded(1))))
  })

  describe("a run yielding its slot (found by review)", () => {
    const submitters = [
      { from: "outside any task", submit: (_tasks: TaskService.Shape, submit: Effect.Effect<void>) => submit },
      {
        from: "inside another task's body",
        submit: (tasks: TaskService.Shape, submit: Effect.Effect<void>) => tasks.go("submitter", submit)
      }
    ]
    it.effect.each(submitters)("a run submitted from $from can yield its slot", ({ submit }) =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const c = yield* Coalescer.make<string>()
        const gate = yield* Deferred.make<void>()
        const otherRan = yield* Deferred.make<void>()
        yield* submit(tasks, c.submit("run", "k", tasks.yieldSlot(Deferred.await(gate))))
        yield* untilState(tasks, "run", "yielded-slot")
        yield* tasks.go("other", Deferred.succeed(otherRan, undefined))
        yield* until("other has run", () => Deferred.isDoneUnsafe(otherRan))
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
        const c = yield* Coalescer.make<string>()
        const gate = yield* Deferred.make<void>()
        yield* tasks.go("submitter", c.submit("run", "k", tasks.yieldQuiescent(Deferred.await(gate))))
        yield* untilState(tasks, "run", "yielded-quiescent")
        assert.strictEqual(yield* tasks.activeCount, 0)
        yield* Deferred.succeed(gate, undefined)
        yield* tasks.blockTillDone
      }).pipe(Effect.provide(TaskService.layerUnbounded)))
  })
})
