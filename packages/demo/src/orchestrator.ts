/**
 * The orchestrator: reconciles every object of every cluster as a task of a
 * `TaskService`, through a `Coalescer` keyed by the object's key (cluster
 * and id).
 *
 * A reconcile waits for its dependencies inside `tasks.yieldQuiescent` (one
 * `Deferred` per object and generation, completed with its verdict), then
 * renders inside `tasks.yieldSlot`. A suspended object is not reconciled: its
 * verdict is `suspended` at once, and its dependents inherit it. A watcher
 * fiber waits for `tasks.awaitQuiescence(0)`: once nothing runs or is parked,
 * every reconcile still waiting waits on something no task will ever
 * produce, and the pure `decideStuck` gives the root causes their verdicts;
 * their dependents wake up and inherit. A `depTimeoutMs` timer stays as a
 * safety net; the summary's `decidedBy` says which of the two decided.
 *
 * Progress counts come from the service's gauges (`TaskService.metrics`:
 * registered, running, parked), plus two counters the orchestrator keeps on
 * its own transitions: reconciles inside `yieldQuiescent` (waiting) and
 * inside `yieldSlot` (rendering).
 */
import { Clock, Deferred, Duration, Effect, Fiber, Metric, Stream } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { decideStuck, inherit, suspendedOutcome } from "./decide.ts"
import { type DecidedBy, objectKey, type ObjectSpec, type Outcome } from "./model.ts"
import { render } from "./render.ts"
import { type Entry, type Generation, makeVerdictStore, type VerdictEvent } from "./verdicts.ts"

export type { Entry, VerdictEvent } from "./verdicts.ts"

/** What the live progress line shows. */
export interface Progress {
  /** registered tasks (parked, running or yielded): the service's gauge */
  readonly registered: number
  /** task bodies holding a worker slot: the service's gauge */
  readonly running: number
  /** tasks waiting for a worker slot: the service's gauge */
  readonly parked: number
  /** reconciles rendering, with their slot given back (inside `yieldSlot`) */
  readonly rendering: number
  /** reconciles waiting for their dependencies (inside `yieldQuiescent`) */
  readonly waiting: number
  /** objects with a ready verdict */
  readonly done: number
  /** objects with any other verdict */
  readonly failed: number
  readonly total: number
  readonly elapsedMs: number
}

interface Waiter {
  readonly gen: Generation
  readonly deps: ReadonlyArray<{ readonly key: string; readonly done: Deferred.Deferred<Outcome> }>
}

type DepsResult =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "NotReady"; readonly dep: string; readonly outcome: Outcome }
  | { readonly _tag: "Decided" }

/** The operations the session and watch mode use. */
export interface Orchestrator {
  /** Replaces the known objects (keys not given any more are forgotten). */
  readonly setObjects: (objects: ReadonlyArray<ObjectSpec>) => void
  readonly objects: () => ReadonlyArray<ObjectSpec>
  /** Submits a reconcile of each key and waits until each has a verdict. */
  readonly round: (keys: ReadonlyArray<string>) => Effect.Effect<DecidedBy>
  readonly progress: Effect.Effect<Progress>
  readonly entries: () => ReadonlyArray<Entry>
  /** milliseconds since the session started, from `Clock` */
  readonly elapsed: Effect.Effect<number>
}

export interface OrchestratorConfig {
  /** the tree's dir (rendered files name their source relative to it) */
  readonly dir: string
  readonly outDir: string
  readonly latencyMs: number
  readonly depTimeoutMs: number
  readonly startNanos: bigint
  readonly onVerdict?: ((event: VerdictEvent) => void) | undefined
}

export const msSince = (start: bigint) =>
  Effect.map(Clock.currentTimeNanos, (now) => Math.round(Number(now - start) / 1e5) / 10)

const gauge = (metric: typeof TaskService.metrics.running) => Effect.map(Metric.value(metric), (s) => s.value)

/** Builds an orchestrator on the `TaskService` in context. */
export const makeOrchestrator = (config: OrchestratorConfig): Effect.Effect<Orchestrator, never, TaskService> =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const coalescer = yield* Coalescer.make<string>()
    const elapsed = msSince(config.startNanos)
    const store = makeVerdictStore(elapsed, config.onVerdict)
    const { complete, doneOf, entries, newGeneration, setObjects, settle } = store
    const waiters = new Map<string, Waiter>()
    let rounds = 0
    let waiting = 0
    let rendering = 0

    const awaitDeps = (deps: Waiter["deps"], ids: ReadonlyMap<string, string>): Effect.Effect<DepsResult> =>
      Effect.forEach(
        deps,
        (dep) =>
          Effect.flatMap(
            Deferred.await(dep.done),
            (outcome) => outcome.status === "ready" ? Effect.void : Effect.fail({ dep: ids.get(dep.key)!, outcome })
          ),
        { concurrency: "unbounded", discard: true }
      ).pipe(
        Effect.as<DepsResult>({ _tag: "Ready" }),
        Effect.catch((e) => Effect.succeed<DepsResult>({ _tag: "NotReady", ...e }))
      )

    /** The body of one reconcile run of `key`, for generation `gen`. */
    const reconcileOne = (key: string, gen: Generation): Effect.Effect<void> =>
      Effect.gen(function*() {
        const entry = entries.get(key)
        if (entry === undefined) {
          return yield* settle(key, gen, { status: "failed", reason: "the object was removed", root: null })
        }
        const spec = entry.spec
        entry.runs++
        entry.startedMs = yield* elapsed
        entry.finishedMs = null
        if (spec.suspended) {
          entry.finishedMs = entry.startedMs
          return yield* settle(key, gen, suspendedOutcome(spec.id))
        }
        entry.phase = "waiting"
        const ids = new Map(spec.dependsOn.map((id) => [objectKey(spec.cluster, id), id]))
        const deps = [...ids.keys()].map((dep) => ({ key: dep, done: doneOf(dep) }))
        if (deps.length > 0) {
          waiters.set(key, { gen, deps })
          waiting++
          const result = yield* tasks.yieldQuiescent(
            Effect.raceFirst(awaitDeps(deps, ids), Effect.as(Deferred.await(gen.done), { _tag: "Decided" } as const))
          ).pipe(Effect.ensuring(Effect.sync(() => {
            waiting--
            if (waiters.get(key)?.gen === gen) waiters.delete(key)
          })))
          if (result._tag === "Decided" || gen.claimed) {
            entry.finishedMs = yield* elapsed
            return
          }
          if (result._tag === "NotReady") {
            entry.finishedMs = yield* elapsed
            return yield* settle(key, gen, inherit(result.dep, result.outcome))
          }
        }
        entry.phase = "rendering"
        rendering++
        const rendered = yield* Effect.result(tasks.yieldSlot(render(spec, config, config.latencyMs))).pipe(
          Effect.ensuring(Effect.sync(() => rendering--))
        )
        entry.finishedMs = yield* elapsed
        if (rendered._tag === "Success") {
          entry.output = rendered.success
          return yield* settle(key, gen, { status: "ready", reason: null, root: null })
        }
        return yield* settle(key, gen, {
          status: "failed",
          reason: `render failed: ${rendered.failure.reason}`,
          root: null
        })
      })

    /** Decides what can be decided now (see `decideStuck`); returns how many waiters it decided. */
    const decide = (force: boolean): Effect.Effect<number> =>
      Effect.gen(function*() {
        const open = new Map<string, Array<string>>()
        for (const [key, waiter] of waiters) {
          if (waiter.gen.claimed) continue
          open.set(key, waiter.deps.filter((dep) => !Deferred.isDoneUnsafe(dep.done)).map((dep) => dep.key))
        }
        const verdicts = decideStuck({
          waiters: open,
          existing: new Set(entries.keys()),
          force,
          depTimeoutMs: config.depTimeoutMs
        })
        // claim every verdict before completing any: a completion resumes dependents at once
        const claimed: Array<readonly [string, Generation, Outcome]> = []
        for (const [key, outcome] of verdicts) {
          const waiter = waiters.get(key)!
          waiters.delete(key)
          waiter.gen.claimed = true
          claimed.push([key, waiter.gen, outcome])
        }
        for (const [key, gen, outcome] of claimed) yield* complete(key, gen, outcome)
        return verdicts.size
      })

    /** The next change of the task count (no polling: the service's own stream). */
    const nextChange = Effect.asVoid(Stream.runHead(Stream.drop(tasks.activeChanges, 1)))

    /** Until every generation of the round has a verdict: at each quiescence, decide what can be decided. */
    const watchQuiescence = (round: ReadonlyArray<readonly [string, Generation]>): Effect.Effect<void> =>
      Effect.gen(function*() {
        for (;;) {
          yield* tasks.awaitQuiescence(0)
          if (round.every(([, gen]) => Deferred.isDoneUnsafe(gen.done))) return
          const decided = yield* decide(false)
          if (decided > 0) continue
          if ([...waiters.values()].every((w) => w.gen.claimed)) {
            // quiescent and nobody waits, yet a verdict is missing: its task ended without one (a defect)
            for (const [key, gen] of round) {
              yield* settle(key, gen, {
                status: "failed",
                reason: "no verdict: its reconcile task ended without one (see the error log)",
                root: null
              })
            }
            continue
          }
          // what is still open waits on work that has to register first
          yield* nextChange
        }
      })

    const round = (keys: ReadonlyArray<string>): Effect.Effect<DecidedBy> =>
      Effect.gen(function*() {
        const n = rounds++
        const gens = keys.map((key) => {
          const gen = newGeneration(key, n)
          const entry = entries.get(key)
          if (entry !== undefined) {
            entry.latest = gen
            entry.phase = "pending"
          }
          return [key, gen] as const
        })
        for (const [key, gen] of gens) {
          yield* coalescer.submit(`reconcile ${key.replace("\t", " ")}`, key, reconcileOne(key, gen))
        }
        let timedOut = false
        const timer = yield* Effect.forkChild(
          Effect.sleep(Duration.millis(config.depTimeoutMs)).pipe(
            Effect.andThen(decide(true)),
            Effect.map((decided) => {
              timedOut = decided > 0
            })
          )
        )
        const generations = gens.map(([, gen]) => gen)
        yield* Effect.raceFirst(
          Effect.forEach(generations, (gen) => Deferred.await(gen.done), { discard: true }),
          watchQuiescence(gens)
        )
        yield* Fiber.interrupt(timer)
        return timedOut ? "timeout" : "quiescence"
      })

    const progress = Effect.gen(function*() {
      let done = 0
      let failed = 0
      for (const entry of entries.values()) {
        if (entry.phase !== "settled") continue
        if (entry.outcome?.status === "ready") done++
        else failed++
      }
      return {
        registered: yield* gauge(TaskService.metrics.registered),
        running: yield* gauge(TaskService.metrics.running),
        parked: yield* gauge(TaskService.metrics.parked),
        rendering,
        waiting,
        done,
        failed,
        total: entries.size,
        elapsedMs: yield* elapsed
      } satisfies Progress
    })

    return {
      setObjects,
      objects: () => [...entries.values()].map((entry) => entry.spec),
      round,
      progress,
      entries: () => [...entries.values()],
      elapsed
    } satisfies Orchestrator
  })
