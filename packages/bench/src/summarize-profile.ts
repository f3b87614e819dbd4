/**
 * Summarises a `.cpuprofile` (from `node --cpu-prof`): self time per function,
 * overall and for the functions of effect-task (`packages/task`).
 *
 *   node packages/bench/dist/summarize-profile.js <file.cpuprofile> [top] [--no-idle]
 *
 * `--no-idle` leaves the samples taken while the thread waited in the event
 * loop (`(idle)`) out of the total, so the shares are of the busy time.
 */
import * as fs from "node:fs"
import { type Profile, summarizeProfile } from "./cpuProfile.ts"

const args = process.argv.slice(2)
const noIdle = args.includes("--no-idle")
const [file, topArg] = args.filter((a) => a !== "--no-idle")
if (file === undefined) throw new Error("usage: summarize-profile <file.cpuprofile> [top] [--no-idle]")
const top = Number(topArg ?? "25")
const summary = summarizeProfile(JSON.parse(fs.readFileSync(file, "utf8")) as Profile, noIdle)

const pct = (us: number): string => `${((100 * us) / summary.totalUs).toFixed(1).padStart(5)}%`
const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`
const print = (title: string, rows: ReadonlyArray<readonly [string, number]>): void => {
  process.stdout.write(`\n${title}\n`)
  for (const [key, us] of rows.slice(0, top)) process.stdout.write(`${ms(us)} ${pct(us)}  ${key}\n`)
}

const own = (rows: ReadonlyArray<readonly [string, number]>) => rows.filter(([k]) => k.includes("packages/task/"))
process.stdout.write(`total sampled: ${(summary.totalUs / 1000).toFixed(0)} ms\n`)
print("self time, all functions", summary.self)
print("self time, packages/task", own(summary.self))
print("inclusive time, packages/task", own(summary.inclusive))
