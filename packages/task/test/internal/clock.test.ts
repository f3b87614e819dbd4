/**
 * How task times are read (`internal/clock.ts`): the rules
 * `docs/observability.md` states under "How times are read", checked against
 * a scripted time source. What a service's snapshot shows of them is in
 * `TaskService.snapshot.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Context, Effect } from "effect"
import { maxShare, ServiceClock, type TimeSource } from "../../src/internal/clock.ts"

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
