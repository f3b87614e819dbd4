import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Metric, Option, type Scope, type Tracer } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { isolated } from "./helpers/service.ts"
import { recordSpans } from "./helpers/tracing.ts"
import { until, untilEffect } from "./helpers/waits.ts"

describe("metrics", () => {
  it.effect("a scripted run leaves exact gauge, counter and histogram values", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const m = TaskService.metrics
      const gate = yield* Deferred.make<void>()
      yield* tasks.go("ok-1", Effect.sleep("2 seconds"))
      yield* tasks.go("gated", Deferred.await(gate))
      yield* tasks.go("fails", Effect.fail("no"))
      yield* tasks.go("dies", Effect.die("boom"))
      yield* tasks.go("yields", tasks.yieldQuiescent(Deferred.await(gate)))
      yield* untilEffect(
        "two bodies have started",
        Effect.map(Metric.value(m.started), (started) => started.count === 2)
      )
      // bound 2: ok-1 and gated run, the rest are parked
      assert.deepStrictEqual((yield* Metric.value(m.registered)).value, 5)
      assert.deepStrictEqual((yield* Metric.value(m.running)).value, 2)
      assert.deepStrictEqual((yield* Metric.value(m.parked)).value, 3)
      yield* TestClock.adjust("2 seconds")
      // ok-1 done; fails and dies ran; yields is inside yieldQuiescent and holds no slot
      assert.deepStrictEqual((yield* Metric.value(m.yielded)).value, 1)
      assert.deepStrictEqual((yield* Metric.value(m.running)).value, 1)
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
      assert.deepStrictEqual((yield* Metric.value(m.started)).count, 5)
      assert.deepStrictEqual((yield* Metric.value(m.succeeded)).count, 3)
      assert.deepStrictEqual((yield* Metric.value(m.failed)).count, 2)
      assert.deepStrictEqual((yield* Metric.value(m.interrupted)).count, 0)
      assert.deepStrictEqual((yield* Metric.value(m.registered)).value, 0)
      assert.deepStrictEqual((yield* Metric.value(m.yielded)).value, 0)
      const running = yield* Metric.value(m.runningDuration)
      assert.strictEqual(running.count, 5)
      assert.strictEqual(running.max, 2) // ok-1 ran 2 s of TestClock time
      const parked = yield* Metric.value(m.parkedDuration)
      assert.strictEqual(parked.count, 5)
      assert.strictEqual(parked.max, 2) // the parked ones waited for ok-1's slot
    }).pipe(Effect.provide(TaskService.layerBounded(2)), isolated))

  it.effect("coalescer runs count one start and one outcome per run", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const coalescer = yield* Coalescer.make<string>()
      const gate = yield* Deferred.make<void>()
      yield* coalescer.submit("first", "k", Deferred.await(gate))
      yield* untilEffect(
        "first has started",
        Effect.map(Metric.value(TaskService.metrics.started), (started) => started.count === 1)
      )
      yield* coalescer.submit("second", "k", Effect.fail("stale"))
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
      assert.strictEqual((yield* Metric.value(TaskService.metrics.started)).count, 2)
      assert.strictEqual((yield* Metric.value(TaskService.metrics.succeeded)).count, 1)
      assert.strictEqual((yield* Metric.value(TaskService.metrics.failed)).count, 1)
      assert.strictEqual(yield* tasks.failures, 1)
    }).pipe(Effect.provide(TaskService.layerBounded(2)), isolated))

  it.effect("shutdown counts tasks dropped unstarted as interrupted", () =>
    Effect.gen(function*() {
      const registry = new Map()
      yield* Effect.scoped(
        Effect.gen(function*() {
          const tasks = yield* TaskService
          yield* tasks.go("a", Effect.never)
          yield* tasks.go("b", Effect.never)
          yield* untilEffect(
            "a has started",
            Effect.map(Metric.value(TaskService.metrics.started), (started) => started.count === 1)
          )
        }).pipe(Effect.provide(TaskService.layerBounded(1)))
      ).pipe(Effect.provideService(Metric.MetricRegistry, registry))
      // the series stay registered with their final values after shutdown
      const value = <S>(metric: Metric.Metric<any, S>) =>
        Metric.value(metric).pipe(Effect.provideService(Metric.MetricRegistry, registry))
      assert.strictEqual(registry.size, 10)
      assert.strictEqual((yield* value(TaskService.metrics.interrupted)).count, 2)
      assert.strictEqual((yield* value(TaskService.metrics.started)).count, 1)
      assert.strictEqual((yield* value(TaskService.metrics.registered)).value, 0)
    }))

  it.effect("a named service tags its series with effect_task.service", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("job", Effect.void)
      yield* tasks.blockTillDone
      const tagged = Metric.withAttributes(TaskService.metrics.started, { "effect_task.service": "renderer" })
      assert.strictEqual((yield* Metric.value(tagged)).count, 1)
    }).pipe(
      Effect.provide(Layer.effect(TaskService, TaskService.make({ workers: 2, name: "renderer" }))),
      isolated
    ))
})

/** Runs `program` against a fresh service of `bound` under a recording tracer; returns the spans made. */
const spansOf = <E>(bound: number, program: Effect.Effect<void, E, TaskService | Scope.Scope>) =>
  Effect.gen(function*() {
    const { spans, tracer } = yield* recordSpans
    yield* program.pipe(Effect.provide(TaskService.layerBounded(bound)), Effect.withTracer(tracer))
    return spans
  })

describe("tracing", () => {
  it.effect("a task body runs in a span named after the task, child of the caller's span", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(
        2,
        Effect.gen(function*() {
          const tasks = yield* TaskService
          let inner: Tracer.Span | undefined
          yield* Effect.withSpan(
            tasks.go(
              "render",
              Effect.flatMap(Effect.currentSpan, (span) => Effect.sync(() => (inner = span)))
            ),
            "caller"
          )
          yield* tasks.blockTillDone
          assert.isDefined(inner)
          assert.strictEqual(inner!.name, "render")
          const parent = Option.getOrUndefined(inner!.parent)
          assert.strictEqual(parent?._tag === "Span" ? parent.name : undefined, "caller")
          assert.strictEqual(inner!.attributes.get("effect_task.task.id"), 1)
          assert.strictEqual(inner!.attributes.get("effect_task.task.parked_ms"), 0)
        })
      )
      assert.deepStrictEqual(spans.map((s) => s.name), ["caller", "render"])
    }))

  it.effect("without a caller span no task span is made", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(
        2,
        Effect.gen(function*() {
          const tasks = yield* TaskService
          yield* tasks.go("render", Effect.void)
          yield* tasks.blockTillDone
        })
      )
      assert.deepStrictEqual(spans.map((s) => s.name), [])
    }))

  it.effect("tasks from traced and untraced callers of one service, interleaved, get spans exactly when traced", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(
        1,
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const coalescer = yield* Coalescer.make<string>()
          for (let i = 0; i < 3; i++) {
            yield* Effect.withSpan(tasks.go(`traced-${i}`, Effect.void), `caller-${i}`)
            yield* tasks.go(`plain-${i}`, Effect.void)
            yield* Effect.withSpan(coalescer.submit(`run-traced-${i}`, `k${i}`, Effect.void), `submitter-${i}`)
            yield* coalescer.submit(`run-plain-${i}`, `p${i}`, Effect.void)
          }
          yield* tasks.blockTillDone
        })
      )
      const taskSpans = spans.map((s) => s.name).filter((name) => !/^(caller|submitter)-/.test(name))
      assert.deepStrictEqual(taskSpans.toSorted(), [
        "run-traced-0",
        "run-traced-1",
        "run-traced-2",
        "traced-0",
        "traced-1",
        "traced-2"
      ])
    }))

  it.effect("coalescer runs get a span each with key and re-run number", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(
        2,
        Effect.gen(function*() {
          const tasks = yield* TaskService
          const coalescer = yield* Coalescer.make<string>()
          const gate = yield* Deferred.make<void>()
          let started = false
          yield* Effect.withSpan(
            coalescer.submit(
              "first",
              "ns/app",
              Effect.andThen(Effect.sync(() => (started = true)), Deferred.await(gate))
            ),
            "watch"
          )
          yield* until("first has started", () => started)
          yield* Effect.withSpan(coalescer.submit("second", "ns/app", Effect.void), "watch")
          yield* Deferred.succeed(gate, undefined)
          yield* tasks.blockTillDone
        })
      )
      const runs = spans.filter((s) => s.name !== "watch")
      assert.deepStrictEqual(runs.map((s) => s.name), ["first", "second"])
      assert.deepStrictEqual(runs.map((s) => s.attributes.get("effect_task.coalescer.run")), [1, 2])
      assert.deepStrictEqual(runs.map((s) => s.attributes.get("effect_task.coalescer.key")), ["ns/app", "ns/app"])
    }))
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
    yield* until("the body runs", () => fiber !== undefined)
    yield* Fiber.interrupt(fiber!)
    yield* tasks.blockTillDone
  })

describe("metrics of interrupted and re-run tasks (found by review)", () => {
  it.effect("a plain task whose fiber is interrupted counts one interruption and one running duration", () =>
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
      let started = false
      yield* coalescer.submit(
        "first",
        "k",
        Effect.andThen(Effect.sync(() => (started = true)), Effect.sleep("10 seconds"))
      )
      yield* until("first has started", () => started)
      yield* coalescer.submit("second", "k", Effect.void) // pending: one re-run follows
      yield* TestClock.adjust("10 seconds")
      yield* tasks.blockTillDone
      const parked = yield* Metric.value(TaskService.metrics.parkedDuration)
      assert.strictEqual(parked.count, 2)
      // nothing else is queued and a slot is free: the re-run waits 0 s
      assert.strictEqual(parked.max, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2)), isolated))
})
