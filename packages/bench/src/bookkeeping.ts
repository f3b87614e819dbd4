/* oxlint-disable no-await-in-loop -- benchmark runs must not overlap: every await in a loop is sequential on purpose */
/**
 * What the bookkeeping behind `snapshot`, the metrics and the spans costs:
 * effect-task against the same service built with the no-op accounting
 * strategy (`effect-task/internal` `layerWithoutBookkeeping`: no clock
 * readings, histograms, run counts or span checks), in one process and one
 * module instance, in alternating order, one pair of runs per round.
 */
import * as Effect from "effect/Effect"
import { type BodyKind, effectBody } from "./bodies.ts"
import { collectGarbage } from "./extras.ts"
import { packageBuild, type ServiceBuild, taskServiceRun } from "./impls.ts"
import { boundLabel, quantile } from "./matrix.ts"
import { checkProbe, resetProbe } from "./probe.ts"

export interface BookkeepingConfig {
  readonly n: number
  readonly bounds: ReadonlyArray<number>
  readonly kinds: ReadonlyArray<BodyKind>
  /** measured pairs per cell (after one warm-up pair) */
  readonly rounds: number
  readonly log: (line: string) => void
}

export interface BookkeepingCell {
  readonly n: number
  readonly bound: number
  readonly kind: BodyKind
  /** median run time, ms */
  readonly withMs: number
  readonly withoutMs: number
  /** 1 - throughput with / throughput without, from the median of the per-round time ratios */
  readonly loss: number
  /** the same from the rounds' first and third quartile of the ratio */
  readonly lossLow: number
  readonly lossHigh: number
}

export interface BookkeepingResult {
  readonly n: number
  readonly rounds: number
  readonly cells: ReadonlyArray<BookkeepingCell>
  readonly failures: ReadonlyArray<string>
}

/**
 * `effect-task/internal` is exported only under the `effect-task-internal`
 * condition, so that no user imports it by accident: `pnpm bench` runs node
 * with `--conditions=effect-task-internal`. The no-op accounting build, or
 * `undefined` when this process may not import it.
 */
export const tryWithoutBookkeeping = async (): Promise<ServiceBuild | undefined> => {
  try {
    return (await import("effect-task/internal")).layerWithoutBookkeeping
  } catch {
    return undefined
  }
}

/** The same, or an error that says how to run node. */
const loadWithoutBookkeeping = async (): Promise<ServiceBuild> => {
  const build = await tryWithoutBookkeeping()
  if (build === undefined) {
    throw new Error(
      "the bookkeeping cost needs effect-task/internal: run node with --conditions=effect-task-internal (pnpm bench does)"
    )
  }
  return build
}

/** The same program for both builds: only the layer differs. */
const run = (build: ServiceBuild, n: number, bound: number, body: Effect.Effect<void>): Promise<void> =>
  Effect.runPromise(taskServiceRun(build, n, bound, body))

/** throughput lost, from a ratio of run times (with / without) */
const lossOf = (timeRatio: number): number => 1 - 1 / timeRatio

export const measureBookkeeping = async (config: BookkeepingConfig): Promise<BookkeepingResult> => {
  const without: ServiceBuild = await loadWithoutBookkeeping()
  const cells: Array<BookkeepingCell> = []
  const failures: Array<string> = []
  // the package was warmed up (and maybe run through the whole matrix) before: warm the baseline the same way
  for (let round = 0; round < 2; round++) {
    for (const kind of ["sync", "hop", "promise-hop"] as const) {
      for (const bound of [8, Infinity]) {
        for (const build of [without, packageBuild]) await run(build, 10_000, bound, effectBody(kind))
      }
    }
  }
  const timed = async (build: ServiceBuild, bound: number, kind: BodyKind, label: string): Promise<number> => {
    collectGarbage()
    resetProbe()
    const t0 = performance.now()
    await run(build, config.n, bound, effectBody(kind))
    const ms = performance.now() - t0
    const check = checkProbe(config.n, bound)
    if (!check.ok) failures.push(`${label}: ${check.message}`)
    return ms
  }
  for (const kind of config.kinds) {
    for (const bound of config.bounds) {
      const label = `N=${config.n} bound=${boundLabel(bound)} body=${kind}`
      const withTimes: Array<number> = []
      const withoutTimes: Array<number> = []
      const ratios: Array<number> = []
      for (let round = -1; round < config.rounds; round++) {
        // alternate which build runs first, so that neither always inherits the other's heap
        const first = round % 2 === 0
        const a = await timed(first ? packageBuild : without, bound, kind, label)
        const b = await timed(first ? without : packageBuild, bound, kind, label)
        if (round < 0) continue // warm-up pair
        const withMs = first ? a : b
        const withoutMs = first ? b : a
        withTimes.push(withMs)
        withoutTimes.push(withoutMs)
        ratios.push(withMs / withoutMs)
      }
      const cell: BookkeepingCell = {
        n: config.n,
        bound,
        kind,
        withMs: quantile(withTimes, 0.5),
        withoutMs: quantile(withoutTimes, 0.5),
        loss: lossOf(quantile(ratios, 0.5)),
        lossLow: lossOf(quantile(ratios, 0.25)),
        lossHigh: lossOf(quantile(ratios, 0.75))
      }
      cells.push(cell)
      config.log(
        `bookkeeping ${label}: ${cell.withMs.toFixed(0)} ms vs ${cell.withoutMs.toFixed(0)} ms without, ` +
          `throughput loss ${percent(cell.loss)} (quartiles ${percent(cell.lossLow)} to ${percent(cell.lossHigh)})`
      )
    }
  }
  return { n: config.n, rounds: config.rounds, cells, failures }
}

export const percent = (x: number): string => `${(x * 100).toFixed(1)}%`

export const bookkeepingTable = (result: BookkeepingResult): string =>
  [
    "| bound | body | with, ms | without, ms | throughput loss | quartiles |",
    "| --: | --- | --: | --: | --: | --- |",
    ...result.cells.map((c) =>
      `| ${boundLabel(c.bound)} | ${c.kind} | ${c.withMs.toFixed(0)} | ${c.withoutMs.toFixed(0)} | ${
        percent(c.loss)
      } | ${percent(c.lossLow)} to ${percent(c.lossHigh)} |`
    )
  ].join("\n")
