import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Latch, Layer, Schema, Scope } from "effect"
import { TaskService } from "effect-task"
import { MessageStorage } from "effect/cluster"
import { ClusterCoalescer } from "../src/index.ts"
import { Boom, cluster, clusterOnly, Echo, makeHandler, Recorder } from "./helpers.ts"

// Runs on an in-memory cluster (TestRunner.layer): one process, effect's own
// sharding and message storage, the runner's TaskService. Every wait is a
// Latch or an awaited submit; no test sleeps for real.

/** Waits until `predicate` holds, letting the cluster's fibers run (polled every millisecond). */
const eventually = (predicate: () => boolean | Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    while (true) {
      const holds = predicate()
      if (typeof holds === "boolean" ? holds : yield* holds) return
      yield* Effect.sleep(1)
    }
  }).pipe(Effect.timeout("10 seconds"), Effect.orDie)

describe("ClusterCoalescer on TestRunner", () => {
  it.live("a burst during a run collapses into one next run that covers every submit of the burst", () =>
    Effect.gen(function*() {
      const recorder = new Recorder()
      const gate = yield* Latch.make(false)
      const handler = makeHandler(
        recorder,
        (run) => Effect.as(run.payload.value === 0 ? gate.await : Effect.void, run.payload.value)
      )
      yield* Effect.gen(function*() {
        const echo = yield* ClusterCoalescer.client(Echo)
        yield* echo.submit("app", { value: 0 })
        yield* eventually(() => recorder.runs.length === 1) // the first run holds at the gate
        for (let i = 1; i <= 20; i++) yield* echo.submit("app", { value: i })
        yield* gate.open
        const last = yield* echo.submitAndAwait("app", { value: 21 })
        assert.isAtMost(recorder.runs.length, 3)
        // every submit covered exactly once, in order; the last run covers the latest submit
        assert.deepStrictEqual(recorder.runs.flatMap((r) => r.covered), Array.from({ length: 22 }, (_, i) => i))
        assert.strictEqual(recorder.runs.at(-1)!.payload, 21)
        assert.strictEqual(last, 21)
        assert.strictEqual(recorder.keyHighWater, 1)
      }).pipe(Effect.provide(cluster(handler)))
    }))

  it.live("the run receives the latest payload of its batch, and every submit of the batch its result", () =>
    Effect.gen(function*() {
      const recorder = new Recorder()
      const gate = yield* Latch.make(false)
      const handler = makeHandler(
        recorder,
        (run) => Effect.as(run.payload.value === 0 ? gate.await : Effect.void, run.payload.value * 10)
      )
      yield* Effect.gen(function*() {
        const echo = yield* ClusterCoalescer.client(Echo)
        const memory = yield* MessageStorage.MemoryDriver
        const first = yield* Effect.forkChild(echo.submitAndAwait("db", { value: 0 }))
        yield* eventually(() => recorder.runs.length === 1)
        const waiters = yield* Effect.forEach(
          [1, 2, 3],
          (value) => Effect.forkChild(echo.submitAndAwait("db", { value }))
        )
        yield* eventually(() => memory.unprocessed.size === 4) // all stored while the first run holds
        yield* gate.open
        assert.strictEqual(yield* Fiber.join(first), 0)
        const results = yield* Effect.forEach(waiters, Fiber.join)
        // each waiter gets the value of the run that covered it, computed from that run's latest payload
        const covering = (value: number) => recorder.runs.find((r) => r.covered.includes(value))!
        assert.deepStrictEqual(results, [1, 2, 3].map((value) => covering(value).payload * 10))
        assert.deepStrictEqual(recorder.runs.flatMap((r) => r.covered), [0, 1, 2, 3])
        assert.isAtMost(recorder.runs.length, 3)
      }).pipe(Effect.provide(cluster(handler)))
    }))

  it.live("keys run independently, each key one run at a time", () =>
    Effect.gen(function*() {
      const recorder = new Recorder()
      const handler = makeHandler(recorder, (run) => Effect.as(Effect.sleep(5), run.payload.value))
      yield* Effect.gen(function*() {
        const echo = yield* ClusterCoalescer.client(Echo)
        const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
        for (let round = 0; round < 5; round++) {
          for (const key of keys) yield* echo.submit(key, { value: round })
        }
        yield* Effect.forEach(keys, (key) => echo.submitAndAwait(key, { value: 5 }), { concurrency: "unbounded" })
        for (const key of keys) {
          const runs = recorder.runs.filter((r) => r.key === key)
          assert.deepStrictEqual(runs.flatMap((r) => r.covered), [0, 1, 2, 3, 4, 5], key)
          assert.strictEqual(runs.at(-1)!.payload, 5)
          assert.isBelow(runs.length, 6, `${key}: ${runs.length} runs for 6 submits`)
        }
        assert.strictEqual(recorder.keyHighWater, 1)
      }).pipe(Effect.provide(cluster(handler)))
    }))

  it.live("runs are tasks of the runner's TaskService: its bound holds across keys", () =>
    Effect.gen(function*() {
      const recorder = new Recorder()
      const gate = yield* Latch.make(false)
      const handler = makeHandler(recorder, (run) => Effect.as(gate.await, run.payload.value))
      yield* Effect.gen(function*() {
        const echo = yield* ClusterCoalescer.client(Echo)
        const tasks = yield* TaskService
        const fibers = yield* Effect.forEach(
          Array.from({ length: 6 }, (_, i) => `k${i}`),
          (key) => Effect.forkChild(echo.submitAndAwait(key, { value: 1 }))
        )
        yield* eventually(() => recorder.runs.length === 2)
        yield* eventually(() => Effect.map(tasks.activeCount, (n) => n === 6)) // two running, four parked for a slot
        assert.strictEqual(recorder.inFlight, 2)
        yield* gate.open
        yield* Effect.forEach(fibers, Fiber.join)
        assert.strictEqual(recorder.highWater, 2)
        assert.strictEqual(recorder.runs.length, 6)
      }).pipe(Effect.provide(cluster(handler, 2)))
    }))

  it.live("a failed run answers the submits it covers with its error, is counted, and the next submit runs again", () =>
    Effect.gen(function*() {
      const recorder = new Recorder()
      const handler = makeHandler(
        recorder,
        (run) =>
          run.payload.value < 0
            ? Effect.fail(new Boom({ value: run.payload.value }))
            : Effect.succeed(run.payload.value)
      )
      yield* Effect.gen(function*() {
        const echo = yield* ClusterCoalescer.client(Echo)
        const tasks = yield* TaskService
        const failed = yield* Effect.exit(echo.submitAndAwait("x", { value: -1 }))
        assert.isTrue(Exit.isFailure(failed))
        const error = Exit.isFailure(failed) ? Cause.findErrorOption(failed.cause) : undefined
        assert.isTrue(error?._tag === "Some" && error.value instanceof Boom && error.value.value === -1)
        assert.strictEqual(yield* tasks.failures, 1)
        assert.strictEqual(yield* echo.submitAndAwait("x", { value: 2 }), 2)
        assert.deepStrictEqual(recorder.runs.map((r) => r.covered), [[-1], [2]])
      }).pipe(Effect.provide(cluster(handler)))
    }))

  it.live("a run that dies answers with the defect and the key keeps running later submits", () =>
    Effect.gen(function*() {
      const recorder = new Recorder()
      const handler = makeHandler(
        recorder,
        (run) => run.payload.value === 13 ? Effect.die("unlucky") : Effect.succeed(run.payload.value)
      )
      yield* Effect.gen(function*() {
        const echo = yield* ClusterCoalescer.client(Echo)
        const died = yield* Effect.exit(echo.submitAndAwait("y", { value: 13 }))
        assert.isTrue(Exit.isFailure(died) && Cause.hasDies(died.cause))
        assert.strictEqual(yield* echo.submitAndAwait("y", { value: 14 }), 14)
        assert.strictEqual(recorder.inFlight, 0)
      }).pipe(Effect.provide(cluster(handler)))
    }))

  it.live("stopping the runner interrupts a run and waits for it; its submit stays unprocessed in storage", () =>
    Effect.gen(function*() {
      const recorder = new Recorder()
      const handler = makeHandler(recorder, () => Effect.never)
      // the service outlives the cluster: only the entity's own loop can stop the run
      const tasks = yield* TaskService
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(clusterOnly(handler), scope)
      const memory = yield* Effect.provide(MessageStorage.MemoryDriver, context)
      yield* Effect.gen(function*() {
        const echo = yield* ClusterCoalescer.client(Echo)
        yield* echo.submit("z", { value: 1 })
        yield* eventually(() => recorder.inFlight === 1)
      }).pipe(Effect.provide(context))
      yield* Scope.close(scope, Exit.void)
      // the run ended (its finalizer ran) before the runner was gone
      assert.strictEqual(recorder.inFlight, 0)
      assert.strictEqual(recorder.finalized, 1)
      assert.strictEqual(yield* tasks.activeCount, 0)
      // no reply was stored: the submit is delivered again to the key's next owner
      assert.strictEqual(memory.replyIds.size, 0)
      assert.strictEqual(memory.unprocessed.size, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(4))))
})

describe("ClusterCoalescer bad inputs", () => {
  it("make names the argument and the value", () => {
    assert.throws(
      () => ClusterCoalescer.make("", { payload: Schema.Int }),
      /ClusterCoalescer.make: name must be a non-empty string of at most 150 characters, got ""/
    )
    assert.throws(
      () => ClusterCoalescer.make("X", { payload: 42 as any }),
      /ClusterCoalescer.make: options.payload must be a Schema, got 42/
    )
    assert.throws(
      () => ClusterCoalescer.make("X", { payload: Schema.Int, success: "no" as any }),
      /options.success must be a Schema or undefined, got "no"/
    )
  })

  it.live("submit and submitAndAwait die naming key and the value", () =>
    Effect.gen(function*() {
      const echo = yield* ClusterCoalescer.client(Echo)
      const submit = yield* Effect.exit(echo.submit("", { value: 1 }))
      assert.match(
        String(Cause.squash((submit as Exit.Failure<never, never>).cause)),
        /ClusterCoalescer.submit: key must be a non-empty string of at most 255 characters, got ""/
      )
      const awaited = yield* Effect.exit(echo.submitAndAwait(7 as any, { value: 1 }))
      assert.match(
        String(Cause.squash((awaited as Exit.Failure<never, never>).cause)),
        /ClusterCoalescer.submitAndAwait: key must be .*, got 7/
      )
    }).pipe(Effect.provide(cluster(() => Effect.succeed(0)))))

  it.live("fencing without a SqlClient fails to build, naming the option", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(
        Effect.void,
        ClusterCoalescer.layer(Echo, () => Effect.succeed(0), { fencing: true }).pipe(
          Layer.provide(TaskService.layerBounded(1)),
          Layer.provide(cluster(() => Effect.succeed(0)))
        )
      ))
      assert.isTrue(Exit.isFailure(exit))
      assert.match(
        String(Cause.squash((exit as Exit.Failure<never, never>).cause)),
        /options.fencing must be false unless a SqlClient is provided, got true/
      )
    }))
})
