// Builds "the build without bookkeeping": a copy of packages/task/src with
// `internal/bookkeeping.ts` switched off (no clock readings, duration
// histograms, metric counters or span checks), compiled to
// packages/bench/baseline/dist. The benchmark runs it next to effect-task to
// measure what the bookkeeping costs. Everything else is the same source.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const source = path.resolve(benchDir, "..", "task", "src")
const target = path.join(benchDir, "baseline")

fs.rmSync(target, { recursive: true, force: true })
fs.cpSync(source, path.join(target, "src"), { recursive: true })

const flag = path.join(target, "src", "internal", "bookkeeping.ts")
const on = "export const enabled: boolean = true"
const text = fs.readFileSync(flag, "utf8")
if (!text.includes(on)) {
  console.error(`build-baseline: ${flag} no longer contains "${on}"`)
  process.exit(1)
}
fs.writeFileSync(flag, text.replace(on, "export const enabled: boolean = false"))

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
execFileSync(process.execPath, [tsc, "-p", path.join(benchDir, "tsconfig.baseline.json")], { stdio: "inherit" })
