/**
 * V8 CPU profiles: taking one in-process (the inspector's `Profiler`, every
 * 100 µs) and reading one (`node --cpu-prof`'s file or the inspector's):
 * self and inclusive time per function, with the samples V8 files under
 * pseudo-frames (`(idle)`, `(garbage collector)`, `(program)`) kept apart.
 * Used by `summarize-profile.ts` (a file from disk), `profiles.ts` (the
 * profiles the bench takes of its missed targets) and `cold-child.ts`.
 */
import { Session } from "node:inspector/promises"

export interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

export interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

export interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}

export interface ProfileSummary {
  /** µs sampled, `(idle)` and `node:inspector` left out when asked */
  readonly totalUs: number
  /** µs per function (`name  file:line`), descending */
  readonly self: ReadonlyArray<readonly [string, number]>
  readonly inclusive: ReadonlyArray<readonly [string, number]>
}

/** Starts the CPU profiler in this process; the function it returns stops it and gives the profile. */
export const startProfiler = async (): Promise<() => Promise<Profile>> => {
  const session = new Session()
  session.connect()
  try {
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: 100 })
    await session.post("Profiler.start")
  } catch (error) {
    session.disconnect()
    throw error
  }
  return async () => {
    try {
      return (await session.post("Profiler.stop")).profile as Profile
    } finally {
      session.disconnect()
    }
  }
}

/** A frame's file, from `packages/task/` or `node_modules/` on. */
export const shortUrl = (url: string): string => {
  const task = url.indexOf("packages/task/")
  if (task >= 0) return url.slice(task)
  const nm = url.lastIndexOf("node_modules/")
  if (nm >= 0) return url.slice(nm + "node_modules/".length)
  return url.replace(/^file:\/\//, "")
}

const keyOf = (frame: CallFrame): string =>
  `${frame.functionName || "(anonymous)"}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`

/** V8's pseudo-frames: time not spent in a JavaScript function. */
export const isPseudoFrame = (key: string): boolean => key.startsWith("(")

const sorted = (m: Map<string, number>): Array<readonly [string, number]> =>
  [...m.entries()].toSorted((a, b) => b[1] - a[1])

/**
 * Self and inclusive time per function; `skipIdle` leaves `(idle)` (and the
 * in-process profiler's own calls, `node:inspector`) out of every total.
 */
export const summarizeProfile = (profile: Profile, skipIdle: boolean): ProfileSummary => {
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  const selfById = new Map<number, number>()
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!
    selfById.set(id, (selfById.get(id) ?? 0) + (deltas[i] ?? 0))
  }
  const byId = new Map<number, ProfileNode>()
  for (const node of profile.nodes) byId.set(node.id, node)
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  for (const [id, us] of selfById) {
    const node = byId.get(id)!
    // the idle thread, and the profiler's own start and stop (taken in-process through node:inspector)
    if (skipIdle && (node.callFrame.functionName === "(idle)" || node.callFrame.url === "node:inspector")) continue
    total += us
    const key = keyOf(node.callFrame)
    self.set(key, (self.get(key) ?? 0) + us)
    // inclusive: counted once per stack, however often a function recurs in it
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(byId.get(cur)!.callFrame)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + us)
    }
  }
  return { totalUs: total, self: sorted(self), inclusive: sorted(inclusive) }
}
