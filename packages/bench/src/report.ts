import { type BookkeepingResult, bookkeepingTable, maxLoss, percent } from "./bookkeeping.ts"
import type { CoalescerResult, LatencyResult, MemoryResult } from "./extras.ts"
import type { ImplName } from "./impls.ts"
import { boundLabel, type Cell, type Failure } from "./matrix.ts"
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
  readonly cells: ReadonlyArray<Cell>
  /** effect-task against the same sources built without bookkeeping (absent in results written before it existed) */
  readonly bookkeeping?: BookkeepingResult | undefined
  readonly memory: MemoryResult | undefined
  readonly latency: LatencyResult | undefined
  readonly yields: YieldsResult | undefined
  readonly coalescer: CoalescerResult | undefined
  readonly failures: ReadonlyArray<Failure>
  targets: ReadonlyArray<Target>
}

export interface Target {
  readonly name: string
  readonly goal: string
  readonly measured: string
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

const find = (cells: ReadonlyArray<Cell>, n: number, bound: number, kind: string): Cell | undefined =>
  cells.find((c) => c.n === n && c.bound === bound && c.kind === kind)

export const evaluateTargets = (results: Results): Array<Target> => {
  const targets: Array<Target> = []
  const cells = results.cells
  const speed = (name: ImplName, goal: number, goalText: string) => {
    const parts: Array<string> = []
    let met: boolean | undefined = true
    let measuredAny = false
    for (const bound of [8, 64]) {
      for (const kind of ["sync", "hop"]) {
        const cell = find(cells, 1_000_000, bound, kind)
        const mine = cell?.results["effect-task"]
        const other = cell?.results[name]
        if (mine === undefined || other === undefined || Number.isNaN(mine.throughput)) continue
        if (other.skipped !== undefined || Number.isNaN(other.throughput)) {
          parts.push(`${bound}/${kind}: ${name} skipped`)
          continue
        }
        measuredAny = true
        const r = mine.throughput / other.throughput
        if (r < goal) met = false
        parts.push(`${bound}/${kind}: ${ratio(r)}`)
      }
    }
    targets.push({
      name: `throughput vs ${name}`,
      goal: `effect-task ${goalText} ${name} at N=1M, bound 8 and 64, sync and hop bodies`,
      measured: measuredAny ? parts.join(", ") : "not measured (N=1M not run)",
      met: measuredAny ? met : undefined
    })
  }
  speed("p-limit", 4, ">= 4x")
  speed("p-queue", 4, ">= 4x")
  speed("fastq", 2.5, ">= 2.5x")
  speed("Effect.forEach", 0.5, ">= 0.5x")

  {
    const parts: Array<string> = []
    let met: boolean | undefined = true
    let any = false
    for (const cell of cells.filter((c) => c.n === 1_000_000)) {
      const small = find(cells, 100_000, cell.bound, cell.kind)?.results["effect-task"]
      const big = cell.results["effect-task"]
      if (small === undefined || big === undefined || Number.isNaN(small.medianMs) || Number.isNaN(big.medianMs)) {
        continue
      }
      any = true
      const r = (big.medianMs / 1_000_000) / (small.medianMs / 100_000)
      if (r > 1.25) met = false
      parts.push(`${boundLabel(cell.bound)}/${cell.kind}: ${ratio(r)}`)
    }
    targets.push({
      name: "cost per task flat in N",
      goal: "effect-task time per task at N=1M <= 1.25x that at N=100k, every cell",
      measured: any ? parts.join(", ") : "not measured (N=1M not run)",
      met: any ? met : undefined
    })
  }

  const book = results.bookkeeping
  targets.push({
    name: "bookkeeping cost",
    goal: `throughput loss from snapshot times, metrics and span checks <= ${
      percent(maxLoss)
    } against the build without them, every cell`,
    measured: book === undefined
      ? "not measured"
      : `worst ${percent(Math.max(...book.cells.map((c) => c.loss)))} (${
        book.cells.map((c) => `${boundLabel(c.bound)}/${c.kind}: ${percent(c.loss)}`).join(", ")
      })`,
    met: book === undefined ? undefined : book.cells.every((c) => c.loss <= maxLoss)
  })

  const memory = results.memory
  targets.push({
    name: "memory per parked task",
    goal: "overhead per parked task <= 1.1x the body value alone",
    measured: memory === undefined
      ? "not measured"
      : `${memory.overheadBytesPerTask["effect-task"]!.toFixed(0)} B overhead vs ${
        memory.bodyBytesPerTask.toFixed(0)
      } B body: ${ratio(memory.ratio["effect-task"]!)}`,
    met: memory === undefined ? undefined : memory.ratio["effect-task"]! <= 1.1
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

  const yields = results.yields
  const cost = yields === undefined ? undefined : yieldCosts(yields)
  targets.push({
    name: "yieldQuiescent round trip",
    goal: "<= 2x a yieldSlot round trip (cost above the same body without the yield)",
    measured: cost === undefined
      ? "not measured"
      : `${(cost.quiescent / 1000).toFixed(2)} µs vs ${(cost.slot / 1000).toFixed(2)} µs: ${
        ratio(cost.quiescent / Math.max(1, cost.slot))
      }`,
    met: cost === undefined ? undefined : cost.quiescent <= 2 * Math.max(1, cost.slot)
  })

  const co = results.coalescer
  targets.push({
    name: "coalescer",
    goal: "1M submits over 1,000 keys (1 ms body): <= 2 runs per key, time <= 2x that of 1,000 single runs",
    measured: co === undefined
      ? "not measured"
      : `${co.runs} runs, max ${co.maxRunsPerKey} per key; ${co.coalescedMs.toFixed(0)} ms vs ${
        co.singleMs.toFixed(0)
      } ms single: ${ratio(co.coalescedMs / co.singleMs)}`,
    met: co === undefined ? undefined : co.maxRunsPerKey <= 2 && co.coalescedMs <= 2 * co.singleMs
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
    `Bookkeeping cost: effect-task against the same sources built without the bookkeeping, N=${
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
  return lines.join("\n")
}
