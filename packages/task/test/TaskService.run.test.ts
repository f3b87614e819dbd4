import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Data, Deferred, Effect, Exit, Fiber, Latch, Logger, Option, Scope } from "effect"
import { TaskService } from "effect-task"
import { Gauge, slotsIntact, tracked, untilStarted } from "./helpers/gauge.ts"
import { ownedService } from "./helpers/service.ts"
import { recordSpans } from "./helpers/tracing.ts"
import { settle, until, untilActive, untilParked } from "./helpers/waits.ts"

// `TaskService.run` (CONTRACT.md, "Additions: reconciler features"): a task
// registered like `go` whose caller waits for its exit. Deterministic: every
// wait is a Deferred/Latch gate, `yieldNow` only lets runnable fibers go on.

class Greeting extends Context.Service<Greeting, string>()("test/run/Greeting") {}

class Boom extends Data.TaggedError("Boom")<{ readonly reason: string }> {}

/** Error-level log lines, captured with a logger of the test's own. */
const captureErrors = () => {
  const lines: Array<string> = []
  const logger = Logger.make((options) => {
    if (options.logLevel === "Error") lines.push(String(options.message))
  })
  return { lines, layer: Logger.layer([logger]) }
}

describe("TaskService.run", () => {
  it.effect("returns the body's value; the task was counted while it ran", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const seen = yield* tasks.run("answer", Effect.andThen(Effect.yieldNow, tasks.activeCount))
      assert.strictEqual(seen, 1) // the body counts itself
      assert.strictEqual(yield* tasks.activeCount, 0) // counts are final when run returns
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a synchronous body's value is returned too", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      assert.strictEqual(yield* tasks.run("sync", Effect.succeed(42)), 42)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a typed failure fails the caller with it, counts once, and is not logged", () => {
    const { layer, lines } = captureErrors()
    return Effect.gen(function*() {
      const tasks = yield* TaskService
      const exit = yield* Effect.exit(tasks.run("fails", Effect.fail(new Boom({ reason: "typed" }))))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.deepStrictEqual(Cause.findErrorOption(exit.cause)._tag, "Some")
      assert.deepStrictEqual(exit, Exit.fail(new Boom({ reason: "typed" })))
      assert.strictEqual(yield* tasks.failures, 1)
      yield* settle // nothing is logged late either
      assert.deepStrictEqual(lines, [])
      // the same failure through `go` is logged: the capture works
      yield* tasks.go("go-fails", Effect.fail(new Boom({ reason: "typed" })))
      yield* tasks.blockTillDone
      yield* until("the go failure is logged", () => lines.length > 0)
      assert.deepStrictEqual(lines, [`task "go-fails" failed`])
    }).pipe(Effect.provide(TaskService.layerBounded(2)), Effect.provide(layer))
  })

  it.effect("a defect fails the caller with it, counts once, and is not logged", () => {
    const { layer, lines } = captureErrors()
    return Effect.gen(function*() {
      const tasks = yield* TaskService
      const defect = new Error("defect")
      const exit = yield* Effect.exit(tasks.run("dies", Effect.andThen(Effect.yieldNow, Effect.die(defect))))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      if (Exit.isFailure(exit)) {
        assert.strictEqual(exit.cause.reasons.find(Cause.isDieReason)?.defect, defect)
      }
      assert.strictEqual(yield* tasks.failures, 1)
      yield* settle // nothing is logged late either
      assert.deepStrictEqual(lines, [])
    }).pipe(Effect.provide(TaskService.layerBounded(2)), Effect.provide(layer))
  })

  it.effect("interrupting a caller whose task runs interrupts the task and waits for it", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const started = yield* Deferred.make<void>()
      const log: Array<string> = []
      const body = Deferred.succeed(started, undefined).pipe(
        Effect.andThen(Effect.never),
        Effect.onInterrupt(() => Effect.sync(() => log.push("task interrupted")))
      )
      const caller = yield* Effect.forkChild(tasks.run("long", body))
      yield* Deferred.await(started)
      assert.strictEqual(yield* tasks.activeCount, 1)
      yield* Fiber.interrupt(caller)
      // the task's finalizer ran before the caller's interruption completed
      assert.deepStrictEqual(log, ["task interrupted"])
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("interrupting a caller whose task is parked drops the task: it never runs and leaves the count", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      yield* tasks.go("holder", gate.await)
      let ran = false
      const caller = yield* Effect.forkChild(tasks.run("parked", Effect.sync(() => (ran = true))))
      yield* untilParked(tasks, "parked")
      assert.strictEqual(yield* tasks.activeCount, 2)
      const parked = (yield* tasks.snapshot).find((info) => info.name === "parked")
      assert.strictEqual(parked?.state, "parked")
      yield* Fiber.interrupt(caller)
      assert.strictEqual(yield* tasks.activeCount, 1)
      assert.deepStrictEqual((yield* tasks.snapshot).map((info) => info.name), ["holder"])
      yield* gate.open
      yield* tasks.blockTillDone
      assert.isFalse(ran)
      // the slot the dropped task never took is free
      assert.strictEqual(yield* tasks.run("after", Effect.succeed("ok")), "ok")
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a task interrupted by shutdown interrupts its caller (running and parked)", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(1))
      const started = yield* Deferred.make<void>()
      const running = yield* Effect.forkChild(
        Effect.exit(tasks.run("running", Effect.andThen(Deferred.succeed(started, undefined), Effect.never)))
      )
      const parked = yield* Effect.forkChild(Effect.exit(tasks.run("parked", Effect.succeed(1))))
      yield* Deferred.await(started)
      yield* untilActive(tasks, 2) // the parked caller has registered too
      yield* Scope.close(scope, Exit.void)
      const runningExit = yield* Fiber.join(running)
      const parkedExit = yield* Fiber.join(parked)
      assert.isTrue(Exit.isFailure(runningExit) && Cause.hasInterruptsOnly(runningExit.cause))
      assert.isTrue(Exit.isFailure(parkedExit) && Cause.hasInterruptsOnly(parkedExit.cause))
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.strictEqual(yield* tasks.failures, 0)
    }))

  it.effect("after shutdown, run registers nothing and interrupts its caller", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(1))
      yield* Scope.close(scope, Exit.void)
      let ran = false
      const exit = yield* Effect.exit(tasks.run("late", Effect.sync(() => (ran = true))))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
      assert.isFalse(ran)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }))

  it.effect("run and go share the bound and one first come, first served order", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gauge = new Gauge()
      const gate = yield* Latch.make(false)
      yield* tasks.go("g0", tracked(gauge, "g0", gate.await))
      yield* tasks.run("h0", tracked(gauge, "h0", gate.await)).pipe(Effect.forkChild)
      yield* untilStarted(gauge, 2)
      const callers: Array<Fiber.Fiber<string>> = []
      for (let i = 1; i <= 6; i++) {
        const name = `${i % 2 === 0 ? "g" : "r"}${i}`
        const body = tracked(gauge, name, Effect.andThen(Effect.yieldNow, Effect.succeed(name)))
        if (i % 2 === 0) yield* tasks.go(name, body)
        else callers.push(yield* Effect.forkChild(tasks.run(name, body)))
        yield* untilActive(tasks, i + 2) // registered in this order
      }
      assert.strictEqual(yield* tasks.activeCount, 8) // parked `run` tasks count
      assert.deepStrictEqual(gauge.starts, ["g0", "h0"])
      yield* gate.open
      assert.deepStrictEqual(yield* Effect.forEach(callers, Fiber.join), ["r1", "r3", "r5"])
      yield* tasks.blockTillDone
      assert.deepStrictEqual(gauge.starts, ["g0", "h0", "r1", "g2", "r3", "g4", "r5", "g6"])
      assert.strictEqual(gauge.high, 2)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("the body inherits the caller's services and runs in a span child of the caller's span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = yield* recordSpans
      const tasks = yield* TaskService
      const [greeting, parent] = yield* tasks.run(
        "greet",
        Effect.gen(function*() {
          return [yield* Greeting, yield* Effect.currentSpan] as const
        })
      ).pipe(Effect.withSpan("caller"), Effect.provideService(Greeting, "hello"), Effect.withTracer(tracer))
      assert.strictEqual(greeting, "hello")
      assert.strictEqual(parent.name, "greet")
      assert.deepStrictEqual(spans.map((span) => span.name), ["caller", "greet"])
      assert.strictEqual(Option.getOrUndefined(parent.parent), spans[0])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("interrupting the caller after every step leaves nothing behind", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      // steps of the uninterrupted scenario: a `go` task ahead (bound 1), then the run's body
      const scenario = (interruptAfter: number) =>
        Effect.gen(function*() {
          const log: Array<string> = []
          yield* tasks.go("ahead", Effect.andThen(Effect.yieldNow, Effect.yieldNow))
          const body = Effect.gen(function*() {
            log.push("start")
            yield* Effect.yieldNow
            yield* Effect.yieldNow
            log.push("end")
            return "value"
          }).pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted"))))
          const caller = yield* Effect.forkChild(tasks.run("body", body), { startImmediately: true })
          let steps = 0
          while (caller.pollUnsafe() === undefined && steps < interruptAfter) {
            yield* Effect.yieldNow
            steps++
          }
          const exit = caller.pollUnsafe() ?? (yield* Effect.andThen(Fiber.interrupt(caller), Fiber.await(caller)))
          yield* tasks.blockTillDone
          assert.strictEqual(yield* tasks.activeCount, 0)
          assert.strictEqual(yield* tasks.failures, 0)
          if (Exit.isSuccess(exit)) assert.deepStrictEqual([exit.value, log], ["value", ["start", "end"]])
          else {
            assert.isTrue(Cause.hasInterruptsOnly(exit.cause))
            // the body never started, or it was interrupted: it never ended on its own
            assert.isTrue(log.length === 0 || (log.length === 2 && log[1] === "interrupted"), log.join())
          }
          return steps
        })
      const total = yield* scenario(Infinity)
      assert.isAbove(total, 2)
      for (let k = 0; k <= total; k++) yield* scenario(k)
      assert.strictEqual(yield* slotsIntact(tasks, 1), 1)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))
})
