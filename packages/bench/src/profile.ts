/**
 * Runs one cell of the bench alone, for `node --cpu-prof`: a throughput cell
 * of one implementation (the default), or the cell behind one of the other
 * targets of docs/performance.md.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof packages/bench/dist/profile.js --n=1000000 --bound=8 --kind=sync
 *   node packages/bench/dist/summarize-profile.js /tmp/prof/<file>.cpuprofile 30 --no-idle
 *
 * Cells (`--cell=`):
 * - `throughput` (default): `--impl`, `--n`, `--bound`, `--kind`, `--repeat`;
 *   `--build=without-bookkeeping` runs effect-task with the no-op accounting
 *   strategy (needs `node --conditions=effect-task-internal`), for the
 *   bookkeeping target; `--gc` (with `node --expose-gc`) collects before every
 *   run, as the matrix does; `--repeat=1` in a fresh process is the cold cell
 * - `busy-submit`: coalescer submits into running keys (`--n` submits over
 *   8 keys, as the bench's cell, `--repeat` rounds)
 * - `burst`: `--n` coalescer submits over 1,000 keys, 1 ms bodies, bound 8
 * - `yield-slot`, `yield-quiescent`, `yield-plain`: `--bound` tasks that each
 *   run the body `--n` times (the round-trip cells)
 * - `missed-targets`: what a full `pnpm bench` does after its measurements:
 *   reads a results file (`--results=`, default `results/latest-quick.json`),
 *   profiles the cell behind every target it missed, in-process, for at
 *   least `--min-ms` each (default 2000), and prints the table of top frames
 *
 * Every cell checks its outcome as the bench does: a failed check exits 1.
 */
/* oxlint-disable no-await-in-loop -- runs are sequential on purpose */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type BodyKind, effectBody } from "./bodies.ts"
import { tryWithoutBookkeeping } from "./bookkeeping.ts"
import { measureBusySubmits, measureCoalescer } from "./extras.ts"
import { exitUsage, strictFlags } from "./flags.ts"
import { type ImplName, impls, type ServiceBuild, taskServiceRun } from "./impls.ts"
import { checkProbe, resetProbe } from "./probe.ts"
import { profileMissedTargets, profilesTable } from "./profiles.ts"
import { evaluateTargets, parseResults } from "./report.ts"
import { loopOnce, type YieldKind } from "./yields.ts"

/** the cells, each with the flags it reads: any other flag given is an error, not silently ignored */
const applicable = {
  throughput: ["impl", "n", "bound", "kind", "repeat", "gc", "build"],
  "busy-submit": ["n", "repeat"],
  burst: ["n", "repeat"],
  "yield-slot": ["n", "bound", "repeat"],
  "yield-quiescent": ["n", "bound", "repeat"],
  "yield-plain": ["n", "bound", "repeat"],
  "missed-targets": ["results", "min-ms"]
} as const satisfies Record<string, ReadonlyArray<string>>
type Cell = keyof typeof applicable
const cells = Object.keys(applicable) as ReadonlyArray<Cell>
const kinds: ReadonlyArray<BodyKind> = ["sync", "hop", "promise-hop", "timer"]

const usage = "usage: profile.js [--cell=" + cells.join("|") + "] [--impl=NAME] [--n=N] [--bound=B|unbounded] " +
  "[--kind=" + kinds.join("|") +
  "] [--repeat=R] [--gc] [--build=package|without-bookkeeping] [--results=FILE] [--min-ms=MS]"

const fail = (message: string): never => exitUsage("profile", message, usage)

const flags = strictFlags("profile", usage, {
  cell: { type: "string", default: "throughput" },
  impl: { type: "string", default: "effect-task" },
  n: { type: "string", default: "1000000" },
  bound: { type: "string", default: "8" },
  kind: { type: "string", default: "sync" },
  repeat: { type: "string", default: "3" },
  gc: { type: "boolean", default: false },
  build: { type: "string", default: "package" },
  results: { type: "string" },
  "min-ms": { type: "string", default: "2000" }
})

const positive = (name: string, text: string): number => {
  const value = Number(text)
  if (!/^[0-9]+$/.test(text) || value < 1) fail(`--${name}: ${JSON.stringify(text)} is not a positive integer`)
  return value
}
const cell = (cells as ReadonlyArray<string>).includes(flags.cell)
  ? flags.cell as Cell
  : fail(`--cell: ${JSON.stringify(flags.cell)} is not one of ${cells.join(", ")}`)
const given = process.argv.slice(2).filter((a) => a.startsWith("--")).map((a) => a.slice(2).replace(/=.*$/, ""))
  .filter((f) => f !== "cell")
const reads: ReadonlyArray<string> = applicable[cell]
const stray = given.find((f) => !reads.includes(f))
if (stray !== undefined) {
  fail(`--${stray} does not apply to --cell=${cell} (it reads: ${reads.map((f) => `--${f}`).join(", ")})`)
}
const n = positive("n", flags.n)
const bound = flags.bound === "unbounded" ? Infinity : positive("bound", flags.bound)
const kind = kinds.includes(flags.kind as BodyKind)
  ? flags.kind as BodyKind
  : fail(`--kind: ${JSON.stringify(flags.kind)} is not one of ${kinds.join(", ")}`)
const repeat = positive("repeat", flags.repeat)
const minMs = positive("min-ms", flags["min-ms"])
const impl = impls.find((i) => i.name === flags.impl as ImplName) ??
  fail(`--impl: ${JSON.stringify(flags.impl)} is not one of ${impls.map((i) => i.name).join(", ")}`)
if (flags.build !== "package" && flags.build !== "without-bookkeeping") {
  fail(`--build: ${JSON.stringify(flags.build)} is not one of package, without-bookkeeping`)
}
if (flags.build !== "package" && impl.name !== "effect-task") fail("--build applies to --impl=effect-task only")

const log = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

const collect = (): void => {
  if (!flags.gc) return
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) fail("--gc needs node --expose-gc")
  gc!()
}

/** the no-op accounting build, through the internal entry point (as the bookkeeping section loads it) */
const withoutBookkeeping = async (): Promise<ServiceBuild> =>
  (await tryWithoutBookkeeping()) ?? fail("--build=without-bookkeeping needs node --conditions=effect-task-internal")

const throughput = async (): Promise<void> => {
  const build = flags.build === "package" ? undefined : await withoutBookkeeping()
  for (let i = 0; i < repeat; i++) {
    collect()
    resetProbe()
    const t0 = performance.now()
    if (build === undefined) await impl.run(n, bound, kind, 600_000)
    else await Effect.runPromise(taskServiceRun(build, n, bound, effectBody(kind)))
    const ms = performance.now() - t0
    const check = checkProbe(n, bound)
    log(
      `${impl.name}${build === undefined ? "" : " (without bookkeeping)"} N=${n} bound=${flags.bound} body=${kind}: ${
        ms.toFixed(0)
      } ms, ${(n / ms / 1000).toFixed(2)}M/s, ${check.message}`
    )
    if (!check.ok) process.exitCode = 1
  }
}

const yieldKinds: Record<"yield-slot" | "yield-quiescent" | "yield-plain", YieldKind> = {
  "yield-slot": "yieldSlot",
  "yield-quiescent": "yieldQuiescent",
  "yield-plain": "plain"
}

/** Profiles what a results file missed, as a full run does (`profiles.ts`). */
const missedTargets = async (): Promise<void> => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const file = flags.results ?? path.join(here, "..", "results", "latest-quick.json")
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (error) {
    return fail(`--results: cannot read ${JSON.stringify(file)} (${String(error)}); run pnpm bench --quick first`)
  }
  const results = parseResults(text)
  const targets = evaluateTargets(results)
  const profiles = await profileMissedTargets({ ...results, targets }, minMs, log)
  log("")
  log(profilesTable(profiles))
  log("")
  log(`${profiles.length} profiles of ${targets.filter((t) => t.met === false).length} missed targets (${file})`)
}

const main = async (): Promise<void> => {
  switch (cell) {
    case "throughput":
      return throughput()
    case "missed-targets":
      return missedTargets()
    case "busy-submit": {
      const result = await measureBusySubmits(n, 8, repeat) // 8 keys, as the bench's cell
      log(
        `busy-key submit: ${result.nsPerSubmit.toFixed(0)} ns per submit (the caller's loop: ${
          result.loopNs.toFixed(0)
        } ns), ${result.failures.length} failed checks`
      )
      if (result.failures.length > 0) process.exitCode = 1
      return
    }
    case "burst":
      for (let i = 0; i < repeat; i++) {
        const result = await measureCoalescer(n, 1_000, 8)
        log(
          `burst: ${result.coalescedMs.toFixed(0)} ms for ${n} submits (${result.runs} runs), ${
            result.singleMs.toFixed(0)
          } ms for 1,000 single runs`
        )
        if (result.minRunsPerKey < 1) process.exitCode = 1
      }
      return
    default: {
      const yieldKind = yieldKinds[cell]
      if (bound === Infinity) fail(`--cell=${cell} needs a finite --bound`)
      for (let i = 0; i < repeat; i++) {
        const { ns, ran } = await loopOnce(yieldKind, bound, n)
        log(`${yieldKind} loop: ${ns.toFixed(0)} ns per iteration, ${ran} of ${bound} tasks finished`)
        if (ran !== bound) process.exitCode = 1
      }
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 2
})
