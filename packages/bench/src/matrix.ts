/* oxlint-disable no-await-in-loop -- benchmark runs must not overlap: every await in a loop is sequential on purpose */
import type { BodyKind } from "./bodies.ts"
import { collectGarbage } from "./extras.ts"
import { type Impl, type ImplName, impls } from "./impls.ts"
import { checkProbe, resetProbe } from "./probe.ts"

export interface MatrixConfig {
  readonly ns: ReadonlyArray<number>
  readonly bounds: ReadonlyArray<number>
  readonly kinds: ReadonlyArray<BodyKind>
  /** N values for the timer body */
  readonly timerNs: ReadonlyArray<number>
  readonly rounds: number
  /** rounds at N >= 1M (each run takes seconds there) */
  readonly bigRounds: number
  /** rounds at N < 10k (each run takes a millisecond or two: more rounds for a stable median) */
  readonly smallRounds: number
  /** skip a run projected to take longer than this */
  readonly budgetMs: number
  /** interrupt an Effect run after this */
  readonly deadlineMs: number
  readonly log: (line: string) => void
}

export interface ImplResult {
  readonly timesMs: Array<number>
  medianMs: number
  /** tasks per second at the median time */
  throughput: number
  /** throughput / throughput of effect-task in the same cell */
  ratio: number
  skipped?: string
}

export interface Cell {
  readonly n: number
  readonly bound: number
  readonly kind: BodyKind
  readonly results: Partial<Record<ImplName, ImplResult>>
}

/** A cell's coordinates: the one a target misses worst, for its profile. */
export type WorstCell = Pick<Cell, "n" | "bound" | "kind">

export interface Failure {
  readonly cell: string
  readonly impl: ImplName
  readonly message: string
}

/** The `q` quantile of `xs`, interpolating between neighbours (0.5: the median). */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = xs.toSorted((a, b) => a - b)
  const at = q * (s.length - 1)
  const lo = Math.floor(at)
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo)
}

const median = (xs: ReadonlyArray<number>): number => quantile(xs, 0.5)

/** What `summarize` fills in: a result's median run time, its throughput and its ratio to effect-task's. */
interface Summarized {
  readonly timesMs: ReadonlyArray<number>
  medianMs: number
  throughput: number
  ratio: number
}

/**
 * Sets every result's median time and throughput for `n` bodies (results
 * without a sample are left as they are), then its ratio to effect-task's
 * throughput in the same cell.
 */
export const summarize = (results: Partial<Record<ImplName, Summarized>>, n: number): void => {
  for (const result of Object.values(results)) {
    if (result.timesMs.length === 0) continue
    result.medianMs = median(result.timesMs)
    result.throughput = n / (result.medianMs / 1000)
  }
  const base = results["effect-task"]?.throughput ?? NaN
  for (const result of Object.values(results)) result.ratio = result.throughput / base
}

export const boundLabel = (bound: number): string => (bound === Infinity ? "unbounded" : String(bound))

/** Promise libraries have no separate `promise-hop` body: their `hop` already is a resolved promise. */
const implsFor = (kind: BodyKind): ReadonlyArray<Impl> =>
  kind === "promise-hop" ? impls.filter((impl) => impl.effect) : impls

/** Runs every implementation at N=10k with each of `kinds` (the bodies the matrix measures), bound 8 and unbounded. */
export const warmUp = async (
  rounds: number,
  log: (line: string) => void,
  kinds: ReadonlyArray<BodyKind> = ["sync", "hop", "promise-hop"]
): Promise<void> => {
  const t0 = performance.now()
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds.filter((k) => k !== "timer")) {
      for (const bound of [8, Infinity]) {
        for (const impl of implsFor(kind)) {
          resetProbe()
          await impl.run(10_000, bound, kind, 60_000)
        }
      }
    }
  }
  log(`warm-up: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

export const runMatrix = async (config: MatrixConfig): Promise<{ cells: Array<Cell>; failures: Array<Failure> }> => {
  const cells: Array<Cell> = []
  const failures: Array<Failure> = []
  // last measurement per (impl, bound, kind), to project the next N
  const history = new Map<string, Array<{ n: number; ms: number }>>()
  const skippedFrom = new Map<string, string>()

  const plan: Array<{ n: number; bound: number; kind: BodyKind }> = []
  for (const n of config.ns) {
    for (const bound of config.bounds) {
      for (const kind of config.kinds) plan.push({ n, bound, kind })
    }
  }
  for (const n of config.timerNs) {
    for (const bound of config.bounds) plan.push({ n, bound, kind: "timer" })
  }

  let rotation = 0
  for (const { bound, kind, n } of plan) {
    const label = `N=${n} bound=${boundLabel(bound)} body=${kind}`
    const cell: Cell = { n, bound, kind, results: {} }
    const active: Array<Impl> = []
    for (const impl of implsFor(kind)) {
      const key = `${impl.name}|${bound}|${kind}`
      const result: ImplResult = { timesMs: [], medianMs: NaN, throughput: NaN, ratio: NaN }
      cell.results[impl.name] = result
      const earlier = skippedFrom.get(key)
      if (earlier !== undefined) {
        result.skipped = earlier
        continue
      }
      const points = history.get(key) ?? []
      const last = points.at(-1)
      // effect-task is the baseline of every ratio: never skipped
      if (last !== undefined && impl.name !== "effect-task") {
        // project with the growth exponent seen so far (at least linear)
        const prev = points.at(-2)
        const exponent = prev === undefined ? 1 : Math.max(1, Math.log(last.ms / prev.ms) / Math.log(last.n / prev.n))
        const projected = last.ms * Math.pow(n / last.n, exponent)
        if (projected > config.budgetMs) {
          const reason = `skipped: projected ${(projected / 1000).toFixed(1)} s per run at N=${n} (budget ${
            (config.budgetMs / 1000).toFixed(0)
          } s)`
          result.skipped = reason
          skippedFrom.set(key, reason)
          continue
        }
      }
      active.push(impl)
    }

    const roundsCut = new Set<ImplName>()
    const rounds = n >= 1_000_000 ? config.bigRounds : n < 10_000 ? config.smallRounds : config.rounds
    for (let round = 0; round < rounds; round++) {
      const order = active.map((_, i) => active[(i + rotation) % active.length]!)
      rotation++
      for (const impl of order) {
        const result = cell.results[impl.name]!
        if (result.skipped !== undefined || roundsCut.has(impl.name)) continue
        collectGarbage()
        resetProbe()
        const t0 = performance.now()
        const completed = await impl.run(n, bound, kind, config.deadlineMs)
        const ms = performance.now() - t0
        if (!completed) {
          const reason = `skipped: a run exceeded ${(config.deadlineMs / 1000).toFixed(0)} s at N=${n}`
          result.skipped = reason
          skippedFrom.set(`${impl.name}|${bound}|${kind}`, reason)
          config.log(`  ${impl.name}: timed out, ${reason}`)
          continue
        }
        const check = checkProbe(n, bound)
        if (!check.ok) {
          failures.push({ cell: label, impl: impl.name, message: check.message })
          config.log(`  CHECK FAILED ${impl.name} ${label}: ${check.message}`)
        }
        result.timesMs.push(ms)
        if (ms > config.budgetMs && impl.name !== "effect-task" && round + 1 < rounds) {
          // one slow sample is enough to place it; more rounds would only burn the budget
          roundsCut.add(impl.name)
        }
      }
    }

    summarize(cell.results, n)
    for (const impl of implsFor(kind)) {
      const result = cell.results[impl.name]!
      if (result.timesMs.length === 0) continue
      const key = `${impl.name}|${bound}|${kind}`
      history.set(key, [...(history.get(key) ?? []), { n, ms: result.medianMs }])
    }
    cells.push(cell)
    config.log(
      `${label}: ` +
        Object.entries(cell.results)
          .map(([name, r]) =>
            `${name} ${r.skipped !== undefined ? "skipped" : `${(r.throughput / 1e6).toFixed(2)}M/s`}`
          )
          .join(", ")
    )
  }
  return { cells, failures }
}
