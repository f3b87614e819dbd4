/**
 * The demo's command line: `pnpm demo [dir] [options]` (see `args.ts`).
 * Exit status 0 when every object is ready, 1 otherwise, 2 on bad usage or an
 * unreadable dir.
 */
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { parseCli, usage } from "./args.ts"
import type { DecidedBy, Problem, Summary } from "./model.ts"
import { type Progress, reconcile, type Session, taskLayer } from "./reconcile.ts"
import { printSnapshot, progressLine, summaryJson, summaryText, verdictLine } from "./report.ts"
import { watch } from "./watch.ts"

const out = (text: string) => Effect.sync(() => void process.stdout.write(text))
const err = (text: string) => Effect.sync(() => void process.stderr.write(text))

/** Completes on the first SIGINT (and stops listening). */
const sigint = Effect.callback<void>((resume) => {
  const handler = () => resume(Effect.void)
  process.once("SIGINT", handler)
  return Effect.sync(() => void process.off("SIGINT", handler))
})

/** Redraws at most every 25 ms when the counts change, and every 100 ms anyway (for the clock). */
const throttled = (draw: (p: Progress) => void) => {
  let last: { readonly key: string; readonly at: number } | undefined
  return (p: Progress): void => {
    const key = `${p.registered}/${p.running}/${p.parked}/${p.waiting}/${p.done}/${p.failed}`
    const since = last === undefined ? Infinity : p.elapsedMs - last.at
    if (since >= 100 || (key !== last?.key && since >= 25)) {
      last = { key, at: p.elapsedMs }
      draw(p)
    }
  }
}

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
  const dir = options.dir ?? fileURLToPath(new URL("../fixtures/", import.meta.url))
  const live = process.stdout.isTTY === true && !options.json
  const color = live
  const clearLine = live ? "\r\x1b[K" : ""
  const printSummary = (summary: Summary, pretty: boolean): string =>
    options.json ? summaryJson(summary, pretty) + "\n" : `${clearLine}${summaryText(summary, { color })}\n`
  const common = {
    dir,
    outDir: options.outDir,
    workers: options.workers,
    latencyMs: options.latencyMs,
    depTimeoutMs: options.depTimeoutMs,
    onProgress: live ? throttled((p) => void process.stdout.write(`\r${progressLine(p)}\x1b[K`)) : undefined
  }

  if (!options.watch) {
    const summary = yield* reconcile(common)
    yield* out(printSummary(summary, true))
    return summary.ok ? 0 : 1
  }

  // --watch: the initial summary, then one line per verdict of a re-render, until SIGINT
  let current: { session: Session; state: () => { decidedBy: DecidedBy; problems: ReadonlyArray<Problem> } } | undefined
  const watching = watch(
    {
      ...common,
      debounceMs: options.debounceMs,
      onVerdict: (event) => {
        if (event.round > 0) process.stdout.write(verdictLine(event, { json: options.json, color }) + "\n")
      }
    },
    {
      onInitial: (summary) => {
        process.stdout.write(printSummary(summary, false))
        process.stderr.write(`watching ${summary.dir} for changes (Ctrl-C to stop)\n`)
      },
      onRescan: ({ affected, changed }) => {
        if (!options.json) process.stdout.write(`changed: ${changed.join(", ")}; re-rendering ${affected.length}\n`)
      },
      onProblems: (problems) => {
        for (const p of problems) {
          process.stderr.write(`${p.file}${p.line === null ? "" : `:${p.line}`}: ${p.kind}: ${p.message}\n`)
        }
      },
      onError: (message) => void process.stderr.write(`demo: ${message}\n`),
      onSnapshot: (tasks, waitsOn) => void process.stderr.write(printSnapshot(tasks, waitsOn, Date.now()))
    },
    (session, state) => {
      current = { session, state }
    }
  ).pipe(Effect.scoped, Effect.provide(taskLayer(options.workers)))

  // a failure of the initial load (unreadable dir) ends the race too, with exit status 2
  yield* Effect.raceFirst(watching, sigint)
  if (current === undefined) return 1
  const state = current.state()
  const final = yield* current.session.summarize(state.decidedBy, state.problems)
  const t = final.totals
  yield* err(
    `${clearLine}stopped: ${t.ready} ready, ${t.failed} failed, ${t["missing-dependency"]} missing-dependency, `
      + `${t.cycle} cycle\n`
  )
  return final.ok ? 0 : 1
}).pipe(
  Effect.catchTags({
    DirUnreadable: (e) => Effect.as(err(`demo: cannot read ${e.dir}: ${e.message}\n`), 2),
    OutDirUnwritable: (e) => Effect.as(err(`demo: cannot create output dir ${e.dir}: ${e.message}\n`), 2)
  })
)

process.exitCode = await Effect.runPromise(program)
