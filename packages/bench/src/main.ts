/**
 * Benchmarks of effect-task against p-limit, p-queue, fastq, `Effect.forEach`,
 * a hand-rolled promise pool and a naive Effect port. Run with `pnpm bench`
 * (full, several minutes) or `pnpm bench --quick` (under a minute).
 */
/* oxlint-disable no-await-in-loop -- benchmark runs must not overlap: every await in a loop is sequential on purpose */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { BodyKind } from "./bodies.ts"
import { type BookkeepingConfig, measureBookkeeping } from "./bookkeeping.ts"
import { type ColdConfig, coldText, measureCold } from "./cold.ts"
import { renderDocs } from "./docs.ts"
import {
  type CoalescerResult,
  type LatencyResult,
  measureBusySubmits,
  measureCoalescer,
  measureLatency,
  measureMemory
} from "./extras.ts"
import { exitUsage, strictFlags } from "./flags.ts"
import { faults } from "./impls.ts"
import { type MatrixConfig, runMatrix, warmUp } from "./matrix.ts"
import { profileMissedTargets } from "./profiles.ts"
import {
  bookkeepingText,
  evaluateTargets,
  extrasText,
  type Machine,
  parseResults,
  type Results,
  skipNotes,
  stringifyResults,
  table,
  targetsTable
} from "./report.ts"
import { measureYields } from "./yields.ts"

/** The flags, parsed strictly: an unknown flag or a stray argument exits 2 with one line naming it. */
const usage =
  "usage: main.js [--quick] [--inject-failure] [--render-docs] [--cold] [--bookkeeping [--kinds=sync,hop,promise-hop,timer]]"
const flags = strictFlags("bench", usage, {
  quick: { type: "boolean", default: false },
  "inject-failure": { type: "boolean", default: false },
  "render-docs": { type: "boolean", default: false },
  bookkeeping: { type: "boolean", default: false },
  cold: { type: "boolean", default: false },
  kinds: { type: "string" }
})
const quick = flags.quick
faults.dropOne = flags["inject-failure"]
const t0 = performance.now()
const log = (line: string): void => {
  process.stdout.write(`${line}\n`)
}
const progress = (line: string): void => {
  process.stdout.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
}

const here = path.dirname(fileURLToPath(import.meta.url))
const benchDir = path.resolve(here, "..")
const repoDir = path.resolve(benchDir, "..", "..")

const machine: Machine = {
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`
}

/** The commit measured, with `+dirty` when packages/task has uncommitted changes. */
const revision = (): string => {
  try {
    const git = (...a: Array<string>) => execFileSync("git", a, { cwd: repoDir, encoding: "utf8" }).trim()
    return git("rev-parse", "--short", "HEAD") +
      (git("status", "--porcelain", "packages/task/src").length > 0 ? "+dirty" : "")
  } catch {
    return "unknown"
  }
}

const config: MatrixConfig = quick
  ? {
    ns: [1_000, 10_000, 30_000],
    bounds: [8, Infinity],
    kinds: ["sync", "hop"],
    timerNs: [],
    rounds: 3,
    bigRounds: 3,
    smallRounds: 3,
    // quick mode stays under a minute: the naive port's slow cells (hop at 10k: 2.5 s a run) are projected and skipped
    budgetMs: 1_500,
    deadlineMs: 8_000,
    log: progress
  }
  : {
    ns: [1_000, 10_000, 100_000, 1_000_000],
    bounds: [8, 64, Infinity],
    kinds: ["sync", "hop", "promise-hop"],
    timerNs: [10_000],
    rounds: 5,
    bigRounds: 3,
    smallRounds: 15,
    budgetMs: 15_000,
    deadlineMs: 30_000,
    log: progress
  }

/** The cold cell: a fresh process per sample (see `cold.ts`). */
const coldConfig: ColdConfig = quick
  ? { n: 10_000, bounds: [8], kinds: ["sync", "hop"], rounds: 2, log: progress }
  : { n: 10_000, bounds: [8, 64, Infinity], kinds: ["sync", "hop", "promise-hop"], rounds: 5, log: progress }

/** `--kinds=sync,hop`: the bookkeeping cells of these bodies only (with `--bookkeeping`) */
const onlyKinds = ((): Array<BodyKind> | undefined => {
  if (flags.kinds === undefined) return undefined
  if (!flags.bookkeeping) exitUsage("bench", "--kinds applies to --bookkeeping only", usage)
  const kinds = flags.kinds.split(",")
  const known = ["sync", "hop", "promise-hop", "timer"]
  const bad = kinds.find((kind) => !known.includes(kind))
  if (bad !== undefined) exitUsage("bench", `--kinds: ${JSON.stringify(bad)} is not one of ${known.join(", ")}`, usage)
  return kinds as Array<BodyKind>
})()

const bookkeepingConfig: BookkeepingConfig = onlyKinds !== undefined
  ? { n: 200_000, bounds: [8, 64, Infinity], kinds: onlyKinds, rounds: 25, log: progress }
  : quick
  ? { n: 50_000, bounds: [8, Infinity], kinds: ["sync", "hop"], rounds: 5, log: progress }
  : { n: 200_000, bounds: [8, 64, Infinity], kinds: ["sync", "hop", "promise-hop"], rounds: 25, log: progress }

const main = async (): Promise<number> => {
  const started = performance.now()
  log(
    `effect-task benchmarks (${quick ? "quick" : "full"}): ${machine.cpu}, ${machine.cores} cores, node ${machine.node}`
  )
  log(`node: ${process.version} (${process.execPath})`)
  await warmUp(quick ? 1 : 2, progress, config.kinds)
  const { cells, failures } = await runMatrix(config)

  progress(`cold cell: one batch of ${coldConfig.n} per fresh process ...`)
  const cold = measureCold(coldConfig)
  for (const f of cold.failures) failures.push(f)

  progress("bookkeeping: effect-task against the same service without bookkeeping (NoAccounting) ...")
  const bookkeeping = await measureBookkeeping(bookkeepingConfig)
  for (const message of bookkeeping.failures) failures.push({ cell: "bookkeeping", impl: "effect-task", message })

  progress(`memory: ${quick ? "20k" : "100k"} parked tasks behind a bound of 8 ...`)
  const memory = await measureMemory(quick ? 20_000 : 100_000, 8, quick ? 2_000 : 100_000, 3)
  progress("quiescence wake latency ...")
  const latency: LatencyResult = await measureLatency(10_000, 1_000)
  progress("yield round trips and the hand-off wake latency ...")
  const yields = await measureYields(quick ? 20_000 : 100_000, 8, quick ? 3 : 7)
  for (const message of yields.failures) failures.push({ cell: "yields", impl: "effect-task", message })
  progress("coalescer ...")
  const coalescerRounds: Array<CoalescerResult> = []
  for (let i = 0; i < (quick ? 1 : 3); i++) coalescerRounds.push(await measureCoalescer(1_000_000, 1_000, 8))
  coalescerRounds.sort((a, b) => a.coalescedMs - b.coalescedMs)
  progress("coalescer: submits to busy keys ...")
  const busy = await measureBusySubmits(quick ? 200_000 : 1_000_000, 8, quick ? 3 : 5)
  for (const message of busy.failures) failures.push({ cell: "coalescer busy keys", impl: "effect-task", message })
  const coalescer = coalescerRounds[coalescerRounds.length >> 1]!
  for (const c of coalescerRounds) {
    if (c.minRunsPerKey < 1) {
      failures.push({ cell: "coalescer", impl: "effect-task", message: `a key ran ${c.minRunsPerKey} times` })
    }
  }

  const results: Results = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    command: quick ? "pnpm bench --quick" : "pnpm bench",
    machine,
    revision: revision(),
    rounds: config.rounds,
    smallRounds: config.smallRounds,
    cells,
    bookkeeping,
    memory,
    latency,
    yields,
    coalescer,
    busySubmits: busy,
    cold,
    failures,
    targets: []
  }
  results.targets = evaluateTargets(results)
  if (!quick) {
    progress("profiles of the missed targets ...")
    try {
      results.profiles = await profileMissedTargets(results, 2_000, progress)
    } catch (error) {
      // a profile is an explanation, not a measurement: losing one must not lose the run's results and page
      progress(
        `profiles of the missed targets FAILED (the page gets none): ${
          error instanceof Error ? error.stack : String(error)
        }`
      )
    }
  }

  log("")
  log(
    "Median throughput (tasks/s); in brackets the ratio to effect-task in the same cell (> 1: faster than effect-task)"
  )
  log("")
  log(table(cells))
  log("")
  for (const note of skipNotes(cells)) log(`- ${note}`)
  if (config.timerNs.length > 0) {
    log(`- timer body: N=${config.timerNs.join(", ")} only (N=100k at bound 8 needs >= 12.5 s per run)`)
  } else {
    log("- quick mode: no timer body, no promise-hop body, no bound 64, N up to 30k, memory at 20k parked tasks")
  }
  log("")
  log(coldText(cold))
  log(bookkeepingText(bookkeeping))
  log(extrasText(results))
  log(targetsTable(results.targets))
  log("")

  const resultsDir = path.join(benchDir, "results")
  fs.mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, quick ? "latest-quick.json" : "latest.json")
  fs.writeFileSync(
    file,
    stringifyResults(results)
  )
  log(`raw results: ${path.relative(repoDir, file)}`)
  if (!quick) {
    writeDocs(renderDocs(results, skipNotes(cells), config.timerNs))
  }
  log(`total: ${((performance.now() - started) / 1000).toFixed(1)} s`)

  if (failures.length > 0) {
    log("")
    log(`${failures.length} CORRECTNESS CHECK(S) FAILED:`)
    for (const f of failures) log(`- ${f.impl} ${f.cell}: ${f.message}`)
    return 1
  }
  log("all correctness checks passed")
  return 0
}

/** Writes docs/performance.md, formatted with the repository's dprint config (it aligns the tables). */
const writeDocs = (text: string): void => {
  const docs = path.join(repoDir, "docs", "performance.md")
  fs.writeFileSync(docs, text)
  try {
    execFileSync(path.join(repoDir, "node_modules", ".bin", "dprint"), ["fmt", docs], { cwd: repoDir, stdio: "ignore" })
  } catch {
    log("(dprint not available: docs/performance.md left unformatted)")
  }
  log(`docs: ${path.relative(repoDir, docs)}`)
}

/** `--render-docs`: rewrite docs/performance.md from results/latest.json without running anything. */
const renderOnly = (): number => {
  const file = path.join(benchDir, "results", "latest.json")
  const results = parseResults(fs.readFileSync(file, "utf8"))
  const full: Results = { ...results, revision: results.revision ?? "unknown" }
  full.targets = evaluateTargets(full)
  writeDocs(renderDocs(full, skipNotes(full.cells), [10_000]))
  return 0
}
/** `--bookkeeping`: only the bookkeeping section (full settings, or quick ones with `--quick`); writes nothing. */
const bookkeepingOnly = async (): Promise<number> => {
  const result = await measureBookkeeping(bookkeepingConfig)
  log("")
  log(bookkeepingText(result))
  for (const message of result.failures) log(`CHECK FAILED: ${message}`)
  return result.failures.length > 0 ? 1 : 0
}
/** `--cold`: only the cold cell (full settings, or quick ones with `--quick`); writes nothing. */
const coldOnly = (): number => {
  log(`node: ${process.version} (${process.execPath})`)
  const cold = measureCold(coldConfig)
  log("")
  log(coldText(cold))
  for (const f of cold.failures) log(`CHECK FAILED: ${f.impl} ${f.cell}: ${f.message}`)
  return cold.failures.length > 0 ? 1 : 0
}
;(flags["render-docs"]
  ? Promise.resolve(renderOnly())
  : flags.cold
  ? Promise.resolve(coldOnly())
  : flags.bookkeeping
  ? bookkeepingOnly()
  : main()).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
      process.exitCode = 2
    }
  )
