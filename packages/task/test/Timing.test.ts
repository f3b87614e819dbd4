/**
 * How task times are read (`internal/clock.ts`) and how durations are counted
 * (`internal/metrics.ts`): the rules `docs/observability.md` states under
 * "How times are read", checked against a scripted time source.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Context, Effect, Metric } from "effect"
import { TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { maxShare, ServiceClock, type TimeSource } from "../src/internal/clock.ts"
import { DurationHistogram } from "../src/internal/histogram.ts"

/** A time source whose time the test sets; it counts its reads. */
const scripted = (start = 1_000_000) => {
  const source = {
    time: start,
    reads: 0,
    currentTimeMillisUnsafe() {
      source.reads++
      return source.time
    }
  }
  return source
}

/** the calls (1-based) at which `now()` reads the clock, over `calls` calls */
const readingCalls = (clock: ServiceClock, source: { reads: number }, calls: number): Array<number> => {
  const out: Array<number> = []
  for (let call = 1; call <= calls; call++) {
    const before = source.reads
    clock.now()
    if (source.reads > before) out.push(call)
  }
  return out
}

/** a shared clock on a scripted source (epoch 1,000,000), after `calls` calls; its reads count from its creation */
const sharedClock = (calls: number) => {
  const source = scripted()
  const clock = new ServiceClock(source, true)
  source.reads = 0
  readingCalls(clock, source, calls)
  return { source, clock }
}

/** one turn of the event loop: the window of a shared reading closes */
const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

describe("ServiceClock: which clocks are shared", () => {
  it.effect("only Effect's live clock is shared by default; a TestClock is read at every call", () =>
    Effect.gen(function*() {
      const live: TimeSource = Context.get(Context.empty(), Clock.Clock)
      assert.strictEqual((new ServiceClock(live) as unknown as { shared: boolean }).shared, true)
      const testClock = yield* Clock.Clock
      const clock = new ServiceClock(testClock)
      assert.strictEqual((clock as unknown as { shared: boolean }).shared, false)
      for (let i = 0; i < 100; i++) clock.now()
      assert.strictEqual(clock.reads, 100)
    }))

  it.effect("an unshared clock returns each reading as milliseconds since its creation", () =>
    Effect.sync(() => {
      const source = scripted(5_000)
      const clock = new ServiceClock(source, false)
      assert.strictEqual(clock.epoch, 5_000)
      source.time = 5_007
      assert.strictEqual(clock.now(), 7)
      source.time = 5_009
      assert.strictEqual(clock.now(), 9)
    }))
})

describe("ServiceClock: sharing a reading", () => {
  it.effect("while the clock stays within 1 ms, a reading serves 1, 2, 4, ... up to maxShare calls", () =>
    Effect.gen(function*() {
      const source = scripted()
      const clock = new ServiceClock(source, true)
      source.reads = 0
      const calls = readingCalls(clock, source, 4 * maxShare)
      // reads at 1, 2, 4, 8, 16, 32 (share doubles each time), then every maxShare (32) calls
      assert.strictEqual(maxShare, 32)
      assert.deepStrictEqual(calls, [1, 2, 4, 8, 16, 32, 64, 96, 128])
      yield* nextTurn
    }))

  it.effect("a shared reading is the value of the call that read it", () =>
    Effect.gen(function*() {
      const source = scripted(0)
      const clock = new ServiceClock(source, true)
      source.time = 10
      assert.strictEqual(clock.now(), 10) // read
      source.time = 11
      assert.strictEqual(clock.now(), 11) // read: the clock moved by 1 ms, share 2
      source.time = 12
      assert.strictEqual(clock.now(), 11) // shared
      assert.strictEqual(clock.now(), 12) // read
      yield* nextTurn
    }))

  it.effect("a reading that finds the clock moved by more than 1 ms makes the next call read again", () =>
    Effect.gen(function*() {
      const { clock, source } = sharedClock(64) // share is at its maximum now
      assert.strictEqual(source.reads, 7)
      // the next read comes at call 96; move the clock 2 ms before it
      readingCalls(clock, source, 31)
      source.time += 2
      const before = source.reads
      assert.strictEqual(clock.now() - (source.time - 1_000_000), 0) // this call read the moved clock
      assert.strictEqual(source.reads, before + 1)
      // share fell back to 1: the next call reads too, then sharing grows again (shares 2, 4, ...)
      const calls = readingCalls(clock, source, 8)
      assert.deepStrictEqual(calls, [1, 3, 7])
      yield* nextTurn
    }))

  it.effect("a reading is never shared across a turn of the event loop", () =>
    Effect.gen(function*() {
      const { clock, source } = sharedClock(40) // warmed up: reads at 1, 2, 4, 8, 16, 32
      assert.strictEqual(source.reads, 6)
      yield* nextTurn
      source.time += 5_000 // the loop was idle for 5 s
      assert.strictEqual(clock.now(), source.time - 1_000_000)
      assert.strictEqual(source.reads, 7)
      yield* nextTurn
    }))
})

describe("ServiceClock: every turn starts over", () => {
  it.effect("after a warm turn, the first two calls of the next turn read the clock", () =>
    Effect.gen(function*() {
      const { clock, source } = sharedClock(100) // share at its maximum
      yield* nextTurn
      // a slow step between the first two events of a turn is caught
      const first = clock.now()
      source.time += 50
      assert.strictEqual(clock.now() - first, 50)
      assert.deepStrictEqual(readingCalls(clock, source, 8), [1, 3, 7])
      yield* nextTurn
    }))
})

describe("DurationHistogram", () => {
  it.effect("repeated durations count like separate observations", () =>
    Effect.sync(() => {
      const histogram = new DurationHistogram()
      for (const millis of [0, 0, 0, 7, 7, 2_000, 0, 1, 1]) histogram.observeMillis(millis)
      assert.strictEqual(histogram.count, 9)
      const state = histogram.state()
      assert.strictEqual(state.count, 9)
      assert.strictEqual(state.min, 0)
      assert.strictEqual(state.max, 2)
      assert.strictEqual(state.sum, (7 + 7 + 2_000 + 1 + 1) / 1000)
      const bucket = (le: number) => state.buckets.find(([boundary]) => boundary === le)![1]
      assert.strictEqual(bucket(0.001), 6) // four 0 ms, two 1 ms
      assert.strictEqual(bucket(0.005), 6)
      assert.strictEqual(bucket(0.01), 8) // the two 7 ms
      assert.strictEqual(bucket(1), 8)
      assert.strictEqual(bucket(2.5), 9) // 2 s
      assert.strictEqual(bucket(300), 9)
    }))

  it.effect("fractional and large durations land in the buckets Effect's histogram would use", () =>
    Effect.sync(() => {
      const histogram = new DurationHistogram()
      for (const millis of [2.5, 2.6, 1024, 1025, 400_000]) histogram.observeMillis(millis)
      const state = histogram.state()
      const bucket = (le: number) => state.buckets.find(([boundary]) => boundary === le)![1]
      assert.strictEqual(bucket(0.0025), 1) // 2.5 ms is at the boundary
      assert.strictEqual(bucket(0.005), 2)
      assert.strictEqual(bucket(1), 2)
      assert.strictEqual(bucket(2.5), 4) // 1.024 s and 1.025 s
      assert.strictEqual(bucket(300), 4) // 400 s is above the last boundary
      assert.strictEqual(state.count, 5)
    }))

  it.effect("reading the state between repeats of one duration counts each observation once", () =>
    Effect.sync(() => {
      const histogram = new DurationHistogram()
      histogram.observeMillis(3)
      histogram.observeMillis(3)
      assert.strictEqual(histogram.state().count, 2)
      histogram.observeMillis(3)
      const state = histogram.state()
      assert.strictEqual(state.count, 3)
      assert.strictEqual(state.sum, 0.009)
      assert.strictEqual(state.buckets.find(([boundary]) => boundary === 0.005)![1], 3)
    }))

  it.effect("an empty histogram reads as Effect's empty histogram state", () =>
    Effect.sync(() => {
      const state = new DurationHistogram().state()
      assert.strictEqual(state.count, 0)
      assert.strictEqual(state.sum, 0)
      assert.isTrue(state.buckets.every(([, count]) => count === 0))
    }))
})

describe("task times through a service", () => {
  it.effect("under TestClock a registration after a burst reads the clock anew", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      for (let i = 0; i < 100; i++) yield* tasks.go(`quick-${i}`, Effect.never)
      yield* TestClock.adjust("1 second")
      yield* tasks.go("late", Effect.never)
      const snapshot = yield* tasks.snapshot
      assert.strictEqual(snapshot.length, 101)
      assert.strictEqual(snapshot[99]!.registeredAt, 0)
      assert.strictEqual(snapshot[100]!.name, "late")
      assert.strictEqual(snapshot[100]!.registeredAt, 1000)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("under TestClock every task time is exact: a start after an adjust shows the adjusted time", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      yield* tasks.go("first", Effect.sleep("3 seconds"))
      yield* tasks.go("second", Effect.never)
      yield* TestClock.adjust("3 seconds")
      const [second] = yield* tasks.snapshot
      assert.strictEqual(second!.name, "second")
      assert.strictEqual(second!.state, "running")
      assert.strictEqual(second!.registeredAt, 0)
      assert.strictEqual(second!.stateSince, 3000)
      const parked = yield* Metric.value(TaskService.metrics.parkedDuration)
      assert.strictEqual(parked.count, 2)
      assert.strictEqual(parked.max, 3)
    }).pipe(
      Effect.provide(TaskService.layerBounded(1)),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))
})
