/**
 * Presenting a run: the live progress line, the summary table, the JSON
 * summary, and the one-line-per-verdict output of watch mode. Pure string
 * building; the caller writes.
 */
import type { TaskInfo } from "effect-task"
import * as path from "node:path"
import type { Problem, Status, Summary } from "./model.ts"
import type { Progress, VerdictEvent } from "./reconcile.ts"

const colors: Record<Status, string> = {
  ready: "\x1b[32m",
  failed: "\x1b[31m",
  "missing-dependency": "\x1b[33m",
  cycle: "\x1b[35m"
}
const reset = "\x1b[0m"

const paint = (status: Status, text: string, color: boolean): string =>
  color ? `${colors[status]}${text}${reset}` : text

const ms = (value: number | null): string => value === null ? "-" : value.toFixed(1)

/** The live progress line (no newline; the caller prefixes `\r` and clears the rest of the line). */
export const progressLine = (p: Progress): string =>
  `[${ms(p.elapsedMs).padStart(8)} ms] registered ${p.registered}  running ${p.running}  parked ${p.parked}  `
  + `waiting ${p.waiting}  done ${p.done}  failed ${p.failed}  (${p.done + p.failed}/${p.total})`

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, widths?: Array<number>) => {
  const w = widths ?? header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]!))).join("  ")
  return [line(header), ...rows.map(line)]
}

const location = (problem: Problem, base: string): string =>
  `${path.relative(base, problem.file) || problem.file}${problem.line === null ? "" : `:${problem.line}`}${
    problem.column === null ? "" : `:${problem.column}`
  }`

/** The human-readable summary. */
export const summaryText = (summary: Summary, options: { readonly color: boolean }): string => {
  const lines: Array<string> = []
  const rows = summary.objects.map((o) => [o.id, o.kind, o.status, ms(o.verdictMs), o.reason ?? ""])
  const header = ["ID", "KIND", "STATUS", "VERDICT ms", "REASON"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const rendered = table(header, rows, widths)
  lines.push(rendered[0]!)
  summary.objects.forEach((o, i) => {
    const row = rendered[i + 1]!
    // colour the status cell only, keeping the alignment computed on plain text
    const start = widths[0]! + 2 + widths[1]! + 2
    lines.push(
      row.slice(0, start) + paint(o.status, row.slice(start, start + widths[2]!), options.color) +
        row.slice(start + widths[2]!)
    )
  })
  if (summary.problems.length > 0) {
    lines.push("", `Input problems (${summary.problems.length}):`)
    for (const p of summary.problems) lines.push(`  ${location(p, summary.dir)}  ${p.kind}: ${p.message}`)
  }
  const t = summary.totals
  lines.push(
    "",
    `${summary.objects.length} objects: ${t.ready} ready, ${t.failed} failed, ${
      t["missing-dependency"]
    } missing-dependency, `
      + `${t.cycle} cycle — in ${summary.wallMs.toFixed(1)} ms with ${summary.workers ?? "unbounded"} workers, `
      + `latency ${summary.latencyMs} ms`,
    `Waits decided by ${summary.decidedBy}${
      summary.decidedBy === "quiescence"
        ? ` (dep-timeout cap of ${summary.depTimeoutMs} ms not needed)`
        : ` (the ${summary.depTimeoutMs} ms dep-timeout cap fired)`
    }.`,
    `Rendered files: ${summary.outDir}`,
    summary.ok
      ? "All objects are ready: exit status 0."
      : "Not every object is ready" + (summary.problems.length > 0 ? " or the input has problems" : "")
        + ": exit status 1. (The bundled fixtures contain a typo, a cycle and a failing render on purpose.)"
  )
  return lines.join("\n")
}

/** The `--json` summary. */
export const summaryJson = (summary: Summary, pretty: boolean): string =>
  pretty ? JSON.stringify(summary, null, 2) : JSON.stringify(summary)

/** One line per verdict in watch mode. */
export const verdictLine = (
  event: VerdictEvent,
  options: { readonly json: boolean; readonly color: boolean }
): string =>
  options.json
    ? JSON.stringify({ event: "render", ...event })
    : `[${ms(event.atMs).padStart(9)} ms] round ${event.round}  run #${event.run}  ${event.id}  `
      + `${paint(event.status, event.status, options.color)}${event.reason === null ? "" : ` (${event.reason})`}`
      + `${event.durationMs === null ? "" : `  ${ms(event.durationMs)} ms`}`

/**
 * The service's snapshot as a table (printed on SIGUSR2 in watch mode): one
 * line per registered task with its state, for how long, and what it waits on.
 */
export const printSnapshot = (
  tasks: ReadonlyArray<TaskInfo>,
  waitsOn: (id: string) => ReadonlyArray<string>,
  now: number
): string => {
  const lines = [`snapshot: ${tasks.length} registered task(s)`]
  for (const task of tasks) {
    const key = typeof task.key === "string" ? task.key : undefined
    const waits = key !== undefined && task.state === "yielded-quiescent" ? waitsOn(key) : []
    const since = ((now - task.stateSince) / 1000).toFixed(1)
    lines.push(
      `  #${String(task.id).padEnd(5)} ${task.state.padEnd(18)} ${`${since}s`.padStart(8)}  ${task.name}`
        + (waits.length > 0 ? `  waits on ${waits.join(", ")}` : "")
    )
  }
  return lines.join("\n") + "\n"
}
