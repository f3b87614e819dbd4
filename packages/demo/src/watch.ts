/**
 * Watch mode: after the initial run, watch the directory (`fs.watch`
 * recursive, or polling where that is not available), and on every burst of
 * edits re-read the tree and reconcile the changed objects and their
 * dependents again, through the same coalescer. A burst is collapsed twice:
 * the file events of one burst within `debounceMs` lead to one re-read, and
 * a re-run submitted while the object's previous run still executes is folded
 * by the coalescer into one pending re-run.
 */
import { Effect, Queue, type Scope } from "effect"
import { type TaskInfo, TaskService } from "effect-task"
import * as fs from "node:fs"
import * as path from "node:path"
import { withDependents } from "./graph.ts"
import { loadTree } from "./load.ts"
import type { DecidedBy, DirUnreadable, ObjectSpec, OutDirUnwritable, Problem, Summary } from "./model.ts"
import { type Orchestrator, type ReconcileOptions, type Session, startSession } from "./reconcile.ts"

export interface WatchOptions extends ReconcileOptions {
  readonly debounceMs: number
  /** polling interval when `fs.watch` cannot watch recursively */
  readonly pollMs?: number | undefined
}

export interface WatchHooks {
  readonly onInitial: (summary: Summary) => void
  readonly onRescan: (
    info: { readonly changed: ReadonlyArray<string>; readonly affected: ReadonlyArray<string> }
  ) => void
  readonly onProblems: (problems: ReadonlyArray<Problem>) => void
  readonly onError: (message: string) => void
  /** SIGUSR2: every registered task, with what each reconcile waits on */
  readonly onSnapshot?:
    | ((tasks: ReadonlyArray<TaskInfo>, waitsOn: (id: string) => ReadonlyArray<string>) => void)
    | undefined
}

/**
 * Prints the service's snapshot on SIGUSR2 while the scope is open: the
 * operator's view of a hung run (which objects wait, and on what).
 */
const snapshotOnSignal = (
  waitsOn: (id: string) => ReadonlyArray<string>,
  print: (tasks: ReadonlyArray<TaskInfo>, waitsOn: (id: string) => ReadonlyArray<string>) => void
): Effect.Effect<void, never, TaskService | Scope.Scope> =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const context = yield* Effect.context<never>()
    const handler = () => {
      Effect.runForkWith(context)(Effect.map(tasks.snapshot, (infos) => print(infos, waitsOn)))
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("SIGUSR2", handler)),
      () => Effect.sync(() => process.off("SIGUSR2", handler))
    )
  })

const fingerprint = (spec: ObjectSpec): string => `${spec.file}#${spec.docIndex}#${JSON.stringify(spec.value)}`

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
 * interrupted. Never returns; the caller races it with SIGINT and reads the
 * final state through what `onSession` gave it.
 */
export const watch = (
  options: WatchOptions,
  hooks: WatchHooks,
  onSession: (session: Session, state: () => { decidedBy: DecidedBy; problems: ReadonlyArray<Problem> }) => void
): Effect.Effect<never, DirUnreadable | OutDirUnwritable, TaskService | Scope.Scope> =>
  Effect.gen(function*() {
    // watch first: an edit made while the initial run is busy is picked up right after it
    const dir = path.resolve(options.dir)
    const events = yield* Queue.unbounded<void>()
    yield* watchDir(dir, options.pollMs ?? 500, () => {
      Queue.offerUnsafe(events, undefined)
    })
    // SIGUSR2 prints the snapshot, from the initial round on
    let current: Orchestrator | undefined
    if (hooks.onSnapshot !== undefined) {
      // an object waits on its dependencies that have no verdict yet (missing ones included)
      const waitsOn = (id: string): ReadonlyArray<string> => {
        const spec = current?.objects().find((o) => o.id === id)
        if (current === undefined || spec === undefined) return []
        const settled = new Set(current.results().filter((r) => r.verdictMs !== null).map((r) => r.id))
        return spec.dependsOn.filter((dep) => !settled.has(dep))
      }
      yield* snapshotOnSignal(waitsOn, hooks.onSnapshot)
    }
    const session = yield* startSession({
      ...options,
      onOrchestrator: (orchestrator) => {
        current = orchestrator
      }
    })
    const orchestrator = session.orchestrator
    let decidedBy = session.summary.decidedBy
    let problems = session.loaded.problems
    onSession(session, () => ({ decidedBy, problems }))
    hooks.onInitial(session.summary)

    for (;;) {
      yield* Queue.take(events)
      yield* Effect.sleep(options.debounceMs)
      yield* Queue.clear(events)
      const loaded = yield* Effect.result(loadTree(dir))
      if (loaded._tag === "Failure") {
        hooks.onError(`cannot read ${loaded.failure.dir}: ${loaded.failure.message}`)
        continue
      }
      const before = new Map(orchestrator.objects().map((spec) => [spec.id, fingerprint(spec)]))
      const after = loaded.success.objects
      const changed = after.filter((spec) => before.get(spec.id) !== fingerprint(spec)).map((spec) => spec.id)
      const removed = [...before.keys()].filter((id) => !after.some((spec) => spec.id === id))
      const known = new Set(problems.map(problemKey))
      const fresh = loaded.success.problems.filter((p) => !known.has(problemKey(p)))
      problems = loaded.success.problems
      if (fresh.length > 0) hooks.onProblems(fresh)
      if (changed.length === 0 && removed.length === 0) continue
      orchestrator.setObjects(after)
      const affected = [...withDependents([...changed, ...removed], new Map(after.map((s) => [s.id, s.dependsOn])))]
        .filter((id) => !removed.includes(id))
        .toSorted()
      hooks.onRescan({ changed: [...changed, ...removed].toSorted(), affected })
      // not awaited: a later burst may overlap this round, and the coalescer folds the overlap
      yield* Effect.forkChild(Effect.map(orchestrator.round(affected), (decided) => {
        decidedBy = decided
      }))
    }
  })
