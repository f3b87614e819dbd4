import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Exit, Schedule, Scope } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import { ownedService } from "./helpers/service.ts"
import { settle, until, untilScheduled } from "./helpers/waits.ts"

// `Coalescer.submitAfter` (CONTRACT.md, "Additions: reconciler features"):
// workqueue's AddAfter. Time is the TestClock's: every due time is exact.

/** A body that logs `<label>@<now>`. */
const stamp = (log: Array<string>, label: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void log.push(`${label}@${now}`)))

/** Advances the TestClock and lets the runs it released start and end. */
/**
 * Advances the TestClock by `millis`, then lets every runnable fiber run: a
 * run that a timer registers starts on the service's own dispatcher, which
 * `adjust` does not wait for.
 */
const advance = (millis: number) => Effect.andThen(TestClock.adjust(millis), settle)

/** scattered due times (ms) for key `i`, some equal */
const due = (i: number) => 1 + ((i * 7919) % 997)

const setup = Effect.gen(function*() {
  const tasks = yield* TaskService
  const c = yield* Coalescer.make<string>()
  const log: Array<string> = []
  return { c, log, tasks }
})

describe("Coalescer.submitAfter", () => {
  it.effect("acts as submit once the delay has passed; not counted, no slot and no entry run while it waits", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submitAfter("resync", "k", stamp(log, "resync"), "100 millis")
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 1)
      assert.deepStrictEqual(yield* tasks.snapshot, [])
      yield* advance(99)
      assert.deepStrictEqual(log, [])
      yield* advance(1)
      assert.deepStrictEqual(log, ["resync@100"])
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* tasks.activeCount, 0)
      yield* advance(1_000)
      assert.deepStrictEqual(log, ["resync@100"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a key keeps one delayed submit: the earliest due time wins", () =>
    Effect.gen(function*() {
      const { c, log } = yield* setup
      yield* c.submitAfter("late", "k", stamp(log, "late"), 300)
      yield* advance(50)
      yield* c.submitAfter("early", "k", stamp(log, "early"), 100) // due at 150, before 300
      assert.strictEqual(yield* c.scheduled, 1)
      yield* advance(99)
      assert.deepStrictEqual(log, [])
      yield* advance(1)
      assert.deepStrictEqual(log, ["early@150"])
      yield* advance(1_000)
      assert.deepStrictEqual(log, ["early@150"]) // the later due time was merged away
      assert.strictEqual(yield* c.scheduled, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a key keeps one delayed submit: the latest name and body win, at the earlier due time", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submitAfter("first", "k", stamp(log, "first"), 100)
      yield* advance(10)
      yield* c.submitAfter("second", "k", stamp(log, "second"), 500) // due 510: 100 stays
      yield* advance(89)
      assert.deepStrictEqual(log, [])
      yield* advance(1)
      assert.deepStrictEqual(log, ["second@100"])
      yield* advance(1_000)
      assert.deepStrictEqual(log, ["second@100"])
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("an ordinary submit meanwhile runs at once, and the delayed submit still fires", () =>
    Effect.gen(function*() {
      const { c, log } = yield* setup
      yield* c.submitAfter("delayed", "k", stamp(log, "delayed"), 100)
      yield* c.submit("now", "k", stamp(log, "now"))
      assert.strictEqual(yield* c.size, 1)
      assert.strictEqual(yield* c.scheduled, 1)
      yield* until("the ordinary submit has run", () => log.length > 0)
      yield* settle // and the delayed one has not
      assert.deepStrictEqual(log, ["now@0"])
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 1) // the entry lives on for the delayed submit
      yield* advance(100)
      assert.deepStrictEqual(log, ["now@0", "delayed@100"])
      assert.strictEqual(yield* c.scheduled, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a delayed submit that fires while the key runs marks it pending: one re-run follows", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      yield* c.submit(
        "long",
        "k",
        Effect.andThen(stamp(log, "long"), Deferred.succeed(started, undefined)).pipe(
          Effect.andThen(Deferred.await(gate))
        )
      )
      yield* Deferred.await(started)
      yield* c.submitAfter("delayed", "k", stamp(log, "delayed"), 100)
      yield* advance(100)
      assert.deepStrictEqual(log, ["long@0"]) // pending behind the running body
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
      assert.deepStrictEqual(log, ["long@0", "delayed@100"])
      assert.strictEqual(yield* c.size, 0)
      assert.strictEqual(yield* c.scheduled, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("a delay of 0 submits at once, taking the key's waiting delayed submit with it", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      yield* c.submitAfter("waiting", "k", stamp(log, "waiting"), 100)
      yield* c.submitAfter("zero", "k", stamp(log, "zero"), 0)
      assert.strictEqual(yield* c.size, 1)
      assert.strictEqual(yield* c.scheduled, 0)
      yield* tasks.blockTillDone
      yield* advance(1_000)
      assert.deepStrictEqual(log, ["zero@0"])
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("every Duration.Input form is read as a delay", () =>
    Effect.gen(function*() {
      const { c, log } = yield* setup
      yield* c.submitAfter("string", "a", stamp(log, "string"), "1 second")
      yield* c.submitAfter("duration", "b", stamp(log, "duration"), Duration.millis(20))
      yield* c.submitAfter("number", "c", stamp(log, "number"), 30)
      yield* c.submitAfter("tuple", "d", stamp(log, "tuple"), [0, 40_000_000])
      yield* c.submitAfter("bigint", "e", stamp(log, "bigint"), BigInt(50_000_000))
      yield* c.submitAfter("infinite", "f", stamp(log, "infinite"), "Infinity")
      assert.strictEqual(yield* c.scheduled, 6)
      for (let i = 0; i < 100; i++) yield* advance(10)
      assert.deepStrictEqual(log, ["duration@20", "number@30", "tuple@40", "bigint@50", "string@1000"])
      assert.strictEqual(yield* c.scheduled, 1) // Infinity never fires
      assert.isTrue(yield* c.cancel("f"))
      assert.strictEqual(yield* c.scheduled, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("hundreds of keys: each fires at its own due time, in due order, also after re-arms and cancels", () =>
    Effect.gen(function*() {
      const { c, log, tasks } = yield* setup
      const n = 300
      for (let i = 0; i < n; i++) yield* c.submitAfter(`k${i}`, `k${i}`, stamp(log, `k${i}`), due(i))
      // earlier due times for every third key (re-arm), cancels for every fifth (stale nodes)
      for (let i = 0; i < n; i += 3) yield* c.submitAfter(`k${i}`, `k${i}`, stamp(log, `k${i}`), due(i) / 2)
      for (let i = 0; i < n; i += 5) yield* c.cancel(`k${i}`)
      const expected = Array.from({ length: n }, (_, i) => i)
        .filter((i) => i % 5 !== 0)
        .map((i) => ({ label: `k${i}`, at: i % 3 === 0 ? due(i) / 2 : due(i) }))
      assert.strictEqual(yield* c.scheduled, expected.length)
      for (let t = 0; t < 1_000; t += 50) yield* advance(50)
      yield* tasks.blockTillDone
      const seen = log.map((line) => {
        const [label, at] = line.split("@")
        return { label: label!, at: Number(at) }
      })
      // every live key ran once, exactly when due, and the runs started in due order
      assert.deepStrictEqual(
        seen.toSorted((a, b) => a.label.localeCompare(b.label)),
        expected.toSorted((a, b) => a.label.localeCompare(b.label))
      )
      assert.deepStrictEqual(seen.map((x) => x.at), seen.map((x) => x.at).toSorted((a, b) => a - b))
      assert.strictEqual(yield* c.scheduled, 0)
    }).pipe(Effect.provide(TaskService.layerUnbounded)))

  it.effect("a delayed submit during a retry wait runs at once when it fires, with its body", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const c = yield* Coalescer.make<string>({ retry: Schedule.spaced("1 second") })
      const log: Array<string> = []
      yield* c.submit("fails", "k", Effect.andThen(stamp(log, "fails"), Effect.fail("no")))
      yield* untilScheduled(c, 1) // the run failed: the key waits for its retry
      yield* c.submitAfter("delayed", "k", stamp(log, "delayed"), 100)
      assert.strictEqual(yield* c.scheduled, 1)
      yield* advance(100)
      assert.deepStrictEqual(log, ["fails@0", "delayed@100"])
      yield* advance(2_000)
      assert.deepStrictEqual(log, ["fails@0", "delayed@100"]) // the retry wait was dropped
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* tasks.activeCount, 0)
    }).pipe(Effect.provide(TaskService.layerBounded(2))))

  it.effect("shutdown before it fires drops it: nothing fires after the service's scope has closed", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(2))
      const c = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
      const log: Array<string> = []
      yield* c.submitAfter("a", "a", stamp(log, "a"), 100)
      yield* c.submitAfter("b", "b", stamp(log, "b"), 200)
      yield* advance(50)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* c.scheduled, 0)
      assert.strictEqual(yield* c.size, 0)
      yield* advance(1_000)
      assert.deepStrictEqual(log, [])
      // after shutdown, submitAfter does nothing
      yield* c.submitAfter("c", "c", stamp(log, "c"), 10)
      assert.strictEqual(yield* c.scheduled, 0)
      yield* advance(100)
      assert.deepStrictEqual(log, [])
      assert.strictEqual(yield* tasks.activeCount, 0)
    }))
})
