/**
 * The cold cell: the first run of a fresh service in a fresh process.
 *
 * Each sample is a new Node process (the same binary as the parent,
 * `process.execPath`) that imports the implementations, then runs one batch
 * of N bodies with one implementation, checks it like the matrix does, and
 * prints one JSON line. No warm-up, no GC before the run: what a CLI or a
 * short job meets. The module loading is timed apart (`importMs`) and is not
 * part of the run's time; it is the same for every implementation (every
 * child imports all of them).
 *
 * Rounds rotate the order of the implementations; the ratio is taken from the
 * medians of the rounds, as in the matrix.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { BodyKind } from "./bodies.ts"
import type { ImplName } from "./impls.ts"
import { boundLabel, quantile, summarize } from "./matrix.ts"

/** The implementations of the cold cell. */
export const coldImpls: ReadonlyArray<ImplName> = ["effect-task", "p-limit", "fastq", "p-queue", "Effect.forEach"]

export interface ColdConfig {
  readonly n: number
  readonly bounds: ReadonlyArray<number>
  readonly kinds: ReadonlyArray<BodyKind>
  readonly rounds: number
  readonly log: (line: string) => void
}

export interface ColdImplResult {
  readonly timesMs: Array<number>
  readonly importMs: Array<number>
  medianMs: number
  throughput: number
  /** throughput / throughput of effect-task in the same cell */
  ratio: number
}

export interface ColdCell {
  readonly n: number
  readonly bound: number
  readonly kind: BodyKind
  readonly results: Partial<Record<ImplName, ColdImplResult>>
}

export interface ColdResult {
  readonly n: number
  readonly rounds: number
  /** the Node version every child reported (the parent's binary) */
  readonly node: string
  readonly cells: ReadonlyArray<ColdCell>
  readonly failures: ReadonlyArray<{ readonly cell: string; readonly impl: ImplName; readonly message: string }>
}

/** What a child prints. */
interface ChildReport {
  readonly impl: string
  readonly node: string
  readonly importMs: number
  readonly ms: number
  readonly ok: boolean
  readonly message: string
}

/** Promise libraries have no separate promise-hop body (their hop already is a promise). */
const implsFor = (kind: BodyKind): ReadonlyArray<ImplName> =>
  kind === "promise-hop" ? coldImpls.filter((name) => name === "effect-task" || name === "Effect.forEach") : coldImpls

const runChild = (impl: ImplName, n: number, bound: number, kind: BodyKind): ChildReport => {
  const script = fileURLToPath(new URL("./cold-child.js", import.meta.url))
  const out = execFileSync(
    process.execPath,
    [script, `--impl=${impl}`, `--n=${n}`, `--bound=${boundLabel(bound)}`, `--kind=${kind}`],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 }
  )
  const line = out.trim().split("\n").at(-1) ?? ""
  return JSON.parse(line) as ChildReport
}

export const measureCold = (config: ColdConfig): ColdResult => {
  const cells: Array<ColdCell> = []
  const failures: Array<{ cell: string; impl: ImplName; message: string }> = []
  let node = process.version
  let rotation = 0
  for (const bound of config.bounds) {
    for (const kind of config.kinds) {
      const names = implsFor(kind)
      const cell: ColdCell = { n: config.n, bound, kind, results: {} }
      for (const name of names) {
        cell.results[name] = { timesMs: [], importMs: [], medianMs: NaN, throughput: NaN, ratio: NaN }
      }
      const label = `cold N=${config.n} bound=${boundLabel(bound)} body=${kind}`
      for (let round = 0; round < config.rounds; round++) {
        const order = names.map((_, i) => names[(i + rotation) % names.length]!)
        rotation++
        for (const name of order) {
          let report: ChildReport
          try {
            report = runChild(name, config.n, bound, kind)
          } catch (error) {
            const message = `child process failed: ${error instanceof Error ? error.message.split("\n")[0] : error}`
            failures.push({ cell: label, impl: name, message })
            config.log(`  CHECK FAILED ${name} ${label}: ${message}`)
            continue
          }
          if (report.node !== process.version) {
            failures.push({ cell: label, impl: name, message: `child ran node ${report.node}, not ${process.version}` })
          }
          node = report.node
          if (!report.ok) {
            failures.push({ cell: label, impl: name, message: report.message })
            config.log(`  CHECK FAILED ${name} ${label}: ${report.message}`)
          }
          cell.results[name]!.timesMs.push(report.ms)
          cell.results[name]!.importMs.push(report.importMs)
        }
      }
      summarize(cell.results, config.n)
      cells.push(cell)
      config.log(
        `${label}: ` +
          Object.entries(cell.results)
            .map(([name, r]) => `${name} ${(r.throughput / 1e3).toFixed(0)}k/s (${r.medianMs.toFixed(1)} ms)`)
            .join(", ")
      )
    }
  }
  return { n: config.n, rounds: config.rounds, node, cells, failures }
}

const rate = (x: number): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(0)}k` : x.toFixed(0)

/** The cold cell's table: median throughput of the first run, ratio to effect-task, and the run's time. */
export const coldTable = (cold: ColdResult): string => {
  const lines = [
    `| bound | body | ${coldImpls.join(" | ")} |`,
    `| --: | --- | ${coldImpls.map(() => "--:").join(" | ")} |`
  ]
  for (const cell of cold.cells) {
    const row = coldImpls.map((name) => {
      const r = cell.results[name]
      if (r === undefined || Number.isNaN(r.throughput)) return "—"
      const ms = `${r.medianMs.toFixed(1)} ms`
      return name === "effect-task"
        ? `**${rate(r.throughput)}/s** (${ms})`
        : `${rate(r.throughput)}/s (${r.ratio.toFixed(2)}x, ${ms})`
    })
    lines.push(`| ${boundLabel(cell.bound)} | ${cell.kind} | ${row.join(" | ")} |`)
  }
  return lines.join("\n")
}

export const coldText = (cold: ColdResult | undefined): string => {
  if (cold === undefined) return ""
  const imports = cold.cells.flatMap((c) => Object.values(c.results).flatMap((r) => r.importMs))
  const importNote = imports.length === 0 ? "not measured" : `median ${quantile(imports, 0.5).toFixed(0)} ms`
  return [
    `Cold start: one batch of N=${
      cold.n.toLocaleString("en-US")
    } in a fresh process per implementation, body and bound (node ${cold.node}), median of ${cold.rounds} processes; tasks/s of that first run, in brackets the ratio to effect-task and the run's time:`,
    "",
    coldTable(cold),
    "",
    `Module loading (every child imports all implementations; not part of the run's time): ${importNote}.`,
    ""
  ].join("\n")
}
