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

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const noIdle = args.includes("--no-idle")
const [file, topArg] = args.filter((a) => a !== "--no-idle")
if (file === undefined) throw new Error("usage: summarize-profile <file.cpuprofile> [top] [--no-idle]")
const top = Number(topArg ?? "25")
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile

const selfById = new Map<number, number>()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!
  selfById.set(id, (selfById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}

const shortUrl = (url: string): string => {
  const task = url.indexOf("packages/task/")
  if (task >= 0) return url.slice(task)
  const nm = url.lastIndexOf("node_modules/")
  if (nm >= 0) return url.slice(nm + "node_modules/".length)
  return url.replace(/^file:\/\//, "")
}

const keyOf = (frame: CallFrame): string =>
  `${frame.functionName || "(anonymous)"}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`

// self time per function; inclusive time per function (counted once per stack)
const self = new Map<string, number>()
const byId = new Map<number, ProfileNode>()
for (const node of profile.nodes) byId.set(node.id, node)
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
const inclusive = new Map<string, number>()
let total = 0
for (const [id, us] of selfById) {
  const node = byId.get(id)!
  if (noIdle && node.callFrame.functionName === "(idle)") continue
  total += us
  const key = keyOf(node.callFrame)
  self.set(key, (self.get(key) ?? 0) + us)
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = keyOf(byId.get(cur)!.callFrame)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + us)
  }
}

const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%`
const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`
const print = (title: string, rows: Array<[string, number]>): void => {
  process.stdout.write(`\n${title}\n`)
  for (const [key, us] of rows.slice(0, top)) process.stdout.write(`${ms(us)} ${pct(us)}  ${key}\n`)
}

process.stdout.write(`total sampled: ${(total / 1000).toFixed(0)} ms\n`)
const sorted = (m: Map<string, number>, filter: (k: string) => boolean) =>
  [...m.entries()].filter(([k]) => filter(k)).toSorted((a, b) => b[1] - a[1])
print("self time, all functions", sorted(self, () => true))
print("self time, packages/task", sorted(self, (k) => k.includes("packages/task/")))
print("inclusive time, packages/task", sorted(inclusive, (k) => k.includes("packages/task/")))
