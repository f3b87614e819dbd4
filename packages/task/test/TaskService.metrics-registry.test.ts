import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Metric, Scope } from "effect"
import { TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { liveServices } from "../src/internal/metrics.ts"
import { isolated } from "./helpers/service.ts"
import { untilActive, untilEffect, untilRunning } from "./helpers/waits.ts"

const m = TaskService.metrics
const named = <I, S>(metric: Metric.Metric<I, S>, name: string) =>
  Metric.withAttributes(metric, { "effect_task.service": name })

/** Every effect_task series in the current registry: "<id>{<service>}" to its state. */
const series = Effect.map(Metric.snapshot, (snapshots) =>
  Object.fromEntries(
    snapshots
      .filter((s) => s.id.startsWith("effect_task."))
      .map((s) => [`${s.id}{${s.attributes?.["effect_task.service"] ?? ""}}`, s.state])
  ))

/** Builds a service from `make` in a scope of its own; returns it and the scope's close. */
const open = (options: Parameters<typeof TaskService.make>[0]) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const tasks = yield* TaskService.make(options).pipe(Scope.provide(scope))
    return { tasks, close: Scope.close(scope, Exit.void) }
  })

describe("metrics across services in one registry", () => {
  it.effect("two services without a name count together, and closing one leaves the other's counts", () =>
    Effect.gen(function*() {
      const a = yield* open({ workers: 1 })
      const b = yield* open({ workers: 1 })
      const gate = yield* Deferred.make<void>()
      yield* a.tasks.go("a1", Deferred.await(gate))
      yield* a.tasks.go("a2", Effect.void)
      yield* b.tasks.go("b1", Deferred.await(gate))
      // "running" in a snapshot means started; the body's first step (which counts `started`) may still be queued
      yield* untilEffect(
        "a1 and b1 have started",
        Effect.map(Metric.value(m.started), (started) => started.count === 2)
      )
      assert.strictEqual((yield* Metric.value(m.registered)).value, 3)
      assert.strictEqual((yield* Metric.value(m.running)).value, 2)
      assert.strictEqual((yield* Metric.value(m.parked)).value, 1)
      assert.strictEqual((yield* Metric.value(m.started)).count, 2)

      // closing a interrupts a1 and drops a2 unstarted; b keeps running
      yield* a.close
      assert.strictEqual((yield* Metric.value(m.registered)).value, 1)
      assert.strictEqual((yield* Metric.value(m.running)).value, 1)
      assert.strictEqual((yield* Metric.value(m.parked)).value, 0)
      assert.strictEqual((yield* Metric.value(m.started)).count, 2)
      assert.strictEqual((yield* Metric.value(m.interrupted)).count, 2)

      yield* Deferred.succeed(gate, undefined)
      yield* b.tasks.blockTillDone
      assert.strictEqual((yield* Metric.value(m.registered)).value, 0)
      assert.strictEqual((yield* Metric.value(m.succeeded)).count, 1)
      assert.strictEqual((yield* Metric.value(m.runningDuration)).count, 2)
      yield* b.close
      assert.strictEqual(liveServices(yield* Effect.context<never>(), undefined), 0)
    }).pipe(isolated))

  it.effect("after shutdown every series is still in the registry with its final values", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(
        Effect.gen(function*() {
          const tasks = yield* TaskService
          yield* tasks.go("slow", Effect.sleep("3 seconds"))
          yield* tasks.go("fails", Effect.fail("no"))
          yield* tasks.go("never", Effect.never)
          yield* untilRunning(tasks, "slow")
          yield* TestClock.adjust("3 seconds")
          yield* untilRunning(tasks, "never")
        }).pipe(Effect.provide(TaskService.layerBounded(1)))
      )
      const after = yield* series
      assert.deepStrictEqual(Object.keys(after).toSorted(), [
        "effect_task.task.parked.duration{}",
        "effect_task.task.running.duration{}",
        "effect_task.tasks.failed{}",
        "effect_task.tasks.interrupted{}",
        "effect_task.tasks.parked{}",
        "effect_task.tasks.registered{}",
        "effect_task.tasks.running{}",
        "effect_task.tasks.started{}",
        "effect_task.tasks.succeeded{}",
        "effect_task.tasks.yielded{}"
      ])
      assert.deepStrictEqual(after["effect_task.tasks.started{}"], { count: 3, incremental: true })
      assert.deepStrictEqual(after["effect_task.tasks.succeeded{}"], { count: 1, incremental: true })
      assert.deepStrictEqual(after["effect_task.tasks.failed{}"], { count: 1, incremental: true })
      assert.deepStrictEqual(after["effect_task.tasks.interrupted{}"], { count: 1, incremental: true })
      for (const gauge of ["registered", "running", "parked", "yielded"]) {
        assert.deepStrictEqual(after[`effect_task.tasks.${gauge}{}`], { value: 0 }, gauge)
      }
      const running = after["effect_task.task.running.duration{}"] as Metric.HistogramState
      // slow ran 3 s, fails 0 s; never was interrupted after 0 s of running
      assert.strictEqual(running.count, 3)
      assert.strictEqual(running.sum, 3)
      assert.strictEqual(running.max, 3)
      const parked = after["effect_task.task.parked.duration{}"] as Metric.HistogramState
      assert.deepStrictEqual([parked.count, parked.sum, parked.max], [3, 6, 3])
    }).pipe(isolated))

  it.effect("services with different names stay apart, and apart from unnamed ones", () =>
    Effect.gen(function*() {
      const renders = yield* open({ workers: 2, name: "renders" })
      const fetches = yield* open({ workers: 2, name: "fetches" })
      const plain = yield* open({ workers: 2 })
      yield* renders.tasks.go("r1", Effect.void)
      yield* renders.tasks.go("r2", Effect.fail("no"))
      yield* fetches.tasks.go("f1", Effect.never)
      yield* plain.tasks.go("p1", Effect.void)
      yield* untilActive(renders.tasks, 0)
      yield* untilRunning(fetches.tasks, "f1")
      yield* untilActive(plain.tasks, 0)
      yield* renders.close
      const s = yield* series
      assert.deepStrictEqual(s["effect_task.tasks.started{renders}"], { count: 2, incremental: true })
      assert.deepStrictEqual(s["effect_task.tasks.failed{renders}"], { count: 1, incremental: true })
      assert.deepStrictEqual(s["effect_task.tasks.running{renders}"], { value: 0 })
      assert.deepStrictEqual(s["effect_task.tasks.started{fetches}"], { count: 1, incremental: true })
      assert.deepStrictEqual(s["effect_task.tasks.running{fetches}"], { value: 1 })
      assert.deepStrictEqual(s["effect_task.tasks.failed{fetches}"], { count: 0, incremental: true })
      assert.deepStrictEqual(s["effect_task.tasks.started{}"], { count: 1, incremental: true })
      assert.deepStrictEqual(s["effect_task.tasks.succeeded{}"], { count: 1, incremental: true })
      assert.strictEqual(Object.keys(s).length, 30)
      yield* fetches.close
      yield* plain.close
    }).pipe(isolated))

  it.effect("a thousand short-lived services keep ten series and retain none of their pools", () =>
    Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      const registry = yield* Metric.MetricRegistry
      for (let i = 0; i < 1000; i++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const tasks = yield* TaskService.make({ workers: 1 })
          yield* tasks.go(`job-${i}`, Effect.void)
          yield* tasks.blockTillDone
        }))
      }
      assert.strictEqual(registry.size, 10)
      assert.strictEqual(liveServices(context, undefined), 0)
      assert.strictEqual((yield* Metric.value(m.started)).count, 1000)
      assert.strictEqual((yield* Metric.value(m.succeeded)).count, 1000)
      assert.strictEqual((yield* Metric.value(m.runningDuration)).count, 1000)
      // counters go on from there for the next service
      yield* Effect.scoped(Effect.gen(function*() {
        const tasks = yield* TaskService.make({ workers: 1 })
        yield* tasks.go("one more", Effect.void)
        yield* tasks.blockTillDone
        assert.strictEqual((yield* Metric.value(m.started)).count, 1001)
        assert.strictEqual(liveServices(context, undefined), 1)
      }))
    }).pipe(isolated))

  it.effect("a removed series comes back when the next service of that name is built", () =>
    Effect.gen(function*() {
      const registry = yield* Metric.MetricRegistry
      const first = yield* open({ workers: 1 })
      yield* first.tasks.go("a", Effect.void)
      yield* first.tasks.blockTillDone
      yield* first.close
      registry.clear()
      const second = yield* open({ workers: 1 })
      assert.strictEqual(registry.size, 10)
      assert.strictEqual((yield* Metric.value(m.started)).count, 1)
      yield* second.close
    }).pipe(isolated))
})

describe("naming a service through its layer", () => {
  it.effect("layerBounded(workers, { name }) tags the series and keeps the bound", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      assert.strictEqual(yield* tasks.workers, 3)
      yield* tasks.go("job", Effect.void)
      yield* tasks.blockTillDone
      assert.strictEqual((yield* Metric.value(named(m.started, "renders"))).count, 1)
      assert.strictEqual((yield* Metric.value(m.started)).count, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(3, { name: "renders" })), isolated))

  it.effect("layerWith({ name }) has the default bound and tags the series", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      assert.strictEqual(yield* tasks.workers, TaskService.defaultWorkers())
      yield* tasks.go("job", Effect.void)
      yield* tasks.blockTillDone
      assert.strictEqual((yield* Metric.value(named(m.started, "fetches"))).count, 1)
      assert.strictEqual((yield* Metric.value(m.started)).count, 0)
    }).pipe(Effect.provide(TaskService.layerWith({ name: "fetches" })), isolated))

  it.effect("layerWith({ workers }) sets the bound (a bad one is in TaskService.arguments)", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      assert.strictEqual(yield* tasks.workers, 5)
    }).pipe(Effect.provide(TaskService.layerWith({ workers: 5 })), isolated))
})

/** Builds an unnamed service under the context attribute `pool`. */
const openIn = (pool: string) =>
  open({ workers: 1 }).pipe(Effect.provideService(Metric.CurrentMetricAttributes, { pool }))
/** Reads `metric` under the context attribute `pool`. */
const valueIn = <I, S>(metric: Metric.Metric<I, S>, pool: string) =>
  Metric.value(metric).pipe(Effect.provideService(Metric.CurrentMetricAttributes, { pool }))

describe("metrics under CurrentMetricAttributes", () => {
  it.effect("unnamed services built under different context attributes keep separate series", () =>
    Effect.gen(function*() {
      const a = yield* openIn("a")
      const b = yield* openIn("b")
      yield* a.tasks.go("a1", Effect.void)
      yield* a.tasks.go("a2", Effect.void)
      yield* b.tasks.go("b1", Effect.never)
      yield* untilActive(a.tasks, 0)
      yield* untilRunning(b.tasks, "b1")
      assert.strictEqual((yield* valueIn(m.started, "a")).count, 2)
      assert.strictEqual((yield* valueIn(m.started, "b")).count, 1)
      assert.strictEqual((yield* valueIn(m.running, "a")).value, 0)
      assert.strictEqual((yield* valueIn(m.running, "b")).value, 1)
      yield* a.close
      yield* b.close
      assert.strictEqual((yield* valueIn(m.started, "b")).count, 1)
      assert.strictEqual((yield* valueIn(m.interrupted, "b")).count, 1)
    }).pipe(isolated))
})
