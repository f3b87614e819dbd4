/**
 * The orchestrator: reconciles every object as a task of a `TaskService`,
 * through a `Coalescer` keyed by `namespace/name`.
 *
 * A reconcile waits for its dependencies inside `tasks.yieldQuiescent` (one
 * `Deferred` per object and generation, completed with its verdict), then
 * renders inside `tasks.yieldSlot`. A watcher fiber waits for
 * `tasks.awaitQuiescence(0)`: once nothing runs or is parked, every reconcile
 * still waiting waits on something no task will ever produce, so the watcher
 * decides those waiters — `missing-dependency` when a dependency does not
 * exist, `cycle` for the members of each cycle of the wait-for graph. Their
 * dependents then wake up and inherit the verdict (see {@link inherit}). A
 * `depTimeoutMs` timer stays as a safety net; the summary's `decidedBy` says
 * which of the two decided.
 *
 * Watch mode runs more rounds on the same orchestrator: each round gives the
 * objects it re-renders a new generation of verdicts, and the coalescer folds
 * the submits of overlapping rounds for one object into one re-run.
 */
import { Clock, Deferred, Duration, Effect, Fiber, type Layer, type Scope, Stream } from "effect"
import { Coalescer, TaskService } from "effect-task"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { findCycles, showCycle } from "./graph.ts"
import { type LoadResult, loadTree } from "./load.ts"
import {
  type DecidedBy,
  type DirUnreadable,
  errorMessage,
  type ObjectResult,
  type ObjectSpec,
  type Outcome,
  OutDirUnwritable,
  type Problem,
  type Status,
  statuses,
  type Summary
} from "./model.ts"
import { render } from "./render.ts"

/** Options of {@link reconcile} and {@link startSession}. */
export interface ReconcileOptions {
  /** the directory to read */
  readonly dir: string
  /** where rendered files go; default a fresh temp dir */
  readonly outDir?: string | undefined
  /** the worker bound; default the service default (`TaskService.layer`); `0` means unbounded */
  readonly workers?: number | undefined
  /** simulated render latency; default 5 */
  readonly latencyMs?: number | undefined
  /** the safety-net cap on dependency waits; default 10 000 */
  readonly depTimeoutMs?: number | undefined
  /** called on every change of the task count and every 100 ms while a round runs */
  readonly onProgress?: ((progress: Progress) => void) | undefined
  /** called when an object gets a verdict */
  readonly onVerdict?: ((event: VerdictEvent) => void) | undefined
  /** called with the orchestrator before the first round starts */
  readonly onOrchestrator?: ((orchestrator: Orchestrator) => void) | undefined
}

export const defaultLatencyMs = 5
export const defaultDepTimeoutMs = 10_000

/** What the live progress line shows. */
export interface Progress {
  /** registered tasks (parked, running or yielded) */
  readonly registered: number
  /** tasks whose body runs (holding a slot, or rendering with the slot given back) */
  readonly running: number
  /** tasks waiting for a worker slot */
  readonly parked: number
  /** tasks waiting for their dependencies (inside `yieldQuiescent`) */
  readonly waiting: number
  /** objects with a ready verdict */
  readonly done: number
  /** objects with any other verdict */
  readonly failed: number
  readonly total: number
  readonly elapsedMs: number
}

/** One verdict, as it happens. `round` is 0 for the initial run. */
export interface VerdictEvent {
  readonly id: string
  readonly round: number
  readonly status: Status
  readonly reason: string | null
  readonly run: number
  readonly atMs: number
  readonly durationMs: number | null
  readonly output: string | null
}

interface Generation {
  /** increasing over the whole orchestrator */
  readonly n: number
  readonly round: number
  readonly done: Deferred.Deferred<Outcome>
  /** set, synchronously, by the step that gives this generation its verdict */
  claimed: boolean
}

interface Entry {
  spec: ObjectSpec
  /** the latest generation submitted */
  latest: Generation | undefined
  phase: "pending" | "waiting" | "rendering" | "settled"
  outcome: Outcome | undefined
  startedMs: number | null
  finishedMs: number | null
  verdictMs: number | null
  output: string | null
  runs: number
}

interface Waiter {
  readonly gen: Generation
  readonly deps: ReadonlyArray<{ readonly id: string; readonly done: Deferred.Deferred<Outcome> }>
}

type DepsResult =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "NotReady"; readonly dep: string; readonly outcome: Outcome }
  | { readonly _tag: "Decided" }

/**
 * The verdict of an object whose dependency `dep` ended with `outcome`
 * (not ready). A dependent inherits the status of the root cause:
 * - `failed` → `failed`, "dependency X failed"
 * - `missing-dependency` → `missing-dependency`, "waits on missing dependency Y via X"
 * - `cycle` → `cycle`, "waits on cycle a → b → a via X" (it is not a member:
 *   only members have a reason starting with "cycle")
 */
export const inherit = (dep: string, outcome: Outcome): Outcome => {
  if (outcome.status === "failed" || outcome.root === null) {
    return { status: "failed", reason: `dependency ${dep} failed`, root: null }
  }
  return { status: outcome.status, reason: `waits on ${outcome.root} via ${dep}`, root: outcome.root }
}

/** The operations the CLI and watch mode use. */
export interface Orchestrator {
  /** Replaces the known objects (ids not given any more are forgotten). */
  readonly setObjects: (objects: ReadonlyArray<ObjectSpec>) => void
  readonly objects: () => ReadonlyArray<ObjectSpec>
  /**
   * Submits a reconcile of each id and waits until each has a verdict;
   * returns which mechanism decided the waits that could not complete.
   */
  readonly round: (ids: ReadonlyArray<string>) => Effect.Effect<DecidedBy>
  readonly progress: Effect.Effect<Progress>
  readonly results: () => ReadonlyArray<ObjectResult>
  /** milliseconds since the session started, from `Clock` */
  readonly elapsed: Effect.Effect<number>
}

interface OrchestratorConfig {
  readonly outDir: string
  readonly latencyMs: number
  readonly depTimeoutMs: number
  readonly startNanos: bigint
  readonly onVerdict?: ((event: VerdictEvent) => void) | undefined
}

const msSince = (start: bigint) =>
  Effect.map(Clock.currentTimeNanos, (now) => Math.round(Number(now - start) / 1e5) / 10)

/** Builds an orchestrator on the `TaskService` in context. */
export const makeOrchestrator = (config: OrchestratorConfig): Effect.Effect<Orchestrator, never, TaskService> =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const coalescer = yield* Coalescer.make<string>()
    const elapsed = msSince(config.startNanos)
    const entries = new Map<string, Entry>()
    /** the latest generation of every id anyone waits on, existing or not */
    const latest = new Map<string, Generation>()
    /** generations without a verdict yet, oldest first */
    const unsettled = new Map<string, Array<Generation>>()
    const waiters = new Map<string, Waiter>()
    let counter = 0
    let rounds = 0

    const newGeneration = (id: string, round: number): Generation => {
      const gen: Generation = { n: ++counter, round, done: Deferred.makeUnsafe<Outcome>(), claimed: false }
      latest.set(id, gen)
      const list = unsettled.get(id)
      if (list === undefined) unsettled.set(id, [gen])
      else list.push(gen)
      return gen
    }

    /** What a dependent waits on: the latest generation of `id` (created, unsettled, when `id` is unknown). */
    const doneOf = (id: string): Deferred.Deferred<Outcome> => (latest.get(id) ?? newGeneration(id, -1)).done

    /**
     * Gives `gen` of `id` its verdict, and every older generation still
     * without one (their runs were folded into this one by the coalescer).
     * A generation gets one verdict only: the first claim wins.
     */
    const settle = (id: string, gen: Generation, outcome: Outcome): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (gen.claimed) return Effect.void
        gen.claimed = true
        return complete(id, gen, outcome)
      })

    /**
     * Records the verdict of a claimed generation and completes its
     * `Deferred`s. Completing one resumes its waiters at once, so a caller
     * deciding several generations claims them all first.
     */
    const complete = (id: string, gen: Generation, outcome: Outcome): Effect.Effect<void> =>
      Effect.gen(function*() {
        const atMs = yield* elapsed
        const entry = entries.get(id)
        if (entry !== undefined) {
          entry.outcome = outcome
          entry.verdictMs = atMs
          if (entry.latest === gen) entry.phase = "settled"
          if (outcome.status !== "ready") entry.output = null
        }
        const list = unsettled.get(id) ?? []
        const older = list.filter((g) => g.n <= gen.n)
        unsettled.set(id, list.filter((g) => g.n > gen.n))
        config.onVerdict?.({
          id,
          round: gen.round,
          status: outcome.status,
          reason: outcome.reason,
          run: entry?.runs ?? 0,
          atMs,
          durationMs: entry?.startedMs == null ? null : Math.round((atMs - entry.startedMs) * 10) / 10,
          output: entry?.output ?? null
        })
        for (const g of older) {
          g.claimed = true
          yield* Deferred.succeed(g.done, outcome)
        }
      })

    const awaitDeps = (deps: Waiter["deps"]): Effect.Effect<DepsResult> =>
      Effect.forEach(
        deps,
        (dep) =>
          Effect.flatMap(
            Deferred.await(dep.done),
            (outcome) => outcome.status === "ready" ? Effect.void : Effect.fail({ dep: dep.id, outcome })
          ),
        { concurrency: "unbounded", discard: true }
      ).pipe(
        Effect.as<DepsResult>({ _tag: "Ready" }),
        Effect.catch((e) => Effect.succeed<DepsResult>({ _tag: "NotReady", ...e }))
      )

    /** The body of one reconcile run of `id`, for generation `gen`. */
    const reconcileOne = (id: string, gen: Generation): Effect.Effect<void> =>
      Effect.gen(function*() {
        const entry = entries.get(id)
        if (entry === undefined) {
          return yield* settle(id, gen, { status: "failed", reason: "the object was removed", root: null })
        }
        const spec = entry.spec
        entry.runs++
        entry.startedMs = yield* elapsed
        entry.finishedMs = null
        entry.phase = "waiting"
        const deps = spec.dependsOn.map((dep) => ({ id: dep, done: doneOf(dep) }))
        if (deps.length > 0) {
          waiters.set(id, { gen, deps })
          const result = yield* tasks.yieldQuiescent(
            Effect.raceFirst(awaitDeps(deps), Effect.as(Deferred.await(gen.done), { _tag: "Decided" } as const))
          ).pipe(Effect.ensuring(Effect.sync(() => {
            if (waiters.get(id)?.gen === gen) waiters.delete(id)
          })))
          // the watcher (or the timeout) may have decided this run while its dependencies completed
          if (result._tag === "Decided" || gen.claimed) {
            entry.finishedMs = yield* elapsed
            return
          }
          if (result._tag === "NotReady") {
            entry.finishedMs = yield* elapsed
            return yield* settle(id, gen, inherit(result.dep, result.outcome))
          }
        }
        entry.phase = "rendering"
        const rendered = yield* Effect.result(tasks.yieldSlot(render(spec, config.outDir, config.latencyMs)))
        entry.finishedMs = yield* elapsed
        if (rendered._tag === "Success") {
          entry.output = rendered.success
          return yield* settle(id, gen, { status: "ready", reason: null, root: null })
        }
        return yield* settle(id, gen, {
          status: "failed",
          reason: `render failed: ${rendered.failure.reason}`,
          root: null
        })
      })

    /**
     * Decides the waiters that can be decided now: missing dependencies and
     * cycles. With `force` (the timeout fired) also every waiter that waits
     * directly on something that is not itself waiting. Returns how many
     * waiters it decided.
     */
    const decide = (force: boolean): Effect.Effect<number> =>
      Effect.gen(function*() {
        const open = new Map<string, Array<string>>()
        for (const [id, waiter] of waiters) {
          if (waiter.gen.claimed) continue
          open.set(id, waiter.deps.filter((dep) => !Deferred.isDoneUnsafe(dep.done)).map((dep) => dep.id))
        }
        const verdicts = new Map<string, Outcome>()
        for (const [id, deps] of open) {
          const missing = deps.filter((dep) => !entries.has(dep))
          if (missing.length === 0) continue
          verdicts.set(id, {
            status: "missing-dependency",
            reason: missing.length === 1
              ? `dependency ${missing[0]} does not exist`
              : `dependencies ${missing.join(", ")} do not exist`,
            root: `missing dependency ${missing[0]}`
          })
        }
        const graph = new Map<string, ReadonlyArray<string>>()
        for (const [id, deps] of open) {
          if (!verdicts.has(id)) graph.set(id, deps.filter((dep) => open.has(dep) && !verdicts.has(dep)))
        }
        for (const cycle of findCycles(graph)) {
          const text = `cycle ${showCycle(cycle)}`
          for (const id of cycle) verdicts.set(id, { status: "cycle", reason: text, root: text })
        }
        if (force) {
          for (const [id, deps] of open) {
            if (verdicts.has(id) || deps.length === 0 || deps.some((dep) => open.has(dep))) continue
            verdicts.set(id, {
              status: "failed",
              reason: `gave up after ${config.depTimeoutMs} ms waiting for ${deps.join(", ")}`,
              root: null
            })
          }
        }
        // claim every verdict before completing any: a completion resumes dependents at once
        const claimed: Array<readonly [string, Generation, Outcome]> = []
        for (const [id, outcome] of verdicts) {
          const waiter = waiters.get(id)!
          waiters.delete(id)
          waiter.gen.claimed = true
          claimed.push([id, waiter.gen, outcome])
        }
        for (const [id, gen, outcome] of claimed) yield* complete(id, gen, outcome)
        return verdicts.size
      })

    /** Until every generation of the round has a verdict: at each quiescence, decide what can be decided. */
    const watchQuiescence = (gens: ReadonlyArray<Generation>): Effect.Effect<void> =>
      Effect.gen(function*() {
        for (;;) {
          yield* tasks.awaitQuiescence(0)
          if (gens.every((gen) => Deferred.isDoneUnsafe(gen.done))) return
          const decided = yield* decide(false)
          // nothing to decide: a woken waiter is on its way; look again shortly
          if (decided === 0) yield* Effect.sleep(Duration.millis(1))
        }
      })

    const round = (ids: ReadonlyArray<string>): Effect.Effect<DecidedBy> =>
      Effect.gen(function*() {
        const n = rounds++
        const gens = ids.map((id) => {
          const gen = newGeneration(id, n)
          const entry = entries.get(id)
          if (entry !== undefined) {
            entry.latest = gen
            entry.phase = "pending"
          }
          return [id, gen] as const
        })
        for (const [id, gen] of gens) yield* coalescer.submit(`reconcile ${id}`, id, reconcileOne(id, gen))
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
          watchQuiescence(generations)
        )
        yield* Fiber.interrupt(timer)
        return timedOut ? "timeout" : "quiescence"
      })

    const progress = Effect.gen(function*() {
      const snapshot = yield* tasks.snapshot
      let running = 0
      let parked = 0
      let waiting = 0
      for (const info of snapshot) {
        if (info.state === "parked") parked++
        else if (info.state === "yielded-quiescent") waiting++
        else running++
      }
      let done = 0
      let failed = 0
      for (const entry of entries.values()) {
        if (entry.phase !== "settled") continue
        if (entry.outcome?.status === "ready") done++
        else failed++
      }
      return {
        registered: snapshot.length,
        running,
        parked,
        waiting,
        done,
        failed,
        total: entries.size,
        elapsedMs: yield* elapsed
      } satisfies Progress
    })

    const setObjects = (objects: ReadonlyArray<ObjectSpec>): void => {
      const ids = new Set(objects.map((o) => o.id))
      for (const id of entries.keys()) {
        if (ids.has(id)) continue
        entries.delete(id)
        // dependents now wait on a fresh, unsettled generation: the object is missing
        latest.delete(id)
      }
      for (const spec of objects) {
        const entry = entries.get(spec.id)
        if (entry !== undefined) entry.spec = spec
        else {
          entries.set(spec.id, {
            spec,
            latest: undefined,
            phase: "pending",
            outcome: undefined,
            startedMs: null,
            finishedMs: null,
            verdictMs: null,
            output: null,
            runs: 0
          })
        }
      }
    }

    const results = (): ReadonlyArray<ObjectResult> =>
      [...entries.values()]
        .map((entry) => ({
          id: entry.spec.id,
          kind: entry.spec.kind,
          file: entry.spec.file,
          dependsOn: entry.spec.dependsOn,
          status: entry.outcome?.status ?? "failed",
          reason: entry.outcome === undefined ? "never reconciled" : entry.outcome.reason,
          startedMs: entry.startedMs,
          finishedMs: entry.finishedMs,
          verdictMs: entry.verdictMs,
          output: entry.output,
          runs: entry.runs
        }))
        .toSorted((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

    return {
      setObjects,
      objects: () => [...entries.values()].map((entry) => entry.spec),
      round,
      progress,
      results,
      elapsed
    } satisfies Orchestrator
  })

/** `TaskService.layer` (the default bound) or `TaskService.layerBounded(workers)`. */
export const taskLayer = (workers: number | undefined): Layer.Layer<TaskService> =>
  workers === undefined ? TaskService.layer : TaskService.layerBounded(workers)

/** Creates `outDir`, or a fresh temp dir when it is not given. */
export const prepareOutDir = (outDir: string | undefined): Effect.Effect<string, OutDirUnwritable> =>
  Effect.tryPromise({
    try: async () => {
      if (outDir === undefined) return await fs.mkdtemp(path.join(os.tmpdir(), "effect-task-demo-"))
      const resolved = path.resolve(outDir)
      await fs.mkdir(resolved, { recursive: true })
      return resolved
    },
    catch: (error) => new OutDirUnwritable({ dir: outDir ?? os.tmpdir(), message: errorMessage(error) })
  })

/** Builds the summary of the objects' current verdicts. */
export const summarize = (input: {
  readonly dir: string
  readonly outDir: string
  readonly workers: number | undefined
  readonly latencyMs: number
  readonly depTimeoutMs: number
  readonly decidedBy: DecidedBy
  readonly wallMs: number
  readonly objects: ReadonlyArray<ObjectResult>
  readonly problems: ReadonlyArray<Problem>
}): Summary => {
  const totals = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<Status, number>
  for (const object of input.objects) totals[object.status]++
  return {
    dir: input.dir,
    outDir: input.outDir,
    workers: input.workers ?? null,
    latencyMs: input.latencyMs,
    depTimeoutMs: input.depTimeoutMs,
    decidedBy: input.decidedBy,
    wallMs: input.wallMs,
    ok: input.problems.length === 0 && totals.ready === input.objects.length,
    totals,
    objects: input.objects,
    problems: input.problems
  }
}

/** A running session: the orchestrator after its initial round. */
export interface Session {
  readonly orchestrator: Orchestrator
  readonly loaded: LoadResult
  readonly summary: Summary
  /** the summary of the objects' current verdicts, for later rounds */
  readonly summarize: (decidedBy: DecidedBy, problems: ReadonlyArray<Problem>) => Effect.Effect<Summary>
}

/**
 * Loads `options.dir`, reconciles every object once and returns the session
 * (watch mode keeps using it). Needs the `TaskService`; progress is reported
 * while the round runs.
 */
export const startSession = (
  options: ReconcileOptions
): Effect.Effect<Session, DirUnreadable | OutDirUnwritable, TaskService | Scope.Scope> =>
  Effect.gen(function*() {
    const startNanos = yield* Clock.currentTimeNanos
    const latencyMs = options.latencyMs ?? defaultLatencyMs
    const depTimeoutMs = options.depTimeoutMs ?? defaultDepTimeoutMs
    const dir = path.resolve(options.dir)
    const loaded = yield* loadTree(dir)
    const outDir = yield* prepareOutDir(options.outDir)
    const tasks = yield* TaskService
    const workers = yield* tasks.workers
    const orchestrator = yield* makeOrchestrator({
      outDir,
      latencyMs,
      depTimeoutMs,
      startNanos,
      onVerdict: options.onVerdict
    })
    orchestrator.setObjects(loaded.objects)
    options.onOrchestrator?.(orchestrator)

    const onProgress = options.onProgress
    const reporter = onProgress === undefined ? undefined : yield* Effect.forkChild(
      Stream.merge(tasks.activeChanges, Stream.tick(Duration.millis(100))).pipe(
        Stream.runForEach(() => Effect.map(orchestrator.progress, onProgress))
      )
    )
    const decidedBy = yield* orchestrator.round(loaded.objects.map((o) => o.id))
    yield* tasks.blockTillDone
    if (reporter !== undefined) {
      yield* Fiber.interrupt(reporter)
      onProgress?.(yield* orchestrator.progress)
    }

    const summarizeNow = (decided: DecidedBy, problems: ReadonlyArray<Problem>) =>
      Effect.map(orchestrator.elapsed, (wallMs) =>
        summarize({
          dir,
          outDir,
          workers,
          latencyMs,
          depTimeoutMs,
          decidedBy: decided,
          wallMs,
          objects: orchestrator.results(),
          problems
        }))
    return {
      orchestrator,
      loaded,
      summary: yield* summarizeNow(decidedBy, loaded.problems),
      summarize: summarizeNow
    }
  })

/**
 * Reconciles every object under `options.dir` once, on its own task service,
 * and returns the summary. This is what `pnpm demo` runs without `--watch`.
 *
 * @example
 * ```ts
 * const summary = await Effect.runPromise(reconcile({ dir: "fixtures", latencyMs: 1 }))
 * summary.totals // { ready: 33, failed: 2, "missing-dependency": 2, cycle: 4 }
 * ```
 */
export const reconcile = (options: ReconcileOptions): Effect.Effect<Summary, DirUnreadable | OutDirUnwritable> =>
  Effect.scoped(Effect.map(startSession(options), (session) => session.summary)).pipe(
    Effect.provide(taskLayer(options.workers))
  )
