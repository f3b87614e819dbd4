import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Latch, Layer } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { TestClock, TestConsole } from "effect/testing"
import * as fc from "fast-check"
import {
  type CommonStep,
  commonStepArbs,
  GATES,
  KEYS,
  type Leaf,
  leafArb,
  outcome,
  outcomeArb,
  type Wait,
  waitArb
} from "./helpers/coalescer-programs.ts"
import { yieldTimes } from "./helpers/waits.ts"

// Property test of the Coalescer guarantee (CONTRACT.md, "Coalescer"): every
// submit is followed by a run of its key that starts after it. A random
// schedule of steps drives a bounded service; every body records a start
// number from the same counter as the submits. fast-check prints the seed and
// the shrunk schedule when a run fails.

interface Body extends Leaf {
  /** submit `inner` on the body's own key: at its start, or from its finalizer as it returns */
  readonly self: "none" | "start" | "end"
  readonly inner: Leaf
}

type Step = CommonStep<Body>

interface Scenario {
  readonly bound: number
  readonly steps: ReadonlyArray<Step>
}

const bodyArb: fc.Arbitrary<Body> = fc.record({
  wait: waitArb,
  outcome: outcomeArb,
  self: fc.oneof(
    { weight: 4, arbitrary: fc.constant("none" as const) },
    { weight: 1, arbitrary: fc.constant("start" as const) },
    { weight: 1, arbitrary: fc.constant("end" as const) }
  ),
  inner: leafArb
})

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  ...commonStepArbs(bodyArb)
)

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  bound: fc.integer({ min: 1, max: 3 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 30 })
})

interface SubmitRecord {
  readonly id: number
  readonly key: number
  readonly seq: number
}

interface StartRecord {
  readonly key: number
  readonly seq: number
  /** the id of the submit whose body this run executes */
  readonly submit: number
  readonly failing: boolean
}

const runScenario = (scenario: Scenario) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const c = yield* Coalescer.make<number>()
    const gates = yield* Effect.forEach(Array.from({ length: GATES }), () => Latch.make(false))
    const submits: Array<SubmitRecord> = []
    const starts: Array<StartRecord> = []
    const inFlight = Array.from({ length: KEYS }, () => 0)
    const overlaps: Array<number> = []
    let counter = 0

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

    // recording the submit and submitting happen in one synchronous stretch of the fiber (a fiber
    // yields only at `yieldNow`/waits or after 2048 ops, far more than a scenario performs)
    const submit = (key: number, spec: Leaf | Body): Effect.Effect<void> =>
      Effect.suspend(() => {
        const id = submits.length
        submits.push({ id, key, seq: ++counter })
        return c.submit(`k${key}-s${id}`, key, body(key, id, spec))
      })

    const body = (key: number, submitId: number, spec: Leaf | Body): Effect.Effect<void, string> => {
      const self = "self" in spec ? spec.self : "none"
      const run = Effect.sync(() => {
        starts.push({ key, seq: ++counter, submit: submitId, failing: spec.outcome !== "succeed" })
        if (++inFlight[key]! > 1) overlaps.push(key)
      }).pipe(
        Effect.andThen(self === "start" && "inner" in spec ? submit(key, spec.inner) : Effect.void),
        Effect.andThen(wait(spec.wait)),
        Effect.andThen(outcome(spec.outcome)),
        Effect.ensuring(Effect.sync(() => void inFlight[key]!--))
      )
      return self === "end" && "inner" in spec ? Effect.ensuring(run, submit(key, spec.inner)) : run
    }

    const watchers: Array<Fiber.Fiber<void>> = []
    for (const step of scenario.steps) {
      switch (step._tag) {
        case "submit":
          yield* submit(step.key, step.body)
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
    }

    // drain: open every gate, let the watchers submit, advance time until every run is done
    for (const gate of gates) yield* gate.open
    yield* Effect.forEach(watchers, Fiber.join, { discard: true })
    const done = yield* Deferred.make<void>()
    yield* Effect.forkChild(Effect.andThen(tasks.blockTillDone, Deferred.succeed(done, undefined)))
    for (let i = 0; i < 200; i++) {
      if (yield* Deferred.isDone(done)) break
      yield* TestClock.adjust("1 second")
    }
    assert.isTrue(yield* Deferred.isDone(done), "every run finished")

    // the guarantee: every submit is followed by a run of its key that starts after it
    for (const s of submits) {
      assert.isTrue(
        starts.some((r) => r.key === s.key && r.seq > s.seq),
        `submit #${s.id} (key ${s.key}, at ${s.seq}) has no later run`
      )
    }
    for (let key = 0; key < KEYS; key++) {
      const mine = submits.filter((s) => s.key === key)
      const runs = starts.filter((r) => r.key === key)
      let previous = 0
      for (const r of runs) {
        // every run executes the latest body submitted before it started
        const latest = mine.findLast((s) => s.seq < r.seq)
        assert.strictEqual(r.submit, latest?.id, `run of key ${key} at ${r.seq} executes the latest body`)
        // no spurious run: a submit arrived since the previous run of the key started
        assert.isTrue(
          mine.some((s) => s.seq > previous && s.seq < r.seq),
          `run of key ${key} at ${r.seq} has a submit since the previous run (at ${previous})`
        )
        previous = r.seq
      }
    }
    assert.deepStrictEqual(overlaps, [], "at most one run per key at a time")
    assert.strictEqual(yield* tasks.failures, starts.filter((r) => r.failing).length)
    assert.strictEqual(yield* c.size, 0)
    assert.strictEqual(yield* tasks.activeCount, 0)
  }).pipe(
    Effect.provide(TaskService.layerBounded(scenario.bound)),
    Effect.provide(Layer.mergeAll(TestConsole.layer, TestClock.layer()))
  )

describe("Coalescer: random programs of submits keep every guarantee", () => {
  it.effect(
    "every submit is followed by a run of its key that starts after it, under random schedules",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(scenarioArb, (scenario) => Effect.runPromise(runScenario(scenario))),
          { numRuns: 250 }
        )
      ),
    30_000
  )
})
