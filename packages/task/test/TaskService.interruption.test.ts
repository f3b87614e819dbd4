/**
 * Interruption at every step: each key scenario is first run to completion
 * without interruption, counting its scheduler steps N (one step = one
 * `Effect.yieldNow` of the driver, or one `TestClock.adjust(1)` for scenarios
 * that sleep); then, for every k in 0..N, it runs again and is interrupted
 * after k steps — the task fiber the scenario names, or the whole service (its
 * scope is closed). After every step and at the end the invariants are
 * checked: bodies holding a slot <= bound, activeCount = registered - inside
 * yieldQuiescent (from `snapshot`), and at the end counters back to 0, no slot
 * leaked, coalescer size 0, no quiescence waiter left behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Latch } from "effect"
import { Coalescer, TaskService, type TaskServiceShape } from "effect-task"
import { TestClock } from "effect/testing"
import { isDone } from "./helpers/exits.ts"
import { slotsIntact } from "./helpers/gauge.ts"
import { layerFor, ownedService } from "./helpers/service.ts"
import { settle, until, untilStates, yieldTimes } from "./helpers/waits.ts"

interface Env {
  readonly tasks: TaskServiceShape
  readonly coalescer: Coalescer<string>
  /** task fibers by name, captured at body start */
  readonly fibers: Map<string, Fiber.Fiber<unknown, unknown>>
  /** what ran, in order */
  readonly log: Array<string>
  /** bodies holding their slot, counted conservatively (before release, after re-take) */
  running: number
  high: number
}

interface Scenario {
  readonly name: string
  /** 0 = unbounded */
  readonly bound: number
  /** the fiber to interrupt: a name the setup registers in `fibers` */
  readonly target: string
  /** registers the scenario's tasks; the driver then steps until `isDone` */
  readonly setup: (env: Env) => Effect.Effect<() => boolean>
  /** checks on the log once the run is over */
  readonly verify?: (env: Env, interrupted: Interrupted) => void
  /** a step is `TestClock.adjust(1)` instead of `Effect.yieldNow` */
  readonly clock?: boolean
}

type Interrupted = { readonly kind: "none" } | {
  readonly kind: "fiber" | "service"
  readonly k: number
  /** the log at the moment of the interruption */
  readonly logAt: ReadonlyArray<string>
}

/** Per body: how deep in yields it is (only the outermost yield releases the slot). */
interface Holder {
  depth: number
}

const CurrentHolder = Context.Reference<Holder | undefined>("effect-task/test/CurrentHolder", {
  defaultValue: () => undefined
})

/** A task body: captures its fiber under `name`, logs start/end, counts itself while it holds its slot. */
const body = <A, E>(env: Env, name: string, self: Effect.Effect<A, E>): Effect.Effect<void, E> =>
  Effect.withFiber((fiber) => {
    env.fibers.set(name, fiber)
    env.log.push(`${name}:start`)
    env.running++
    if (env.running > env.high) env.high = env.running
    const holder: Holder = { depth: 0 }
    return self.pipe(
      Effect.andThen(Effect.sync(() => env.log.push(`${name}:end`))),
      Effect.ensuring(Effect.sync(() => {
        if (holder.depth === 0) env.running--
        holder.depth = -1
      })),
      Effect.provideService(CurrentHolder, holder)
    )
  })

/** `yieldSlot`/`yieldQuiescent` around `self`, keeping the running count conservative. */
const yielding = <A, E>(env: Env, kind: "slot" | "quiescent", self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(CurrentHolder, (holder) =>
    Effect.suspend(() => {
      const outermost = holder !== undefined && holder.depth === 0
      if (outermost) env.running--
      if (holder !== undefined) holder.depth++
      const run = kind === "slot" ? env.tasks.yieldSlot(self) : env.tasks.yieldQuiescent(self)
      return Effect.flatMap(Effect.exit(run), (exit) =>
        Effect.suspend(() => {
          if (holder !== undefined) holder.depth--
          if (outermost) {
            env.running++
            if (env.running > env.high) env.high = env.running
          }
          return exit
        }))
    }))

/** The service's own view, checked after every step. */
const checkStep = (env: Env, bound: number, where: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const active = yield* env.tasks.activeCount
    const snapshot = yield* env.tasks.snapshot
    const quiescent = snapshot.filter((t) => t.state === "yielded-quiescent").length
    assert.isAtLeast(active, 0, `${where}: activeCount`)
    assert.strictEqual(
      active,
      snapshot.length - quiescent,
      `${where}: activeCount = registered - inside yieldQuiescent`
    )
    if (bound > 0) {
      assert.isAtMost(env.running, bound, `${where}: bodies holding a slot`)
      assert.isAtMost(snapshot.filter((t) => t.state === "running").length, bound, `${where}: running tasks`)
    }
  })

/**
 * The pool's quiescence waiter set, from the module's internal `poolOf` (an
 * interrupted waiter must leave nothing behind, and nothing else observes it).
 * Imported by a computed path: the test project may not import the sources'
 * project statically (TS2878); vitest resolves it to the same module instance
 * the `effect-task` alias loads.
 */
const internals = Effect.promise(() =>
  import(/* @vite-ignore */ ["..", "src", "internal", "pool.ts"].join("/")) as Promise<
    { readonly poolOf: (service: object) => { readonly quiescence: { readonly size: number } } | undefined }
  >
)

const waitersLeft = (tasks: TaskServiceShape) => Effect.map(internals, ({ poolOf }) => poolOf(tasks)!.quiescence.size)

/**
 * Runs `scenario` once: uninterrupted (`k` undefined), or interrupted after `k`
 * steps. Returns the number of steps the run took.
 */
const runOnce = (scenario: Scenario, mode: "fiber" | "service", k: number | undefined) =>
  Effect.gen(function*() {
    const owned = yield* ownedService(layerFor(scenario.bound))
    const coalescer = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, owned.tasks))
    const env: Env = { tasks: owned.tasks, coalescer, fibers: new Map(), log: [], running: 0, high: 0 }
    const done = yield* scenario.setup(env)
    let interrupted: Interrupted = { kind: "none" }
    const where = () => `${scenario.name}, ${mode} interrupted after ${k} steps`
    let steps = 0
    for (; !done(); steps++) {
      if (steps > 500) assert.fail(`${where()}: did not finish (log: ${env.log.join(" ")})`)
      if (k === steps && interrupted.kind === "none") {
        interrupted = { kind: mode, k, logAt: [...env.log] }
        if (mode === "service") {
          yield* owned.close
        } else {
          const fiber = env.fibers.get(scenario.target)
          if (fiber !== undefined) yield* Fiber.interrupt(fiber)
          else interrupted = { kind: "none" } // the target has not started yet: nothing to interrupt
        }
      }
      if (interrupted.kind !== "service") yield* checkStep(env, scenario.bound, `${where()}, step ${steps}`)
      if (scenario.clock) yield* TestClock.adjust(1)
      else yield* Effect.yieldNow
      // once interrupted, the scenario may never reach its own end: stop when the service is idle
      if (interrupted.kind !== "none" && (yield* owned.tasks.activeCount) === 0) {
        if ((yield* owned.tasks.snapshot).length === 0) break
      }
    }
    yield* owned.tasks.blockTillDone
    yield* settle // let the finalizers of interrupted fibers finish
    // counters back to 0
    assert.strictEqual(yield* owned.tasks.activeCount, 0, `${where()}: activeCount`)
    assert.deepStrictEqual(yield* owned.tasks.snapshot, [], `${where()}: registered tasks`)
    assert.strictEqual(yield* owned.tasks.failures, 0, `${where()}: failures`)
    assert.strictEqual(yield* coalescer.size, 0, `${where()}: coalescer size`)
    assert.strictEqual(env.running, 0, `${where()}: bodies holding a slot`)
    for (const [name, fiber] of env.fibers) {
      if (name !== "waiter") assert.isTrue(isDone(fiber), `${where()}: fiber ${name} still alive`)
    }
    const waiter = env.fibers.get("waiter")
    if (waiter !== undefined && !isDone(waiter)) yield* Fiber.interrupt(waiter)
    assert.strictEqual(yield* waitersLeft(owned.tasks), 0, `${where()}: quiescence waiters left behind`)
    if (interrupted.kind !== "service") {
      // no slot leaked: a fresh batch of `bound` gated tasks all start
      const high = yield* slotsIntact(owned.tasks, scenario.bound)
      assert.strictEqual(high, scenario.bound === 0 ? 9 : scenario.bound, `${where()}: slots after the run`)
      yield* owned.close
    }
    assert.strictEqual(yield* owned.tasks.activeCount, 0)
    scenario.verify?.(env, interrupted)
    return steps
  })

/** Every k from 0 to the uninterrupted length, for both kinds of interruption. */
const everyStep = (scenario: Scenario) =>
  Effect.gen(function*() {
    const length = yield* runOnce(scenario, "fiber", undefined)
    assert.isAbove(length, 2, "the scenario takes several steps")
    for (const mode of ["fiber", "service"] as const) {
      for (let k = 0; k <= length; k++) yield* runOnce(scenario, mode, k)
    }
    return length
  })

// -----------------------------------------------------------------------------
// scenarios
// -----------------------------------------------------------------------------

/** `a` yields its slot around a few turns; `b` takes the slot meanwhile; `c` is parked behind both. */
const insideYield = (kind: "slot" | "quiescent"): Scenario => ({
  name: `a body inside ${kind === "slot" ? "yieldSlot" : "yieldQuiescent"}`,
  bound: 1,
  target: "a",
  setup: (env) =>
    Effect.gen(function*() {
      yield* env.tasks.go("a", body(env, "a", Effect.andThen(yielding(env, kind, yieldTimes(4)), yieldTimes(1))))
      yield* env.tasks.go("b", body(env, "b", yieldTimes(2)))
      yield* env.tasks.go("c", body(env, "c", yieldTimes(1)))
      return () => ["a", "b", "c"].every((n) => env.log.includes(`${n}:end`))
    }),
  verify: (env, interrupted) => {
    // b and c always run to the end unless the service was closed
    if (interrupted.kind !== "service") {
      assert.include(env.log, "b:end")
      assert.include(env.log, "c:end")
    }
  }
})

/** Nested yields: the inner one releases nothing more, and nothing is taken back twice. */
const nested = (outer: "slot" | "quiescent", inner: "slot" | "quiescent"): Scenario => ({
  name: `a body inside ${inner} nested in ${outer}`,
  bound: 1,
  target: "a",
  setup: (env) =>
    Effect.gen(function*() {
      yield* env.tasks.go(
        "a",
        body(env, "a", yielding(env, outer, Effect.andThen(yieldTimes(1), yielding(env, inner, yieldTimes(3)))))
      )
      yield* env.tasks.go("b", body(env, "b", yieldTimes(3)))
      return () => ["a", "b"].every((n) => env.log.includes(`${n}:end`))
    })
})

/** A waiter inside yieldQuiescent on a Latch that another task opens. */
const dependencyWait: Scenario = {
  name: "a dependency wait (Latch) inside yieldQuiescent",
  bound: 1,
  target: "consumer",
  setup: (env) =>
    Effect.gen(function*() {
      const latch = yield* Latch.make(false)
      yield* env.tasks.go("consumer", body(env, "consumer", yielding(env, "quiescent", latch.await)))
      yield* env.tasks.go("producer", body(env, "producer", Effect.andThen(yieldTimes(2), latch.open)))
      return () => ["consumer", "producer"].every((n) => env.log.includes(`${n}:end`))
    })
}

/**
 * A coalescer re-run: run 1 executes, a second submit marks it pending, a
 * competitor queues for the slot, run 1 ends and the re-run queues behind the
 * competitor, then executes the latest body.
 */
const coalescedRerun: Scenario = {
  name: "a coalesced re-run",
  bound: 1,
  target: "run",
  setup: (env) =>
    Effect.gen(function*() {
      yield* env.coalescer.submit(
        "run-1",
        "k",
        body(env, "run", Effect.andThen(yieldTimes(3), Effect.sync(() => env.log.push("run-1"))))
      )
      yield* until("run-1 has started", () => env.log.includes("run:start"))
      yield* env.coalescer.submit(
        "run-2",
        "k",
        body(env, "run", Effect.andThen(yieldTimes(2), Effect.sync(() => env.log.push("run-2"))))
      )
      yield* env.tasks.go("competitor", body(env, "competitor", yieldTimes(2)))
      return () => env.log.includes("run-2") && env.log.includes("competitor:end")
    }),
  verify: (env, interrupted) => {
    if (interrupted.kind === "none") {
      assert.deepStrictEqual(env.log.filter((l) => l.startsWith("run-")), ["run-1", "run-2"])
      return
    }
    if (interrupted.kind === "service") return
    // The second submit must be followed by a run that starts after it,
    // unless the interruption hit that very run after it had started.
    const runStarts = env.log.filter((l) => l === "run:start").length
    const secondRunStarted = interrupted.logAt.filter((l) => l === "run:start").length >= 2
    // documented: interrupted while the re-run waits for its slot cancels that re-run
    const waitingForRerunSlot = interrupted.logAt.includes("run-1") && !secondRunStarted
    if (!secondRunStarted && !waitingForRerunSlot) assert.strictEqual(runStarts, 2, "the pending submit was run")
  }
}

/** A parked task (no fiber yet) while a holder sleeps on the TestClock: interrupt the holder or the service. */
const parked: Scenario = {
  name: "a parked task",
  bound: 1,
  target: "holder",
  clock: true,
  setup: (env) =>
    Effect.gen(function*() {
      yield* env.tasks.go("holder", body(env, "holder", Effect.sleep(4)))
      yield* env.tasks.go("parked", body(env, "parked", Effect.sleep(2)))
      return () => env.log.includes("parked:end")
    }),
  verify: (env, interrupted) => {
    if (interrupted.kind === "service") {
      // a task still parked at shutdown never runs
      if (!interrupted.logAt.includes("parked:start")) assert.notInclude(env.log, "parked:start")
    } else {
      assert.include(env.log, "parked:end")
    }
  }
}

/** A waiter on awaitQuiescence(0) while a hand-off chain runs. */
const quiescenceWaiter: Scenario = {
  name: "a waiter on awaitQuiescence",
  bound: 2,
  target: "waiter",
  setup: (env) =>
    Effect.gen(function*() {
      const d = yield* Deferred.make<void>()
      yield* env.tasks.go("src", body(env, "src", Effect.andThen(yieldTimes(2), Deferred.succeed(d, undefined))))
      yield* env.tasks.go(
        "leaf",
        body(env, "leaf", yielding(env, "quiescent", Effect.andThen(Deferred.await(d), Effect.yieldNow)))
      )
      const waiter = yield* Effect.forkChild(
        Effect.andThen(env.tasks.awaitQuiescence(0), Effect.sync(() => env.log.push("quiet")))
      )
      env.fibers.set("waiter", waiter)
      return () => env.log.includes("quiet") || (isDone(waiter) && env.log.includes("leaf:end"))
    }),
  verify: (env, interrupted) => {
    if (interrupted.kind === "none") assert.deepStrictEqual(env.log.at(-1), "quiet")
    // the waiter never completes before the chain is done
    const quiet = env.log.indexOf("quiet")
    if (quiet >= 0) assert.isAbove(quiet, env.log.indexOf("leaf:end"))
  }
}

describe("TaskService and Coalescer: interruption at every step", () => {
  for (
    const scenario of [
      insideYield("slot"),
      insideYield("quiescent"),
      nested("slot", "quiescent"),
      nested("quiescent", "slot"),
      nested("slot", "slot"),
      dependencyWait,
      coalescedRerun,
      parked,
      quiescenceWaiter
    ]
  ) {
    it.effect(scenario.name, () => Effect.asVoid(everyStep(scenario)))
  }

  it.effect("interrupting a coalescer re-run while it waits for its slot cancels it; the next submit runs", () =>
    Effect.gen(function*() {
      // documented: a run interrupted before it starts is cancelled with the submits collapsed into it
      const { close, tasks } = yield* ownedService(TaskService.layerBounded(1))
      const coalescer = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
      const fiber = yield* Deferred.make<Fiber.Fiber<unknown, unknown>>()
      const gate = yield* Deferred.make<void>()
      const competitorGate = yield* Deferred.make<void>()
      const runs: Array<string> = []
      yield* coalescer.submit(
        "r1",
        "k",
        Effect.withFiber((f) =>
          Effect.andThen(
            Deferred.succeed(fiber, f),
            Effect.andThen(Deferred.await(gate), Effect.sync(() => runs.push("r1")))
          )
        )
      )
      const run = yield* Deferred.await(fiber)
      yield* coalescer.submit("r2", "k", Effect.sync(() => runs.push("r2"))) // pending: r1 is executing
      yield* tasks.go(
        "competitor",
        Effect.andThen(Deferred.await(competitorGate), Effect.sync(() => runs.push("competitor")))
      )
      yield* Deferred.succeed(gate, undefined) // r1 ends; the re-run queues behind the competitor
      yield* untilStates(tasks, { r2: "parked", competitor: "running" })
      assert.deepStrictEqual((yield* tasks.snapshot).map((t) => [t.name, t.state]), [["r2", "parked"], [
        "competitor",
        "running"
      ]])
      yield* Fiber.interrupt(run) // interrupted while waiting for the re-run's slot
      yield* Deferred.succeed(competitorGate, undefined)
      yield* tasks.blockTillDone
      assert.strictEqual(yield* coalescer.size, 0)
      assert.deepStrictEqual(runs, ["r1", "competitor"])
      yield* coalescer.submit("r3", "k", Effect.sync(() => runs.push("r3")))
      yield* tasks.blockTillDone
      assert.deepStrictEqual(runs, ["r1", "competitor", "r3"])
      assert.strictEqual(yield* coalescer.size, 0)
      yield* close
    }))
})
