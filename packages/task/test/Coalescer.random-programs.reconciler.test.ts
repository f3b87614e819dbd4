import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Latch, Schedule, Scheduler } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import {
  type CommonStep,
  commonStepArbs,
  GATES,
  keyArb,
  KEYS,
  type Leaf,
  leafArb,
  outcome,
  outcomeArb,
  type Wait,
  waitArb
} from "./helpers/coalescer-programs.ts"
import { runIsolated } from "./helpers/programs.ts"
import { randomOrder } from "./helpers/schedulers.ts"
import { yieldTimes } from "./helpers/waits.ts"

// Property test of the Coalescer with the reconciler features (CONTRACT.md,
// "Additions: reconciler features"): random schedules of submits, delayed
// submits and cancels drive a bounded service whose coalescer retries failed
// runs with a random schedule (or not at all). Every body records a start
// number from the same counter as the submits and cancels. Invariants: every
// submit that no later cancel of its key removed is followed by a run of its
// key that starts after it; a run that starts after a cancel that certainly
// took effect executes a body submitted after it (a cancel from a key's own
// run that another cancel interrupted first may have done nothing); at most
// one run per key at a time; every failed run is counted once; `size`,
// `scheduled` and `activeCount` end at 0. fast-check prints the seed and the
// shrunk schedule when a run fails.
//
// Replay a failure: fast-check prints `{ seed: S, path: "P" }`; run
// `FC_SEED=S FC_PATH=P pnpm vitest run --project task reconciler -t "<property>"`
// (`FC_RUNS=N` changes the number of programs of each property, default 500
// and 1000 under the hostile schedule).

interface Body extends Leaf {
  /**
   * submit `inner` on the body's own key: at its start, or from its finalizer
   * as it returns; or cancel the body's own key at its start
   */
  readonly self: "none" | "start" | "end" | "cancel"
  readonly inner: Leaf
}

type Step =
  | CommonStep<Body>
  | { readonly _tag: "submitAfter"; readonly key: number; readonly body: Body; readonly delay: number }
  /** cancel `key`, waiting for the cancel, or in another fiber (the driver goes on while the run ends) */
  | { readonly _tag: "cancel"; readonly key: number; readonly fork: boolean }

interface Scenario {
  readonly bound: number
  /** retry failed runs every `spacing` ms, at most `times` times in a row; `undefined`: no retry */
  readonly retry: { readonly spacing: number; readonly times: number } | undefined
  readonly steps: ReadonlyArray<Step>
}

const bodyArb: fc.Arbitrary<Body> = fc.record({
  wait: waitArb,
  outcome: outcomeArb,
  self: fc.oneof(
    { weight: 4, arbitrary: fc.constant("none" as const) },
    { weight: 1, arbitrary: fc.constant("start" as const) },
    { weight: 1, arbitrary: fc.constant("end" as const) },
    { weight: 1, arbitrary: fc.constant("cancel" as const) }
  ),
  inner: leafArb
})

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  ...commonStepArbs(bodyArb),
  {
    weight: 3,
    arbitrary: fc.record({
      _tag: fc.constant("submitAfter" as const),
      key: keyArb,
      body: bodyArb,
      delay: fc.integer({ min: 0, max: 50 })
    })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("cancel" as const), key: keyArb, fork: fc.boolean() }) }
)

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  bound: fc.integer({ min: 1, max: 3 }),
  retry: fc.option(
    fc.record({ spacing: fc.integer({ min: 1, max: 20 }), times: fc.integer({ min: 0, max: 3 }) }),
    { nil: undefined }
  ),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 30 })
})

/**
 * A submit (or cancel) happens somewhere between `seq` (counted just before
 * the call) and `end` (counted once it returned; `Infinity` until then).
 * Without op-budget yields the two are neighbours; under a hostile schedule
 * other fibers' steps (a run's start) can fall in between, so the checks
 * below only use what holds for any point of the window.
 */
interface SubmitRecord {
  readonly id: number
  readonly key: number
  readonly seq: number
  end: number
}

interface StartRecord {
  readonly key: number
  readonly seq: number
  /** the id of the submit whose body this run executes */
  readonly submit: number
}

interface CancelRecord {
  readonly key: number
  readonly seq: number
  end: number
  /**
   * it certainly took effect: it returned, or (called from the key's own run)
   * interrupted its caller itself. A cancel from a run that another cancel of
   * the key interrupted first may have been cut off before its step: such a
   * cancel may have removed submits, but need not have.
   */
  certain: boolean
}

const runScenario = (scenario: Scenario): Effect.Effect<void> =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const c = yield* Coalescer.make<number>(
      scenario.retry === undefined
        ? undefined
        : { retry: Schedule.spaced(scenario.retry.spacing).pipe(Schedule.upTo({ times: scenario.retry.times })) }
    )
    const gates = yield* Effect.forEach(Array.from({ length: GATES }), () => Latch.make(false))
    const submits: Array<SubmitRecord> = []
    const starts: Array<StartRecord> = []
    const cancels: Array<CancelRecord> = []
    const inFlight = Array.from({ length: KEYS }, () => 0)
    const overlaps: Array<number> = []
    let counter = 0
    let failed = 0

    const wait = (w: Wait): Effect.Effect<void> => {
      switch (w._tag) {
        case "none":
          return Effect.void
        case "gate":
          return gates[w.gate]!.await
        case "sleep":
          return Effect.sleep(w.ms)
        case "yield":
          return yieldTimes(w.n)
      }
    }

    const submit = (key: number, spec: Leaf | Body, delay?: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const id = submits.length
        const record: SubmitRecord = { id, key, seq: ++counter, end: Infinity }
        submits.push(record)
        return (delay === undefined
          ? c.submit(`k${key}-s${id}`, key, body(key, id, spec))
          : c.submitAfter(`k${key}-d${id}`, key, body(key, id, spec), delay)).pipe(
            Effect.onExit(() => Effect.sync(() => void (record.end = ++counter)))
          )
      })

    const cancel = (key: number): Effect.Effect<void> =>
      Effect.withFiber((fiber) => {
        const record: CancelRecord = { key, seq: ++counter, end: Infinity, certain: false }
        cancels.push(record)
        // from the key's own run the cancel interrupts its caller: the end is recorded on the way out
        return Effect.asVoid(c.cancel(key)).pipe(Effect.onExit((exit) =>
          Effect.sync(() => {
            record.end = ++counter
            record.certain = Exit.isSuccess(exit) ||
              (Cause.hasInterruptsOnly(exit.cause) &&
                [...Cause.interruptors(exit.cause)].every((id) => id === fiber.id))
          })
        ))
      })

    const body = (key: number, submitId: number, spec: Leaf | Body): Effect.Effect<void, string> => {
      const self = "self" in spec ? spec.self : "none"
      const run = Effect.sync(() => {
        starts.push({ key, seq: ++counter, submit: submitId })
        if (++inFlight[key]! > 1) overlaps.push(key)
      }).pipe(
        Effect.andThen(
          self === "start" && "inner" in spec ? submit(key, spec.inner) : self === "cancel" ? cancel(key) : Effect.void
        ),
        Effect.andThen(wait(spec.wait)),
        Effect.andThen(outcome(spec.outcome)),
        Effect.ensuring(Effect.sync(() => void inFlight[key]!--))
      )
      // a run counts as failed when its exit is a failure other than interruption alone (a body
      // interrupted by a cancel before it failed did not fail), as the service counts it
      const counted = Effect.onExit(
        run,
        (exit) => Effect.sync(() => void (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause) && failed++))
      )
      return self === "end" && "inner" in spec ? Effect.ensuring(counted, submit(key, spec.inner)) : counted
    }

    const watchers: Array<Fiber.Fiber<void>> = []
    for (const step of scenario.steps) {
      switch (step._tag) {
        case "submit":
          yield* submit(step.key, step.body)
          break
        case "submitAfter":
          yield* submit(step.key, step.body, step.delay)
          break
        case "cancel":
          if (step.fork) watchers.push(yield* Effect.forkChild(cancel(step.key)))
          else yield* cancel(step.key)
          break
        case "yield":
          yield* yieldTimes(step.n)
          break
        case "open":
          yield* gates[step.gate]!.open
          break
        case "close":
          yield* gates[step.gate]!.close
          break
        case "adjust":
          yield* TestClock.adjust(step.ms)
          break
        case "watch":
          watchers.push(yield* Effect.forkChild(Effect.andThen(gates[step.gate]!.await, submit(step.key, step.body))))
          break
      }
      assert.isAtMost(yield* c.size, KEYS)
      assert.isAtMost(yield* c.scheduled, KEYS)
    }

    // drain: open every gate, let the watchers submit, advance time until every run and timer is done
    for (const gate of gates) yield* gate.open
    yield* Effect.forEach(watchers, Fiber.join, { discard: true })
    // idle: no registered task, no key with a run, no timer. The three reads are one synchronous
    // stretch (no op-budget yield between them, under a hostile schedule too): a retry registered
    // between two reads would otherwise make a torn reading look idle.
    const idle = Effect.map(
      Effect.all([tasks.activeCount, c.size, c.scheduled]),
      ([active, size, scheduled]) => active === 0 && size === 0 && scheduled === 0
    ).pipe(Effect.provideService(Scheduler.PreventSchedulerYield, true))
    for (let i = 0; i < 400 && !(yield* idle); i++) {
      yield* TestClock.adjust("1 second")
      yield* yieldTimes(2) // a bounded poll: the runs the timers registered start on the next turns
    }
    assert.isTrue(yield* idle, "every run and every timer finished")
    yield* tasks.blockTillDone

    // a cancel that may have come after the submit (its window ends after the submit's starts)
    const cancelledAfter = (key: number, seq: number) => cancels.some((x) => x.key === key && x.end > seq)
    // the guarantee: every submit no later cancel removed is followed by a run of its key that starts after it
    for (const s of submits) {
      if (cancelledAfter(s.key, s.seq)) continue
      assert.isTrue(
        starts.some((r) => r.key === s.key && r.seq > s.seq),
        `submit #${s.id} (key ${s.key}, at ${s.seq}) has no later run`
      )
    }
    // a cancel removes every submit before it: a run that starts after it executes a later body
    // (only a cancel that certainly took effect counts here; any cancel may excuse a submit above)
    for (const r of starts) {
      const executed = submits[r.submit]!
      assert.strictEqual(executed.key, r.key)
      assert.isTrue(executed.seq < r.seq, `run at ${r.seq} executes a body submitted before it`)
      // a cancel certainly after the submit and certainly before the run's start
      const between = cancels.find((x) => x.certain && x.key === r.key && x.seq > executed.end && x.end < r.seq)
      assert.isUndefined(
        between,
        `run of key ${r.key} at ${r.seq} executes submit #${r.submit} (at ${executed.seq}), cancelled at ${between?.seq}`
      )
    }
    assert.deepStrictEqual(overlaps, [], "at most one run per key at a time")
    assert.strictEqual(yield* tasks.failures, failed)
    assert.strictEqual(yield* c.size, 0)
    assert.strictEqual(yield* c.scheduled, 0)
    assert.strictEqual(yield* tasks.activeCount, 0)
    for (let key = 0; key < KEYS; key++) assert.strictEqual(yield* c.retries(key), 0)
  }).pipe(Effect.provide(TaskService.layerBounded(scenario.bound)))

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED)
const path = process.env.FC_PATH
const numRuns = (fallback: number): number => process.env.FC_RUNS === undefined ? fallback : Number(process.env.FC_RUNS)
const parameters = (runs: number): fc.Parameters<unknown> => ({
  numRuns: runs,
  ...(seed === undefined ? {} : { seed }),
  ...(path === undefined ? {} : { path })
})
/** a test timeout for `runs` programs (a program takes a few ms; a loaded machine is slower) */
const timeout = (runs: number): number => Math.max(60_000, runs * 50)
const plainRuns = numRuns(500)
const hostileRuns = numRuns(1_000)

describe("Coalescer: random programs of retries, delayed submits and cancels keep every guarantee", () => {
  it.effect(
    "every submit not removed by a cancel is followed by a run that starts after it; counts end at 0",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(scenarioArb, (scenario) => runIsolated(runScenario(scenario), 5_000)),
          parameters(plainRuns)
        )
      ),
    timeout(plainRuns)
  )

  it.effect(
    "the same under a random MaxOpsBeforeYield and a random-order scheduler",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            scenarioArb,
            fc.constantFrom(3, 4, 7, 16, 64, 2048),
            fc.integer({ min: 0, max: 2 ** 31 - 1 }),
            (scenario, maxOpsBeforeYield, order) =>
              runIsolated(runScenario(scenario), 5_000, {
                maxOpsBeforeYield,
                scheduler: randomOrder(order, maxOpsBeforeYield)
              })
          ),
          parameters(hostileRuns)
        )
      ),
    timeout(hostileRuns)
  )
})
