/**
 * Presenting a run: the live progress line, the terminal summary (non-ready
 * objects first, grouped by cluster and verdict; ready ones as a count unless
 * `--all`; problems grouped by kind with the first few paths), the JSON
 * summary, and watch mode's one line per verdict. Pure string building; the
 * caller writes.
 */
import type { TaskInfo } from "effect-task"
import { type ObjectResult, type Status, statuses, type Summary } from "./model.ts"
import type { Progress, VerdictEvent } from "./orchestrator.ts"

const colors: Record<Status, string> = {
  ready: "\x1b[32m",
  failed: "\x1b[31m",
  "missing-dependency": "\x1b[33m",
  cycle: "\x1b[35m",
  suspended: "\x1b[36m"
}
const reset = "\x1b[0m"

const paint = (status: Status, text: string, color: boolean): string =>
  color ? `${colors[status]}${text}${reset}` : text

const ms = (value: number | null): string => value === null ? "-" : value.toFixed(1)

/** The live progress line (no newline; the caller prefixes `\r` and clears the rest of the line). */
export const progressLine = (p: Progress): string =>
  `[${ms(p.elapsedMs).padStart(8)} ms] registered ${p.registered}  running ${p.running}  rendering ${p.rendering}  `
  + `parked ${p.parked}  waiting ${p.waiting}  done ${p.done}  not ready ${p.failed}  (${p.done + p.failed}/${p.total})`

/** The warning for a dir without Flux objects (also printed on stderr with `--json`). */
export const emptyWarning = (summary: Summary): string =>
  `Warning: no Flux Kustomization or HelmRelease found under ${summary.dir}`
  + ` (${summary.skipped.documents} other document(s) read, ${summary.problems.length} problem(s)).`

/** Colours only on a terminal, and never when `NO_COLOR` is set to a non-empty value (no-color.org). */
export const useColor = (isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean =>
  isTTY && (env["NO_COLOR"] ?? "") === ""

export interface TextOptions {
  readonly color: boolean
  /** list the ready objects too */
  readonly all: boolean
  /** the run is on the bundled fixtures (their broken objects are on purpose) */
  readonly bundled: boolean
  /** how many paths to show per problem kind */
  readonly problemPaths?: number
}

/** "3 ready, 1 cycle"; objects without a verdict (an interrupted run) are shown apart from `failed`. */
const totalsText = (totals: Readonly<Record<Status, number>>, undecided = 0): string => {
  const t = { ...totals, failed: totals.failed - undecided }
  const parts = statuses.filter((s) => s === "ready" || t[s] > 0).map((s) => `${t[s]} ${s}`)
  return [...parts, ...(undecided > 0 ? [`${undecided} without a verdict`] : [])].join(", ")
}

const undecided = (objects: ReadonlyArray<ObjectResult>) => objects.filter((o) => o.verdictMs === null)

const objectLine = (o: ObjectResult): string =>
  `    ${o.id}${o.reason === null ? "" : `  ${o.reason}`}  (${o.file}:${o.line})`

/** The human-readable summary. */
export const summaryText = (summary: Summary, options: TextOptions): string => {
  const lines: Array<string> = []
  const shown = options.problemPaths ?? 3
  if (summary.objects.length === 0 && !summary.interrupted) lines.push(emptyWarning(summary))
  const clusters = summary.clusters.length > 0 ? summary.clusters.map((c) => c.cluster) : ["."]
  for (const cluster of clusters) {
    const own = summary.objects.filter((o) => o.cluster === cluster)
    if (own.length === 0) continue
    const info = summary.clusters.find((c) => c.cluster === cluster)
    const t = info?.totals ?? Object.fromEntries(statuses.map((s) => [s, 0])) as Record<Status, number>
    const open = undecided(own)
    lines.push(`Cluster ${cluster}: ${own.length} objects — ${totalsText(t, open.length)}`)
    for (const status of statuses) {
      if (status === "ready" && !options.all) continue
      const group = own.filter((o) => o.status === status && o.verdictMs !== null)
      if (group.length === 0) continue
      lines.push(`  ${paint(status, status, options.color)} (${group.length})`)
      for (const o of group) lines.push(objectLine(o))
    }
    if (open.length > 0) lines.push(`  without a verdict (${open.length}): ${open.map((o) => o.id).join(", ")}`)
    if (!options.all && t.ready > 0) {
      lines.push(`  ${paint("ready", "ready", options.color)}: ${t.ready} (--all lists them)`)
    }
  }
  if (summary.problems.length > 0) {
    lines.push("", `Input problems (${summary.problems.length}):`)
    const byKind = new Map<string, Array<(typeof summary.problems)[number]>>()
    for (const p of summary.problems) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p])
    for (const [kind, list] of byKind) {
      lines.push(`  ${kind} (${list.length})`)
      for (const p of list.slice(0, shown)) {
        lines.push(
          `    ${p.file}${p.line === null ? "" : `:${p.line}`}${p.column === null ? "" : `:${p.column}`}  ${p.message}`
        )
      }
      if (list.length > shown) lines.push(`    … and ${list.length - shown} more (--json lists them all)`)
    }
  }
  const s = summary.skipped
  const skipped = [
    s.documents > 0 ? `${s.documents} non-Flux document(s)` : "",
    s.patches > 0 ? `${s.patches} patch document(s)` : "",
    s.unreached.length > 0 ? `${s.unreached.length} Flux object(s) no cluster builds` : ""
  ].filter((x) => x.length > 0)
  lines.push(
    "",
    `${summary.objects.length} objects in ${summary.clusters.length} cluster(s)`
      + `${
        summary.mode === "fallback"
          ? " (no root Kustomization builds from this dir: every Flux object as cluster .)"
          : ""
      }`
      + `: ${totalsText(summary.totals, undecided(summary.objects).length)} — in ${summary.wallMs.toFixed(1)} ms with `
      + `${summary.workers ?? "unbounded"} workers, latency ${summary.latencyMs} ms`
  )
  if (skipped.length > 0) lines.push(`Skipped: ${skipped.join(", ")}.`)
  lines.push(
    summary.interrupted
      ? "Interrupted: the verdicts above are those decided before the signal."
      : `Waits decided by ${summary.decidedBy}${
        summary.decidedBy === "quiescence"
          ? ` (dep-timeout cap of ${summary.depTimeoutMs} ms not needed)`
          : ` (the ${summary.depTimeoutMs} ms dep-timeout cap fired)`
      }.`,
    summary.outDirKept
      ? `Rendered files: ${summary.outDir}`
      : "Rendered files were written to a temp dir, removed at exit (--out keeps them).",
    summary.ok
      ? "All objects are ready: exit status 0."
      : summary.objects.length === 0 && !summary.interrupted
      ? "Nothing to reconcile: exit status 1."
      : summary.objects.length > 0 && summary.totals.ready === summary.objects.length && !summary.interrupted
      ? "Every object is ready, but the input has problems and --strict is on: exit status 1."
      : `Not every object is ready: exit status ${summary.interrupted ? 130 : 1}.`
        + (options.bundled ? " (The bundled fixtures contain a typo, a cycle and a failing render on purpose.)" : "")
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
    : `[${ms(event.atMs).padStart(9)} ms] round ${event.round}  run #${event.run}  ${event.cluster}  ${event.id}  `
      + `${paint(event.status, event.status, options.color)}${event.reason === null ? "" : ` (${event.reason})`}`
      + `${event.durationMs === null ? "" : `  ${ms(event.durationMs)} ms`}`

/**
 * The service's snapshot as a table (printed on SIGUSR2): one line per
 * registered task with its state, for how long, and what it waits on.
 */
export const printSnapshot = (
  tasks: ReadonlyArray<TaskInfo>,
  waitsOn: (key: string) => ReadonlyArray<string>,
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
