/**
 * A reconcile session: read the tree, build its clusters (`clusters.ts`),
 * prepare the output dir, run the orchestrator's first round on a task
 * service (with its own metric registry, which the progress line reads),
 * and summarize. `reconcile` is the one-shot form `pnpm demo` runs without
 * `--watch`.
 */
import { Clock, Duration, Effect, Fiber, Layer, Metric, type Scope, Stream } from "effect"
import { TaskService } from "effect-task"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { buildClusters, type ClusterBuild } from "./clusters.ts"
import { loadTree } from "./load.ts"
import {
  type DecidedBy,
  type DirUnreadable,
  errorMessage,
  type ObjectResult,
  OutDirUnwritable,
  type Problem,
  type Status,
  statuses,
  type Summary
} from "./model.ts"
import { makeOrchestrator, type Orchestrator, type Progress, type VerdictEvent } from "./orchestrator.ts"
import { makeDirectory } from "./render.ts"

export type { Progress, VerdictEvent } from "./orchestrator.ts"

/** Options of {@link reconcile} and {@link startSession}. */
export interface ReconcileOptions {
  /** the directory to read */
  readonly dir: string
  /** where rendered files go; default a fresh temp dir (see {@link prepareOutDir}) */
  readonly outDir?: string | undefined
  /** whether `outDir` stays after the run (the summary says so); default: when `outDir` is given */
  readonly outDirKept?: boolean | undefined
  /** the worker bound; default the service default (`TaskService.layer`); `0` means unbounded */
  readonly workers?: number | undefined
  /** simulated render latency; default 5 */
  readonly latencyMs?: number | undefined
  /** the safety-net cap on dependency waits; default 10 000 */
  readonly depTimeoutMs?: number | undefined
  /** input problems make the run fail too */
  readonly strict?: boolean | undefined
  /** called on every change of the task count and every 100 ms while a round runs */
  readonly onProgress?: ((progress: Progress) => void) | undefined
  /** called when an object gets a verdict */
  readonly onVerdict?: ((event: VerdictEvent) => void) | undefined
  /** called once the orchestrator exists, before the first round: what an interrupt summarizes */
  readonly onSession?: ((session: Session) => void) | undefined
}

export const defaultLatencyMs = 5
export const defaultDepTimeoutMs = 10_000

/**
 * `TaskService.layer` (the default bound) or `TaskService.layerBounded(workers)`,
 * on a metric registry of its own (the progress line reads the service's gauges
 * from it).
 */
export const taskLayer = (workers: number | undefined): Layer.Layer<TaskService> =>
  (workers === undefined ? TaskService.layer : TaskService.layerBounded(workers)).pipe(
    Layer.provideMerge(Layer.succeed(Metric.MetricRegistry, new Map()))
  ) as Layer.Layer<TaskService>

/** Creates `outDir`, or a fresh temp dir when it is not given. */
export const prepareOutDir = (outDir: string | undefined): Effect.Effect<string, OutDirUnwritable> =>
  Effect.tryPromise({
    try: async () => {
      if (outDir === undefined) return await fs.mkdtemp(path.join(os.tmpdir(), "effect-task-demo-"))
      const resolved = path.resolve(outDir)
      await makeDirectory(resolved)
      return resolved
    },
    catch: (error) => new OutDirUnwritable({ dir: outDir ?? os.tmpdir(), message: errorMessage(error) })
  })

const emptyTotals = () => Object.fromEntries(statuses.map((s) => [s, 0])) as Record<Status, number>

/** The objects' current verdicts, in summary form (files relative to `dir`). */
export const results = (orchestrator: Orchestrator, dir: string): ReadonlyArray<ObjectResult> =>
  orchestrator.entries()
    .map((entry) => ({
      cluster: entry.spec.cluster,
      kind: entry.spec.kind,
      namespace: entry.spec.namespace,
      name: entry.spec.name,
      id: entry.spec.id,
      status: entry.outcome?.status ?? "failed",
      reason: entry.outcome === undefined ? "no verdict (the run was interrupted)" : entry.outcome.reason,
      file: path.relative(dir, entry.spec.file),
      line: entry.spec.line,
      dependsOn: entry.spec.dependsOn,
      startedMs: entry.startedMs,
      finishedMs: entry.finishedMs,
      verdictMs: entry.verdictMs,
      output: entry.output,
      runs: entry.runs
    }))
    .toSorted((a, b) => (a.cluster === b.cluster ? (a.id < b.id ? -1 : 1) : a.cluster < b.cluster ? -1 : 1))

/** A running session: the orchestrator and what was built. */
export interface Session {
  readonly dir: string
  readonly outDir: string
  readonly orchestrator: Orchestrator
  readonly build: ClusterBuild
  readonly problems: ReadonlyArray<Problem>
  /** the summary of the objects' current verdicts */
  readonly summarize: (
    decidedBy: DecidedBy,
    problems: ReadonlyArray<Problem>,
    interrupted: boolean
  ) => Effect.Effect<Summary>
}

/** Reads `dir` (but not the output dir in it) and builds its clusters; problems of the files and of the build together. */
export const loadClusters = (dir: string, outDir?: string) =>
  Effect.map(loadTree(dir, outDir), (tree) => {
    const build = buildClusters(tree)
    return { tree, build, problems: [...tree.problems, ...build.problems] }
  })

/**
 * Loads `options.dir`, reconciles every object of every cluster once and
 * returns the session and its summary (watch mode keeps using the session).
 */
export const startSession = (
  options: ReconcileOptions
): Effect.Effect<
  { readonly session: Session; readonly summary: Summary },
  DirUnreadable | OutDirUnwritable,
  TaskService | Scope.Scope
> =>
  Effect.gen(function*() {
    const startNanos = yield* Clock.currentTimeNanos
    const latencyMs = options.latencyMs ?? defaultLatencyMs
    const depTimeoutMs = options.depTimeoutMs ?? defaultDepTimeoutMs
    const dir = path.resolve(options.dir)
    const outDir = yield* prepareOutDir(options.outDir)
    // a dir that cannot be read: the temp dir made for this run holds nothing, so it goes
    const loaded = yield* loadClusters(dir, outDir).pipe(
      Effect.tapError(() =>
        options.outDir === undefined
          ? Effect.promise(() => fs.rm(outDir, { recursive: true, force: true }))
          : Effect.void
      )
    )
    const tasks = yield* TaskService
    const workers = yield* tasks.workers
    const orchestrator = yield* makeOrchestrator({
      dir,
      outDir,
      latencyMs,
      depTimeoutMs,
      startNanos,
      onVerdict: options.onVerdict
    })
    orchestrator.setObjects(loaded.build.objects)

    const summarize = (decidedBy: DecidedBy, problems: ReadonlyArray<Problem>, interrupted: boolean) =>
      Effect.map(orchestrator.elapsed, (wallMs): Summary => {
        const objects = results(orchestrator, dir)
        const totals = emptyTotals()
        for (const o of objects) totals[o.status]++
        const clusters = orchestrator.objects().length === 0 && loaded.build.clusters.length === 0
          ? []
          : loaded.build.clusters.map((c) => {
            const own = objects.filter((o) => o.cluster === c.cluster)
            const t = emptyTotals()
            for (const o of own) t[o.status]++
            return { cluster: c.cluster, roots: c.roots, objects: own.length, totals: t }
          })
        return {
          dir,
          outDir,
          outDirKept: options.outDirKept ?? options.outDir !== undefined,
          mode: loaded.build.mode,
          clusters,
          workers: workers ?? null,
          latencyMs,
          depTimeoutMs,
          decidedBy,
          wallMs,
          interrupted,
          ok: !interrupted && objects.length > 0 && totals.ready === objects.length &&
            (options.strict !== true || problems.length === 0),
          totals,
          objects,
          problems: problems.map((p) => ({ ...p, file: path.relative(dir, p.file) || "." })),
          skipped: {
            ...loaded.build.skipped,
            unreached: loaded.build.skipped.unreached.map((u) => ({ ...u, file: path.relative(dir, u.file) }))
          }
        }
      })
    const session: Session = { dir, outDir, orchestrator, build: loaded.build, problems: loaded.problems, summarize }
    options.onSession?.(session)

    const onProgress = options.onProgress
    const reporter = onProgress === undefined ? undefined : yield* Effect.forkChild(
      Stream.merge(tasks.activeChanges, Stream.tick(Duration.millis(100))).pipe(
        Stream.runForEach(() => Effect.map(orchestrator.progress, onProgress))
      )
    )
    // each cluster is reconciled on its own, one after the other: its stuck waits are decided when it is quiescent
    let decidedBy: DecidedBy = "quiescence"
    for (const { cluster } of loaded.build.clusters) {
      const keys = loaded.build.objects.filter((o) => o.cluster === cluster).map((o) => o.key)
      if ((yield* orchestrator.round(keys)) === "timeout") decidedBy = "timeout"
      yield* tasks.blockTillDone
    }
    if (reporter !== undefined) {
      yield* Fiber.interrupt(reporter)
      onProgress?.(yield* orchestrator.progress)
    }
    return { session, summary: yield* summarize(decidedBy, loaded.problems, false) }
  })

/**
 * Reconciles every object under `options.dir` once, on its own task service,
 * and returns the summary. `onSession` sees the session first, so a caller
 * that is interrupted can still summarize what was decided.
 *
 * @example
 * ```ts
 * const summary = await Effect.runPromise(reconcile({ dir: "fixtures", latencyMs: 1 }))
 * summary.totals // { ready: 34, failed: 2, "missing-dependency": 2, cycle: 4, suspended: 0 }
 * ```
 */
export const reconcile = (options: ReconcileOptions): Effect.Effect<Summary, DirUnreadable | OutDirUnwritable> =>
  Effect.scoped(Effect.map(startSession(options), (started) => started.summary)).pipe(
    Effect.provide(taskLayer(options.workers))
  )
