/**
 * The verdict store of the orchestrator: one entry per object (its spec,
 * phase, verdict and times) and the generations of verdicts that dependents
 * wait on — one `Deferred` per object and round, completed once, by the
 * first claim; a run folded into a later one by the coalescer gets that
 * run's verdict.
 */
import { Deferred, Effect } from "effect"
import type { ObjectSpec, Outcome, Status } from "./model.ts"

/** One verdict, as it happens. `round` is 0 for the initial run. */
export interface VerdictEvent {
  readonly cluster: string
  readonly id: string
  readonly round: number
  readonly status: Status
  readonly reason: string | null
  readonly run: number
  readonly atMs: number
  readonly durationMs: number | null
  readonly output: string | null
}

export interface Generation {
  readonly n: number
  readonly round: number
  readonly done: Deferred.Deferred<Outcome>
  /** set, synchronously, by the step that gives this generation its verdict */
  claimed: boolean
}

/** The state of one object. */
export interface Entry {
  spec: ObjectSpec
  latest: Generation | undefined
  phase: "pending" | "waiting" | "rendering" | "settled"
  outcome: Outcome | undefined
  startedMs: number | null
  finishedMs: number | null
  verdictMs: number | null
  /** the rendered file, relative to the output dir */
  output: string | null
  runs: number
}

/** Makes the store; `elapsed` reads the session clock, `onVerdict` sees every verdict. */
export const makeVerdictStore = (
  elapsed: Effect.Effect<number>,
  onVerdict: ((event: VerdictEvent) => void) | undefined
) => {
  const entries = new Map<string, Entry>()
  /** the latest generation of every key anyone waits on, existing or not */
  const latest = new Map<string, Generation>()
  /** generations without a verdict yet, oldest first */
  const unsettled = new Map<string, Array<Generation>>()
  let counter = 0

  const newGeneration = (key: string, round: number): Generation => {
    const gen: Generation = { n: ++counter, round, done: Deferred.makeUnsafe<Outcome>(), claimed: false }
    latest.set(key, gen)
    const list = unsettled.get(key)
    if (list === undefined) unsettled.set(key, [gen])
    else list.push(gen)
    return gen
  }

  const doneOf = (key: string) => (latest.get(key) ?? newGeneration(key, -1)).done

  const settle = (key: string, gen: Generation, outcome: Outcome): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (gen.claimed) return Effect.void
      gen.claimed = true
      return complete(key, gen, outcome)
    })

  /** Records the verdict of a claimed generation (and older ones folded into it) and completes them. */
  const complete = (key: string, gen: Generation, outcome: Outcome): Effect.Effect<void> =>
    Effect.gen(function*() {
      const atMs = yield* elapsed
      const entry = entries.get(key)
      if (entry !== undefined) {
        entry.outcome = outcome
        entry.verdictMs = atMs
        if (entry.latest === gen) entry.phase = "settled"
        if (outcome.status !== "ready") entry.output = null
      }
      const list = unsettled.get(key) ?? []
      const older = list.filter((g) => g.n <= gen.n)
      unsettled.set(key, list.filter((g) => g.n > gen.n))
      if (entry !== undefined) {
        onVerdict?.({
          cluster: entry.spec.cluster,
          id: entry.spec.id,
          round: gen.round,
          status: outcome.status,
          reason: outcome.reason,
          run: entry.runs,
          atMs,
          durationMs: entry.startedMs === null ? null : Math.round((atMs - entry.startedMs) * 10) / 10,
          output: entry.output
        })
      }
      for (const g of older) {
        g.claimed = true
        yield* Deferred.succeed(g.done, outcome)
      }
    })

  const setObjects = (objects: ReadonlyArray<ObjectSpec>): void => {
    const keys = new Set(objects.map((o) => o.key))
    for (const key of entries.keys()) {
      if (keys.has(key)) continue
      entries.delete(key)
      latest.delete(key)
    }
    for (const spec of objects) {
      const entry = entries.get(spec.key)
      if (entry !== undefined) entry.spec = spec
      else {
        entries.set(spec.key, {
          spec,
          latest: undefined,
          phase: "pending",
          outcome: undefined,
          startedMs: null,
          finishedMs: null,
          verdictMs: null,
          output: null,
          runs: 0
        })
      }
    }
  }

  return { entries, newGeneration, doneOf, settle, complete, setObjects }
}
