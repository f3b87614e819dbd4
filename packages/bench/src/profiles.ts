/* oxlint-disable no-await-in-loop -- profiled runs are sequential on purpose */
/**
 * Profiles of the missed targets: after a full run has measured everything,
 * the cell behind every target it did not meet is run again under V8's CPU
 * profiler (the inspector's `Profiler` domain, in this process; the cold
 * cell in a fresh process) and docs/performance.md lists the profile's top
 * frames next to the target, as issue #19 asks of a miss.
 *
 * What is profiled per target, with the parameters the run measured:
 * - a throughput target, and the flat-cost target: effect-task alone in the
 *   target's worst matrix cell, warm, without the matrix's `gc()` before
 *   each run: the profile shows the steady-state work per task, not the
 *   penalty of a run right after a full collection (measured apart, see the
 *   page); when a cold cell misses too, one cold run (a fresh process, the
 *   profiler started right before the batch, after the imports: one batch,
 *   however short)
 * - the yield round trips: the loop cells (`bound` tasks each yielding in a
 *   loop, no backlog)
 * - the coalescer targets: the busy-key submits (the submit loop alone,
 *   without the cell's baseline loop) and the burst
 * - the bookkeeping target: its worst cell, with and without the
 *   bookkeeping (the second needs `node --conditions=effect-task-internal`,
 *   as `pnpm bench` runs; elsewhere that row says it was not taken)
 * - any other missed target (memory, latency): a row that says it has no
 *   profile (a heap size or a latency is not a CPU cost)
 *
 * Shares are of the busy time: samples of the thread waiting in the event
 * loop (`(idle)`) and of the profiler's own calls are left out. The garbage
 * collector's share is given apart. Each in-process profile covers at least
 * `minMs` of runs, sampled every 100 µs.
 */
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { effectBody } from "./bodies.ts"
import { type BookkeepingResult, percent, tryWithoutBookkeeping } from "./bookkeeping.ts"
import { isPseudoFrame, type Profile, type ProfileSummary, startProfiler, summarizeProfile } from "./cpuProfile.ts"
import { busySubmitsOnce, type BusySubmitsResult, measureCoalescer } from "./extras.ts"
import { impls, packageBuild, type ServiceBuild, taskServiceRun } from "./impls.ts"
import { boundLabel, type WorstCell } from "./matrix.ts"
import { loopOnce, type YieldsResult } from "./yields.ts"

/** What this module reads of a target (`report.ts`'s `Target`). */
interface ProfiledTarget {
  readonly name: string
  readonly met: boolean | undefined
  readonly worst?: WorstCell | undefined
  readonly worstCold?: WorstCell | undefined
}

export interface ProfiledFrame {
  /** `function (file)` */
  readonly frame: string
  /** share of the busy time */
  readonly share: number
}

export interface TargetProfile {
  readonly target: string
  /** what was profiled */
  readonly cell: string
  /** how to take the same profile on its own (`profile.js` flags, or the cold child's command) */
  readonly command: string
  readonly sampledMs: number
  /** the garbage collector's share of the busy time */
  readonly gcShare: number
  /** effect-task's own functions (`packages/task`), their share of the busy time */
  readonly ownShare: number
  readonly frames: ReadonlyArray<ProfiledFrame>
}

/** How many frames the page lists per profile. */
const topFrames = 6

const frameName = (key: string): string => {
  const [name, where] = key.split("  ")
  const file = (where ?? "").replace(/:\d+$/, "").replace(/^effect\/dist\//, "effect ").replace(
    /^packages\/task\/dist\//,
    "effect-task "
  ).replace(/^.*packages\/bench\/dist\//, "bench ")
  return `${name} (${file})`
}

const toProfile = (
  target: string,
  cell: string,
  command: string,
  summary: ProfileSummary
): TargetProfile => {
  const share = (us: number): number => (summary.totalUs === 0 ? 0 : us / summary.totalUs)
  const gc = summary.self.find(([key]) => key.startsWith("(garbage collector)"))?.[1] ?? 0
  const own = summary.self.filter(([key]) => key.includes("packages/task/")).reduce((sum, [, us]) => sum + us, 0)
  return {
    target,
    cell,
    command,
    sampledMs: summary.totalUs / 1000,
    gcShare: share(gc),
    ownShare: share(own),
    frames: summary.self.filter(([key]) => !isPseudoFrame(key)).slice(0, topFrames).map(([key, us]) => ({
      frame: frameName(key),
      share: share(us)
    }))
  }
}

/** Runs `run` until `minMs` have passed, under the CPU profiler. */
const profiled = async (run: () => Promise<unknown>, minMs: number): Promise<ProfileSummary> => {
  const stop = await startProfiler()
  let profile: Profile | undefined
  try {
    const t0 = performance.now()
    do await run()
    while (performance.now() - t0 < minMs)
  } finally {
    profile = await stop()
  }
  return summarizeProfile(profile, true)
}

/** One cold run: a fresh process, profiled from just before its batch (`cold-child.ts --profile=`). */
const profiledCold = (cell: WorstCell): ProfileSummary => {
  const script = fileURLToPath(new URL("./cold-child.js", import.meta.url))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-bench-"))
  const file = path.join(dir, "cold.cpuprofile")
  try {
    execFileSync(process.execPath, [
      script,
      "--impl=effect-task",
      `--n=${cell.n}`,
      `--bound=${boundLabel(cell.bound)}`,
      `--kind=${cell.kind}`,
      `--profile=${file}`
    ], { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 })
    return summarizeProfile(JSON.parse(fs.readFileSync(file, "utf8")) as Profile, true)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** A row for a target without a profile, saying why. */
const unprofiled = (target: string, why: string): TargetProfile => ({
  target,
  cell: why,
  command: "",
  sampledMs: 0,
  gcShare: NaN,
  ownShare: NaN,
  frames: []
})

const cellLabel = (cell: WorstCell): string => `N=${cell.n}, bound ${boundLabel(cell.bound)}, ${cell.kind} bodies`
const cellFlags = (cell: WorstCell): string => `--n=${cell.n} --bound=${boundLabel(cell.bound)} --kind=${cell.kind}`

const effectTask = impls.find((impl) => impl.name === "effect-task")!

/** Profiles the cell behind every target of `results` that is not met (see the module comment). */
export const profileMissedTargets = async (
  results: {
    readonly targets: ReadonlyArray<ProfiledTarget>
    readonly bookkeeping?: BookkeepingResult | undefined
    readonly yields?: YieldsResult | undefined
    readonly busySubmits?: BusySubmitsResult | undefined
  },
  minMs: number,
  log: (line: string) => void
): Promise<Array<TargetProfile>> => {
  const out: Array<TargetProfile> = []
  const missed = results.targets.filter((target) => target.met === false)
  // targets that miss worst in the same cell share its profile
  const taken = new Map<string, ProfileSummary>()
  const add = async (target: ProfiledTarget, cell: string, command: string, take: () => Promise<ProfileSummary>) => {
    let summary = taken.get(command)
    if (summary === undefined) {
      log(`profile: ${target.name}: ${cell} ...`)
      summary = await take()
      taken.set(command, summary)
    }
    out.push(toProfile(target.name, cell, command, summary))
  }
  for (const target of missed) {
    if (target.worst !== undefined) {
      const worst = target.worst
      await add(
        target,
        `effect-task, ${cellLabel(worst)} (the worst matrix cell), warm, no gc() between runs`,
        cellFlags(worst),
        () => profiled(() => effectTask.run(worst.n, worst.bound, worst.kind, 600_000), minMs)
      )
    }
    if (target.worstCold !== undefined) {
      const cold = target.worstCold
      await add(
        target,
        `effect-task, the cold cell ${cellLabel(cold)}: one batch in a fresh process`,
        `(cold-child.js --impl=effect-task ${cellFlags(cold)} --profile=FILE)`,
        () => Promise.resolve(profiledCold(cold))
      )
    }
    switch (target.name) {
      case "yieldSlot round trip":
      case "yieldQuiescent round trip": {
        const kind = target.name.startsWith("yieldSlot") ? "yieldSlot" : "yieldQuiescent"
        const bound = results.yields?.bound ?? 8
        const loops = results.yields?.loops ?? 2_000
        await add(
          target,
          `${bound} tasks, each looping ${loops.toLocaleString("en")} times over ${kind}(yieldNow)`,
          `--cell=${kind === "yieldSlot" ? "yield-slot" : "yield-quiescent"} --bound=${bound} --n=${loops}`,
          () => profiled(() => loopOnce(kind, bound, loops), minMs)
        )
        break
      }
      case "coalescer submit to a busy key": {
        const submits = results.busySubmits?.submits ?? 1_000_000
        const keys = results.busySubmits?.keys ?? 8
        await add(
          target,
          `${
            submits.toLocaleString("en")
          } submits into ${keys} running keys (the submit loop, without the cell's baseline loop)`,
          `--cell=busy-submit --n=${submits}`,
          () => profiled(() => busySubmitsOnce(submits, keys), minMs)
        )
        break
      }
      case "coalescer burst":
        await add(
          target,
          "1M submits over 1,000 keys (1 ms bodies, bound 8), with its 1,000 single runs",
          "--cell=burst --n=1000000",
          () => profiled(() => measureCoalescer(1_000_000, 1_000, 8), minMs)
        )
        break
      case "bookkeeping cost": {
        const book = results.bookkeeping
        if (book === undefined || book.cells.length === 0) break
        const worst = book.cells.toSorted((a, b) => b.loss - a.loss)[0]!
        const cell: WorstCell = { n: book.n, bound: worst.bound, kind: worst.kind }
        const runWith = (build: ServiceBuild) => () =>
          Effect.runPromise(taskServiceRun(build, cell.n, cell.bound, effectBody(cell.kind)))
        await add(
          target,
          `effect-task with its bookkeeping, ${cellLabel(cell)} (the worst bookkeeping cell)`,
          cellFlags(cell),
          () => profiled(runWith(packageBuild), minMs)
        )
        const without = await tryWithoutBookkeeping()
        if (without === undefined) {
          out.push(
            unprofiled(
              target.name,
              "the same cell without the bookkeeping: needs node --conditions=effect-task-internal"
            )
          )
        } else {
          await add(
            target,
            `the same cell without the bookkeeping (NoAccounting)`,
            `${cellFlags(cell)} --build=without-bookkeeping`,
            () => profiled(runWith(without), minMs)
          )
        }
        break
      }
      default:
        if (target.worst === undefined && target.worstCold === undefined) {
          out.push(unprofiled(target.name, "not profiled: a heap size or a latency, not a CPU cost"))
        }
    }
  }
  return out
}

const percentOrDash = (x: number): string => (Number.isNaN(x) ? "—" : percent(x))

/** The page's table: one row per profile. */
export const profilesTable = (profiles: ReadonlyArray<TargetProfile>): string =>
  [
    "| target | profiled | top frames (self time, share of the busy time) | effect-task's own | GC | sampled |",
    "| --- | --- | --- | --: | --: | --: |",
    ...profiles.map((p) =>
      `| ${p.target} | ${p.cell} | ${
        p.frames.length === 0 ? "—" : p.frames.map((f) => `${f.frame} ${percentOrDash(f.share)}`).join("; ")
      } | ${percentOrDash(p.ownShare)} | ${percentOrDash(p.gcShare)} | ${
        p.sampledMs === 0 ? "—" : `${p.sampledMs.toFixed(0)} ms`
      } |`
    )
  ].join("\n")
