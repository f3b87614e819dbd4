/**
 * Watch mode and the SIGUSR2 snapshot. After the initial run, watch the
 * directory (node's recursive `fs.watch`, or polling where that is not
 * available), and on every burst of edits read the tree again, build its
 * clusters, and reconcile the changed objects and their dependents again,
 * through the same coalescer. A burst is collapsed twice: the file events of
 * one burst within `debounceMs` lead to one re-read, and a re-run submitted
 * while the object's previous run still executes is folded by the coalescer
 * into one pending re-run.
 */
import { Effect, Queue, type Scope } from "effect"
import { type TaskInfo, TaskService } from "effect-task"
import * as fs from "node:fs"
import { withDependents } from "./graph.ts"
import { type DirUnreadable, objectKey, type ObjectSpec, type OutDirUnwritable, type Problem } from "./model.ts"
import type { Orchestrator } from "./orchestrator.ts"
import { loadClusters, type ReconcileOptions, type Session, startSession } from "./reconcile.ts"

export interface WatchOptions extends ReconcileOptions {
  readonly debounceMs: number
  /** polling interval when `fs.watch` cannot watch recursively */
  readonly pollMs?: number | undefined
}

export interface WatchHooks {
  readonly onInitial: (session: Session) => Effect.Effect<void>
  readonly onRescan: (
    info: { readonly changed: ReadonlyArray<string>; readonly affected: ReadonlyArray<string> }
  ) => void
  readonly onProblems: (problems: ReadonlyArray<Problem>) => void
  readonly onError: (message: string) => void
}

/** What each reconcile waits on: its dependencies without a verdict yet (missing ones included). */
export const waitsOn = (orchestrator: Orchestrator) => (key: string): ReadonlyArray<string> => {
  const entries = orchestrator.entries()
  const entry = entries.find((e) => e.spec.key === key)
  if (entry === undefined) return []
  const settled = new Set(entries.filter((e) => e.phase === "settled").map((e) => e.spec.key))
  return entry.spec.dependsOn.filter((dep) => !settled.has(objectKey(entry.spec.cluster, dep)))
}

/** Prints the service's snapshot on SIGUSR2 while the scope is open: the operator's view of a hung run. */
export const snapshotOnSignal = (
  print: (tasks: ReadonlyArray<TaskInfo>) => void
): Effect.Effect<void, never, TaskService | Scope.Scope> =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const context = yield* Effect.context<never>()
    const handler = () => {
      Effect.runForkWith(context)(Effect.map(tasks.snapshot, print))
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("SIGUSR2", handler)),
      () => Effect.sync(() => process.off("SIGUSR2", handler))
    )
  })

const fingerprint = (spec: ObjectSpec): string =>
  JSON.stringify([spec.file, spec.dependsOn, spec.suspended, spec.failRender, spec.value, spec.build ?? null])

const problemKey = (p: Problem): string => `${p.kind}|${p.file}|${p.line}|${p.message}`

/** Calls `signal` on every change under `dir`; closes the watcher with the scope. */
const watchDir = (dir: string, pollMs: number, signal: () => void): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      try {
        const watcher = fs.watch(dir, { recursive: true }, signal)
        watcher.on("error", signal)
        return { how: "fs.watch (recursive)", close: () => watcher.close() }
      } catch {
        const timer = setInterval(signal, pollMs)
        return { how: `polling every ${pollMs} ms`, close: () => clearInterval(timer) }
      }
    }),
    (handle) => Effect.sync(handle.close)
  ).pipe(Effect.map((handle) => handle.how))

/**
 * Runs the initial reconcile, then re-reconciles on changes until
 * interrupted. Never returns; `options.onSession` gives the caller the
 * session to summarize when it stops; `state` the latest problems.
 */
export const watch = (
  options: WatchOptions,
  hooks: WatchHooks,
  state: { problems: ReadonlyArray<Problem> }
): Effect.Effect<never, DirUnreadable | OutDirUnwritable, TaskService | Scope.Scope> =>
  Effect.gen(function*() {
    // watch first: an edit made while the initial run is busy is picked up right after it
    const events = yield* Queue.unbounded<void>()
    yield* watchDir(options.dir, options.pollMs ?? 500, () => {
      Queue.offerUnsafe(events, undefined)
    })
    const { session } = yield* startSession(options)
    const orchestrator = session.orchestrator
    state.problems = session.problems
    yield* hooks.onInitial(session)

    for (;;) {
      yield* Queue.take(events)
      yield* Effect.sleep(options.debounceMs)
      yield* Queue.clear(events)
      const loaded = yield* Effect.result(loadClusters(session.dir, session.outDir))
      if (loaded._tag === "Failure") {
        hooks.onError(`cannot read ${loaded.failure.dir}: ${loaded.failure.message}`)
        continue
      }
      const before = new Map(orchestrator.objects().map((spec) => [spec.key, fingerprint(spec)]))
      const after = loaded.success.build.objects
      const changed = after.filter((spec) => before.get(spec.key) !== fingerprint(spec)).map((spec) => spec.key)
      const removed = [...before.keys()].filter((key) => !after.some((spec) => spec.key === key))
      const known = new Set(state.problems.map(problemKey))
      const fresh = loaded.success.problems.filter((p) => !known.has(problemKey(p)))
      state.problems = loaded.success.problems
      if (fresh.length > 0) hooks.onProblems(fresh)
      if (changed.length === 0 && removed.length === 0) continue
      orchestrator.setObjects(after)
      const graph = new Map(after.map((s) => [s.key, s.dependsOn.map((dep) => objectKey(s.cluster, dep))]))
      const affected = [...withDependents([...changed, ...removed], graph)]
        .filter((key) => !removed.includes(key))
        .toSorted()
      hooks.onRescan({ changed: [...changed, ...removed].toSorted(), affected })
      // not awaited: a later burst may overlap this round, and the coalescer folds the overlap
      yield* Effect.forkChild(orchestrator.round(affected))
    }
  })
