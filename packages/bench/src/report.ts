import { type BookkeepingResult, bookkeepingTable, percent } from "./bookkeeping.ts"
import type { ColdResult } from "./cold.ts"
import type { BusySubmitsResult, CoalescerResult, LatencyResult, MemoryResult } from "./extras.ts"
import type { ImplName } from "./impls.ts"
import { boundLabel, type Cell, type Failure, type WorstCell } from "./matrix.ts"
import type { TargetProfile } from "./profiles.ts"
import { yieldCosts, type YieldsResult, yieldsText } from "./yields.ts"

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly node: string
  readonly platform: string
}

export interface Results {
  readonly date: string
  readonly mode: "quick" | "full"
  readonly command: string
  readonly machine: Machine
  /** git commit measured (`+dirty`: packages/task/src had uncommitted changes) */
  readonly revision: string
  readonly rounds: number
  /** rounds at N < 10k (absent in results written before it existed) */
  readonly smallRounds?: number | undefined
  readonly cells: ReadonlyArray<Cell>
  /** effect-task against the same service with the no-op accounting strategy (absent in results written before it existed) */
  readonly bookkeeping?: BookkeepingResult | undefined
  readonly memory: MemoryResult | undefined
  readonly latency: LatencyResult | undefined
  readonly yields: YieldsResult | undefined
  readonly coalescer: CoalescerResult | undefined
  /** submits to busy keys (absent in results written before it existed) */
  readonly busySubmits?: BusySubmitsResult | undefined
  /** the cold cell: a fresh process per sample (absent in results written before it existed) */
  readonly cold?: ColdResult | undefined
  readonly failures: ReadonlyArray<Failure>
  /** profiles of the missed targets (full runs; `profiles.ts`) */
  profiles?: ReadonlyArray<TargetProfile> | undefined
  targets: ReadonlyArray<Target>
}

/** The results as `results/*.json` holds them: `Infinity` as "unbounded", `NaN` as `null`. */
export const stringifyResults = (results: Results): string =>
  JSON.stringify(results, (_, v) => (v === Infinity ? "unbounded" : Number.isNaN(v) ? null : v), 2) + "\n"

/** Reads what `stringifyResults` wrote. */
export const parseResults = (text: string): Results =>
  JSON.parse(text, (_, v: unknown) => (v === "unbounded" ? Infinity : v === null ? NaN : v)) as Results

export interface Target {
  readonly name: string
  readonly goal: string
  readonly measured: string
  /** the matrix cell furthest from the goal (throughput and flat-cost targets), profiled when the target is missed */
  readonly worst?: WorstCell | undefined
  /** the cold cell furthest from the goal, when a cold cell misses */
  readonly worstCold?: WorstCell | undefined
  /** `undefined`: not measured in this run */
  readonly met: boolean | undefined
}

const columns: ReadonlyArray<ImplName> = [
  "effect-task",
  "p-limit",
  "p-queue",
  "fastq",
  "Effect.forEach",
  "promise-pool",
  "naive-port"
]

const rate = (x: number): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(0)}k` : x.toFixed(0)

const ratio = (x: number): string => `${x.toFixed(2)}x`

export const table = (cells: ReadonlyArray<Cell>): string => {
  const lines = [
    `| N | bound | body | ${columns.join(" | ")} |`,
    `| --: | --: | --- | ${columns.map(() => "--:").join(" | ")} |`
  ]
  for (const cell of cells) {
    const row = columns.map((name) => {
      const r = cell.results[name]
      if (r === undefined) return "—"
      if (r.skipped !== undefined) return "skipped"
      if (Number.isNaN(r.throughput)) return "—"
      return name === "effect-task" ? `**${rate(r.throughput)}/s**` : `${rate(r.throughput)}/s (${ratio(r.ratio)})`
    })
    lines.push(`| ${cell.n.toLocaleString("en-US")} | ${boundLabel(cell.bound)} | ${cell.kind} | ${row.join(" | ")} |`)
  }
  return lines.join("\n")
}

export const skipNotes = (cells: ReadonlyArray<Cell>): Array<string> => {
  const notes = new Set<string>()
  for (const cell of cells) {
    for (const [name, r] of Object.entries(cell.results)) {
      if (r.skipped !== undefined) {
        notes.add(`${name}, bound ${boundLabel(cell.bound)}, body ${cell.kind}: ${r.skipped}`)
      }
    }
  }
  return [...notes]
}

/** The bookkeeping target of issue #19 (the bookkeeping section's own check allows more). */
const bookkeepingGoal = 0.05

/** One cell's effect-task / other ratio: `undefined` when either was not measured. */
const cellRatio = (
  results: Partial<Record<ImplName, { throughput: number; skipped?: string | undefined }>>,
  name: ImplName
): number | undefined => {
  const mine = results["effect-task"]
  const other = results[name]
  if (mine === undefined || other === undefined || other.skipped !== undefined) return undefined
  if (Number.isNaN(mine.throughput) || Number.isNaN(other.throughput)) return undefined
  return mine.throughput / other.throughput
}

const cellOf = (cell: Cell): WorstCell => ({ n: cell.n, bound: cell.bound, kind: cell.kind })

const shortN = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : `${n}`)

/** The six misses furthest from their goal, and how many more there are. */
const worstMisses = (misses: ReadonlyArray<{ readonly text: string; readonly score: number }>): string => {
  const sorted = misses.toSorted((a, b) => a.score - b.score)
  const shown = sorted.slice(0, 6).map((m) => m.text).join(", ")
  return sorted.length > 6 ? `${shown}, and ${sorted.length - 6} more` : shown
}

/**
 * A speed target over every matrix cell with N >= 1,000 of the given bodies
 * (every bound), plus the cold cells: `goalOf(kind)` is the least
 * effect-task / `name` ratio. Reports the worst cells and how many miss.
 */
const speedTarget = (
  results: Results,
  name: ImplName,
  kinds: ReadonlyArray<string>,
  goalOf: (kind: string) => number,
  goalText: string
): Target => {
  const misses: Array<{ readonly text: string; readonly score: number }> = []
  let measured = 0
  let worst: { label: string; r: number; goal: number; cell: Cell } | undefined
  for (const cell of results.cells) {
    if (cell.n < 1_000 || !kinds.includes(cell.kind)) continue
    const r = cellRatio(cell.results, name)
    if (r === undefined) continue
    measured++
    const goal = goalOf(cell.kind)
    const label = `${shortN(cell.n)}/${boundLabel(cell.bound)}/${cell.kind}`
    if (r < goal) misses.push({ text: `${label} ${ratio(r)}`, score: r / goal })
    if (worst === undefined || r / goal < worst.r / worst.goal) worst = { label, r, goal, cell }
  }
  const coldParts: Array<string> = []
  let coldMet = true
  let worstCold: { score: number; cell: WorstCell } | undefined
  for (const cell of results.cold?.cells ?? []) {
    if (!kinds.includes(cell.kind)) continue
    const r = cellRatio(cell.results, name)
    if (r === undefined) continue
    measured++
    const score = r / goalOf(cell.kind)
    if (score < 1) coldMet = false
    if (score < 1 && (worstCold === undefined || score < worstCold.score)) {
      worstCold = { score, cell: { n: results.cold!.n, bound: cell.bound, kind: cell.kind } }
    }
    coldParts.push(`${boundLabel(cell.bound)}/${cell.kind} ${ratio(r)}`)
  }
  const matrixText = worst === undefined
    ? "matrix: not measured"
    : `matrix: ${misses.length} of ${measured - coldParts.length} cells miss, worst ${worst.label} ${ratio(worst.r)}${
      misses.length > 0 ? ` (worst misses: ${worstMisses(misses)})` : ""
    }`
  return {
    name: `throughput vs ${name}`,
    goal: `effect-task ${goalText} ${name}, every cell with N >= 1,000 (bounds 8, 64, unbounded) and the cold cell`,
    measured: `${matrixText}; cold: ${coldParts.length > 0 ? coldParts.join(", ") : "not measured"}`,
    worst: worst === undefined || misses.length === 0 ? undefined : cellOf(worst.cell),
    worstCold: worstCold?.cell,
    met: measured === 0 ? undefined : misses.length === 0 && coldMet
  }
}

export const evaluateTargets = (results: Results): Array<Target> => {
  const targets: Array<Target> = []
  const cells = results.cells
  targets.push(speedTarget(results, "p-limit", ["sync", "hop"], () => 1.5, ">= 1.5x"))
  targets.push(speedTarget(results, "fastq", ["sync", "hop"], () => 1, ">= 1x"))
  targets.push(
    speedTarget(
      results,
      "Effect.forEach",
      ["sync", "hop", "promise-hop"],
      (kind) => (kind === "sync" ? 0.5 : 0.8),
      ">= 0.8x (hop, promise-hop) and >= 0.5x (sync)"
    )
  )

  {
    // per-task time of every N against the largest N of the same bound and body (the 1M cell in a full run)
    const parts: Array<string> = []
    let met = true
    let any = false
    let worst: { r: number; cell: Cell } | undefined
    const largest = Math.max(...cells.map((c) => c.n))
    for (const big of cells.filter((c) => c.n === largest && c.kind !== "timer")) {
      const bigTask = big.results["effect-task"]
      if (bigTask === undefined || Number.isNaN(bigTask.medianMs)) continue
      const perTaskBig = bigTask.medianMs / big.n
      const ratios: Array<string> = []
      for (const small of cells.filter((c) => c.n < largest && c.bound === big.bound && c.kind === big.kind)) {
        const mine = small.results["effect-task"]
        if (mine === undefined || Number.isNaN(mine.medianMs)) continue
        any = true
        const r = (mine.medianMs / small.n) / perTaskBig
        if (r > 1.25) met = false
        if (r > 1.25 && (worst === undefined || r > worst.r)) worst = { r, cell: small }
        ratios.push(`${shortN(small.n)} ${ratio(r)}`)
      }
      parts.push(`${boundLabel(big.bound)}/${big.kind}: ${ratios.join(", ")}`)
    }
    targets.push({
      name: "cost per task flat in N",
      goal: "effect-task time per task at every N from 1,000 up <= 1.25x that of the N=1M cell, every bound and body",
      measured: !any
        ? "not measured"
        : `per-task time / that at N=${shortN(largest)}: ${parts.join("; ")}${
          largest < 1_000_000 ? " (no 1M cell in this run: against the largest N)" : ""
        }`,
      worst: worst === undefined ? undefined : cellOf(worst.cell),
      met: any && largest >= 1_000_000 ? met : undefined
    })
  }

  const yields = results.yields
  const cost = yields === undefined ? undefined : yieldCosts(yields)
  const yieldTarget = (name: string, limitNs: number, aboveNs: number | undefined) =>
    targets.push({
      name: `${name} round trip`,
      goal: `<= ${limitNs / 1000} µs above the same body without the yield`,
      measured: aboveNs === undefined
        ? "not measured"
        : `${(aboveNs / 1000).toFixed(2)} µs above the plain body (${
          (yields!.perYieldNs.plain / 1000).toFixed(2)
        } µs per iteration, in a task's own loop)`,
      met: aboveNs === undefined ? undefined : aboveNs <= limitNs
    })
  yieldTarget("yieldSlot", 500, cost?.slot)
  yieldTarget("yieldQuiescent", 1000, cost?.quiescent)

  const busy = results.busySubmits
  targets.push({
    name: "coalescer submit to a busy key",
    goal: "<= 100 ns per submit into a running key (5M+ submits/s)",
    measured: busy === undefined
      ? "not measured"
      : `${busy.nsPerSubmit.toFixed(0)} ns per submit (${
        (1e3 / busy.nsPerSubmit).toFixed(1)
      }M/s; the caller's loop alone: ${busy.loopNs.toFixed(0)} ns)`,
    met: busy === undefined ? undefined : busy.nsPerSubmit <= 100
  })

  const co = results.coalescer
  targets.push({
    name: "coalescer burst",
    goal: "1M submits over 1,000 keys (1 ms body, bound 8) within 1.5x the time of 1,000 single runs",
    measured: co === undefined
      ? "not measured"
      : `${co.coalescedMs.toFixed(0)} ms vs ${co.singleMs.toFixed(0)} ms single: ${
        ratio(co.coalescedMs / co.singleMs)
      } (${co.runs} runs, max ${co.maxRunsPerKey} per key)`,
    met: co === undefined ? undefined : co.coalescedMs <= 1.5 * co.singleMs
  })

  const memory = results.memory
  targets.push({
    name: "memory per parked task",
    goal: "overhead per parked task <= 0.35x the body value alone",
    measured: memory === undefined
      ? "not measured"
      : `${memory.overheadBytesPerTask["effect-task"]!.toFixed(0)} B overhead vs ${
        memory.bodyBytesPerTask.toFixed(0)
      } B body: ${ratio(memory.ratio["effect-task"]!)}`,
    met: memory === undefined ? undefined : memory.ratio["effect-task"]! <= 0.35
  })

  const latency = results.latency
  targets.push({
    name: "quiescence wake latency",
    goal: "p50 <= 2 µs",
    measured: latency === undefined
      ? "not measured"
      : `p50 ${(latency.p50Ns / 1000).toFixed(2)} µs, p99 ${(latency.p99Ns / 1000).toFixed(2)} µs`,
    met: latency === undefined ? undefined : latency.p50Ns <= 2000
  })

  const book = results.bookkeeping
  targets.push({
    name: "bookkeeping cost",
    goal: `throughput loss from snapshot times, metrics and span checks <= ${
      percent(bookkeepingGoal)
    } against the same service without them (NoAccounting), every cell`,
    measured: book === undefined
      ? "not measured"
      : `worst ${percent(Math.max(...book.cells.map((c) => c.loss)))} (${
        book.cells.map((c) => `${boundLabel(c.bound)}/${c.kind}: ${percent(c.loss)}`).join(", ")
      })`,
    met: book === undefined ? undefined : book.cells.every((c) => c.loss <= bookkeepingGoal)
  })
  return targets
}

const mark = (met: boolean | undefined): string => (met === undefined ? "not measured" : met ? "met" : "**not met**")

export const targetsTable = (targets: ReadonlyArray<Target>): string =>
  [
    "| target | goal | measured | status |",
    "| --- | --- | --- | --- |",
    ...targets.map((t) => `| ${t.name} | ${t.goal} | ${t.measured} | ${mark(t.met)} |`)
  ].join("\n")

/** The bookkeeping section: what the clock readings, metrics and span checks cost. */
export const bookkeepingText = (book: BookkeepingResult | undefined): string =>
  book === undefined ? "" : [
    `Bookkeeping cost: effect-task against the same service without the bookkeeping (NoAccounting), N=${
      book.n.toLocaleString("en-US")
    }, ${book.rounds} rounds of one run each, alternating which runs first; loss = 1 - (throughput with / throughput without), from the median of the per-round ratios:`,
    "",
    bookkeepingTable(book),
    ""
  ].join("\n")

export const extrasText = (results: Results): string => {
  const lines: Array<string> = []
  const m = results.memory
  if (m !== undefined) {
    lines.push(
      `Memory, ${m.tasks.toLocaleString("en-US")} tasks parked behind a bound of ${m.bound} (heap after gc):`,
      "",
      "| implementation | body alone, B/task | overhead, B/task | overhead / body |",
      "| --- | --: | --: | --: |"
    )
    for (const name of Object.keys(m.overheadBytesPerTask)) {
      const body = name === "p-limit" ? m.thunkBodyBytesPerTask : m.bodyBytesPerTask
      const label = name === "naive-port" && m.naiveTasks !== m.tasks
        ? `${name} (${m.naiveTasks.toLocaleString("en-US")} tasks)`
        : name
      lines.push(
        `| ${label} | ${body.toFixed(0)} | ${m.overheadBytesPerTask[name]!.toFixed(0)} | ${ratio(m.ratio[name]!)} |`
      )
    }
    lines.push("")
  }
  const l = results.latency
  if (l !== undefined) {
    lines.push(
      `Quiescence wake latency (task's last step to \`awaitQuiescence(0)\` resumed, ${l.samples} samples): p50 ${
        (l.p50Ns / 1000).toFixed(2)
      } µs, p99 ${(l.p99Ns / 1000).toFixed(2)} µs, mean ${(l.meanNs / 1000).toFixed(2)} µs.`,
      ""
    )
  }
  lines.push(yieldsText(results.yields))
  const c = results.coalescer
  if (c !== undefined) {
    lines.push(
      `Coalescer (bound ${c.bound}): ${
        c.submits.toLocaleString("en-US")
      } submits over ${c.keys} keys ran ${c.runs} bodies ` +
        `(min ${c.minRunsPerKey}, max ${c.maxRunsPerKey} per key) in ${c.coalescedMs.toFixed(0)} ms; ` +
        `${c.keys} single runs took ${c.singleMs.toFixed(0)} ms (ratio ${ratio(c.coalescedMs / c.singleMs)}).`,
      ""
    )
  }
  const busy = results.busySubmits
  if (busy !== undefined) {
    lines.push(
      `Coalescer, submits to busy keys (${busy.keys} keys whose runs are executing, bound ${busy.keys}, ${
        busy.submits.toLocaleString("en-US")
      } submits from one \`Effect.gen\` loop, median of ${busy.rounds} rounds): ${
        busy.nsPerSubmit.toFixed(0)
      } ns per submit, of which the loop's own \`yield*\` of an effect is ${
        busy.loopNs.toFixed(0)
      } ns; every key then ran exactly twice (its run and one re-run).`,
      ""
    )
  }
  return lines.join("\n")
}
