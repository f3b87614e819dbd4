/**
 * The demo's command line: `pnpm demo [dir] [options]` (see `args.ts`), run
 * on `@effect/platform-node`'s `NodeRuntime.runMain`: SIGINT and SIGTERM
 * interrupt the program, which then prints the summary of what was decided
 * and removes its temp output dir. Exit status 0 when every object is ready,
 * 1 otherwise, 2 on bad usage or an unreadable dir, 130 when interrupted
 * (watch mode: from the final state).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { outDirConflict, parseCli, usage } from "./args.ts"
import { errorMessage, OutDirUnwritable, type Problem, type Summary } from "./model.ts"
import { type Progress, type Session, startSession, taskLayer } from "./reconcile.ts"
import { emptyWarning, printSnapshot, progressLine, summaryJson, summaryText, useColor, verdictLine } from "./report.ts"
import { snapshotOnSignal, waitsOn, watch } from "./watch.ts"

/**
 * Writes `text` and waits until the stream has taken it: a write to a pipe
 * that is full is queued, and the exit at the end of the program would drop
 * it (a `--json` summary of a large tree piped to `jq` came out cut).
 */
const write = (stream: NodeJS.WriteStream, text: string) =>
  Effect.callback<void>((resume) => {
    stream.write(text, () => resume(Effect.void))
  })
const out = (text: string) => write(process.stdout, text)
const err = (text: string) => write(process.stderr, text)

const bundledDir = fileURLToPath(new URL("../fixtures/", import.meta.url))

/** The exit status of an interrupted run, set by the program before it ends (watch mode: from the final state). */
let interruptedCode = 130

/** Redraws at most every 25 ms when the counts change, and every 100 ms anyway (for the clock). */
const throttled = (draw: (p: Progress) => void) => {
  let last: { readonly key: string; readonly at: number } | undefined
  return (p: Progress): void => {
    const key = `${p.registered}/${p.running}/${p.rendering}/${p.parked}/${p.waiting}/${p.done}/${p.failed}`
    const since = last === undefined ? Infinity : p.elapsedMs - last.at
    if (since >= 100 || (key !== last?.key && since >= 25)) {
      last = { key, at: p.elapsedMs }
      draw(p)
    }
  }
}

/** A temp output dir, removed when the scope closes (however the program ends). */
const tempOutDir = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => fs.mkdtemp(path.join(os.tmpdir(), "effect-task-demo-")),
    catch: (error) => new OutDirUnwritable({ dir: os.tmpdir(), message: errorMessage(error) })
  }),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const program = Effect.gen(function*() {
  const parsed = parseCli(process.argv.slice(2))
  if (parsed._tag === "Error") {
    yield* err(`demo: ${parsed.message}\n\n${usage}\n`)
    return 2
  }
  const options = parsed.options
  if (options.help) {
    yield* out(`${usage}\n`)
    return 0
  }
  const dir = path.resolve(options.dir ?? bundledDir)
  const conflict = outDirConflict(dir, options.outDir)
  if (conflict !== undefined) {
    yield* err(`demo: ${conflict}\n`)
    return 2
  }
  const bundled = path.relative(bundledDir, dir) === ""
  const live = process.stdout.isTTY === true && !options.json
  const color = useColor(live, process.env)
  let progressShown = false
  const clearLine = () => (live && progressShown ? "\r\x1b[K" : "")
  const text = (summary: Summary) => summaryText(summary, { color, all: options.all, bundled })
  const printSummary = (summary: Summary, pretty: boolean) =>
    Effect.andThen(
      out(options.json ? summaryJson(summary, pretty) + "\n" : `${clearLine()}${text(summary)}\n`),
      options.json && summary.objects.length === 0 && !summary.interrupted
        ? err(`demo: ${emptyWarning(summary)}\n`)
        : Effect.void
    )

  return yield* Effect.gen(function*() {
    const outDir = options.outDir ?? (yield* tempOutDir)
    let session: Session | undefined
    const problems: { problems: ReadonlyArray<Problem> } = { problems: [] }
    yield* snapshotOnSignal((tasks) => {
      // on a line of its own, after the progress line
      process.stderr.write(
        `${live && progressShown ? "\n" : ""}${
          printSnapshot(tasks, session === undefined ? () => [] : waitsOn(session.orchestrator), Date.now())
        }`
      )
    })
    const common = {
      dir,
      outDir,
      outDirKept: options.outDir !== undefined,
      workers: options.workers,
      latencyMs: options.latencyMs,
      depTimeoutMs: options.depTimeoutMs,
      strict: options.strict,
      onSession: (s: Session) => {
        session = s
      },
      onProgress: live
        ? throttled((p) => {
          progressShown = true
          process.stdout.write(`\r${progressLine(p)}\x1b[K`)
        })
        : undefined
    }
    /** On SIGINT / SIGTERM: the summary of what was decided so far. */
    const onInterrupt = (watching: boolean) =>
      Effect.suspend(() => {
        if (session === undefined) return Effect.void
        return Effect.flatMap(
          session.summarize("quiescence", watching ? problems.problems : session.problems, !watching),
          (summary) => {
            if (watching) interruptedCode = summary.ok ? 0 : 1
            if (!watching) return printSummary(summary, true)
            const t = summary.totals
            return err(
              `${clearLine()}stopped: ${t.ready} ready, ${t.failed} failed, ${
                t["missing-dependency"]
              } missing-dependency, `
                + `${t.cycle} cycle, ${t.suspended} suspended\n`
            )
          }
        )
      })

    if (!options.watch) {
      const { summary } = yield* startSession(common).pipe(Effect.onInterrupt(() => onInterrupt(false)))
      yield* printSummary(summary, true)
      return summary.ok ? 0 : 1
    }
    // --watch: the initial summary, then one line per verdict of a re-render, until SIGINT / SIGTERM
    return yield* watch(
      {
        ...common,
        debounceMs: options.debounceMs,
        onVerdict: (event) => {
          if (event.round > 0) process.stdout.write(verdictLine(event, { json: options.json, color }) + "\n")
        }
      },
      {
        onInitial: (s) =>
          Effect.gen(function*() {
            yield* printSummary(yield* s.summarize("quiescence", s.problems, false), false)
            yield* err(`watching ${s.dir} for changes (Ctrl-C to stop)\n`)
          }),
        onRescan: ({ affected, changed }) => {
          if (!options.json) {
            process.stdout.write(
              `changed: ${changed.map((k) => k.replace("\t", " ")).join(", ")}; re-rendering ${affected.length}\n`
            )
          }
        },
        onProblems: (list) => {
          for (const p of list) {
            process.stderr.write(
              `${path.relative(dir, p.file)}${p.line === null ? "" : `:${p.line}`}: ${p.kind}: ${p.message}\n`
            )
          }
        },
        onError: (message) => void process.stderr.write(`demo: ${message}\n`)
      },
      problems
    ).pipe(Effect.onInterrupt(() => onInterrupt(true)))
  }).pipe(Effect.scoped, Effect.provide(taskLayer(options.workers)))
}).pipe(
  Effect.catchTags({
    DirUnreadable: (e) => Effect.as(err(`demo: dir: cannot read ${e.dir}: ${e.message}\n`), 2),
    OutDirUnwritable: (e) => Effect.as(err(`demo: --out: cannot create output dir ${e.dir}: ${e.message}\n`), 2)
  })
)

NodeRuntime.runMain(program, {
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) return onExit(exit.value as number)
    if (Cause.hasInterruptsOnly(exit.cause)) return onExit(interruptedCode)
    return onExit(1)
  }
})
