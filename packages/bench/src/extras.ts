/* oxlint-disable no-await-in-loop -- benchmark runs must not overlap: every await in a loop is sequential on purpose */
import { Coalescer, TaskService } from "effect-task"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import pLimit from "p-limit"
import { makeNaive } from "./naive.ts"

// ---------------------------------------------------------------------------
// heap bytes per parked task
// ---------------------------------------------------------------------------

const gc = (): void => {
  const fn = (globalThis as { gc?: () => void }).gc
  if (fn === undefined) throw new Error("run node with --expose-gc (pnpm bench does)")
  fn()
}

/** one full collection, between measured runs */
export const collectGarbage = (): void => gc()

export const heapAfterGc = (): number => {
  for (let i = 0; i < 4; i++) gc()
  return process.memoryUsage().heapUsed
}

/** bodies that hold the slot until the gate opens; the rest are plain distinct bodies */
const blockers = 8
let sink = 0

const effectBodies = (n: number, gate: Deferred.Deferred<void>): Array<Effect.Effect<void>> => {
  const out: Array<Effect.Effect<void>> = []
  for (let i = 0; i < n; i++) {
    out.push(
      i < blockers ? Deferred.await(gate) : Effect.sync(() => {
        sink += i
      })
    )
  }
  return out
}

const thunkBodies = (n: number, gate: Promise<void>): Array<() => unknown> => {
  const out: Array<() => unknown> = []
  for (let i = 0; i < n; i++) {
    out.push(
      i < blockers ? () => gate : () => {
        sink += i
      }
    )
  }
  return out
}

const ticks = async (k: number): Promise<void> => {
  for (let i = 0; i < k; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export interface MemoryResult {
  readonly tasks: number
  /** tasks parked for the naive port (fewer in quick runs) */
  readonly naiveTasks: number
  readonly bound: number
  /** bytes per task of the Effect body values alone (effect-task, naive port) */
  readonly bodyBytesPerTask: number
  /** bytes per task of the thunk body values alone (p-limit) */
  readonly thunkBodyBytesPerTask: number
  /** bytes per parked task on top of its body */
  readonly overheadBytesPerTask: Record<string, number>
  /** overhead / body */
  readonly ratio: Record<string, number>
}

export const effectBodyBytes = async (n: number): Promise<number> => {
  const gate = Deferred.makeUnsafe<void>()
  const before = heapAfterGc()
  let bodies: Array<Effect.Effect<void>> | undefined = effectBodies(n, gate)
  const after = heapAfterGc()
  if (bodies.length !== n) throw new Error("unreachable")
  bodies = undefined
  return after - before
}

const thunkBodyBytes = async (n: number): Promise<number> => {
  const gate = new Promise<void>(() => {})
  const before = heapAfterGc()
  let bodies: Array<() => unknown> | undefined = thunkBodies(n, gate)
  const after = heapAfterGc()
  if (bodies.length !== n) throw new Error("unreachable")
  bodies = undefined
  return after - before
}

export const effectTaskParked = (n: number, bound: number): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Deferred.make<void>()
      yield* Effect.promise(() => ticks(2))
      const before = heapAfterGc()
      // the bodies are created here and owned by the service only
      let bodies: Array<Effect.Effect<void>> | undefined = effectBodies(n, gate)
      for (let i = 0; i < n; i++) yield* tasks.go("parked", bodies[i]!)
      bodies = undefined
      yield* Effect.promise(() => ticks(4))
      const after = heapAfterGc()
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
      return after - before
    }).pipe(Effect.provide(TaskService.layerBounded(bound)))
  )

export const naiveParked = (n: number, bound: number): Promise<number> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const service = yield* makeNaive(bound)
    const gate = yield* Deferred.make<void>()
    yield* Effect.promise(() => ticks(2))
    const before = heapAfterGc()
    let bodies: Array<Effect.Effect<void>> | undefined = effectBodies(n, gate)
    for (let i = 0; i < n; i++) yield* service.go(bodies[i]!)
    bodies = undefined
    yield* Effect.promise(() => ticks(4))
    const after = heapAfterGc()
    // draining 100k fibers parked on the semaphore permit by permit is quadratic: lift the bound first
    yield* service.unbound
    yield* Deferred.succeed(gate, undefined)
    yield* service.blockTillDone
    return after - before
  })))

export const pLimitParked = async (n: number, bound: number): Promise<number> => {
  let open!: () => void
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  await ticks(2)
  const before = heapAfterGc()
  const limit = pLimit(bound)
  let bodies: Array<() => unknown> | undefined = thunkBodies(n, gate)
  for (let i = 0; i < n; i++) void limit(bodies[i]!)
  bodies = undefined
  await ticks(4)
  const after = heapAfterGc()
  open()
  while (limit.activeCount + limit.pendingCount > 0) await ticks(1)
  return after - before
}

/**
 * `naiveTasks`: the naive port parks its fibers on a `Semaphore` whose every
 * park scans all waiters, so parking 100k of them takes about half a minute;
 * quick runs measure it with fewer tasks (bytes per task do not depend on it).
 */
export const measureMemory = async (
  n: number,
  bound: number,
  naiveTasks: number,
  samples: number
): Promise<MemoryResult> => {
  const medianOf = async (f: () => Promise<number>): Promise<number> => {
    const xs: Array<number> = []
    for (let i = 0; i < samples; i++) xs.push(await f())
    xs.sort((a, b) => a - b)
    return xs[xs.length >> 1]!
  }
  const effectBody = await medianOf(() => effectBodyBytes(n))
  const thunkBody = await medianOf(() => thunkBodyBytes(n))
  const effectTask = await medianOf(() => effectTaskParked(n, bound))
  const limit = await medianOf(() => pLimitParked(n, bound))
  const naiveBody = naiveTasks === n ? effectBody : await medianOf(() => effectBodyBytes(naiveTasks))
  const naive = await naiveParked(naiveTasks, bound)
  const overhead = {
    "effect-task": (effectTask - effectBody) / n,
    "p-limit": (limit - thunkBody) / n,
    "naive-port": (naive - naiveBody) / naiveTasks
  }
  return {
    tasks: n,
    naiveTasks,
    bound,
    bodyBytesPerTask: effectBody / n,
    thunkBodyBytesPerTask: thunkBody / n,
    overheadBytesPerTask: overhead,
    ratio: {
      "effect-task": overhead["effect-task"] / (effectBody / n),
      "p-limit": overhead["p-limit"] / (thunkBody / n),
      "naive-port": overhead["naive-port"] / (naiveBody / naiveTasks)
    }
  }
}

// ---------------------------------------------------------------------------
// quiescence wake latency
// ---------------------------------------------------------------------------

export interface LatencyResult {
  readonly samples: number
  readonly p50Ns: number
  readonly p99Ns: number
  readonly meanNs: number
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

export const measureLatency = (samples: number, warmup: number): Promise<LatencyResult> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const out = new Float64Array(samples)
      let decrementedAt = 0n
      // the body records the time as its very last step; the task ends right after
      const body = Effect.sync(() => {
        decrementedAt = process.hrtime.bigint()
      })
      for (let i = 0; i < samples + warmup; i++) {
        yield* tasks.go("latency", body)
        yield* tasks.awaitQuiescence(0)
        const resumedAt = process.hrtime.bigint()
        if (i >= warmup) out[i - warmup] = Number(resumedAt - decrementedAt)
      }
      out.sort()
      let sum = 0
      for (const x of out) sum += x
      return { samples, p50Ns: percentile(out, 0.5), p99Ns: percentile(out, 0.99), meanNs: sum / samples }
    }).pipe(Effect.provide(TaskService.layerBounded(8)))
  )

// ---------------------------------------------------------------------------
// coalescer
// ---------------------------------------------------------------------------

export interface CoalescerResult {
  readonly submits: number
  readonly keys: number
  readonly bound: number
  readonly runs: number
  readonly maxRunsPerKey: number
  readonly minRunsPerKey: number
  readonly coalescedMs: number
  readonly singleMs: number
}

export const measureCoalescer = (submits: number, keys: number, bound: number): Promise<CoalescerResult> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const runs = new Uint32Array(keys)
      const bodies = Array.from(
        { length: keys },
        (_, k) =>
          Effect.andThen(
            Effect.sync(() => {
              runs[k]!++
            }),
            Effect.sleep("1 millis")
          )
      )
      // 1,000 single runs: one task per key
      const s0 = performance.now()
      for (let k = 0; k < keys; k++) yield* tasks.go("single", bodies[k]!)
      yield* tasks.blockTillDone
      const singleMs = performance.now() - s0
      runs.fill(0)

      const coalescer = yield* Coalescer.make<number>()
      const c0 = performance.now()
      for (let i = 0; i < submits; i++) {
        const k = i % keys
        yield* coalescer.submit("coalesced", k, bodies[k]!)
      }
      yield* tasks.blockTillDone
      const coalescedMs = performance.now() - c0
      let total = 0
      let max = 0
      let min = Infinity
      for (const r of runs) {
        total += r
        if (r > max) max = r
        if (r < min) min = r
      }
      return {
        submits,
        keys,
        bound,
        runs: total,
        maxRunsPerKey: max,
        minRunsPerKey: min,
        coalescedMs,
        singleMs
      }
    }).pipe(Effect.provide(TaskService.layerBounded(bound)))
  )

// ---------------------------------------------------------------------------
// coalescer: the cost of a submit to a busy key
// ---------------------------------------------------------------------------

export interface BusySubmitsResult {
  readonly submits: number
  readonly keys: number
  readonly rounds: number
  /** median ns per `submit` into keys whose runs are executing (each marks the key pending) */
  readonly nsPerSubmit: number
  /** median ns per iteration of the same loop yielding `Effect.void` instead: the caller's own cost */
  readonly loopNs: number
  readonly failures: ReadonlyArray<string>
}

/**
 * `keys` runs (one per key, bound = keys) hold their slots on a gate; then
 * `submits` submits go round the keys from one `Effect.gen` loop, each landing
 * on a running key (it only marks the key pending). The gate opens and every
 * key must run exactly twice: its first run and one re-run.
 */
const busyRound = (
  submits: number,
  keys: number,
  baseline = true
): Promise<{ ns: number; loopNs: number; failure?: string }> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const coalescer = yield* Coalescer.make<number>()
      const gate = yield* Deferred.make<void>()
      const runs = new Uint32Array(keys)
      const bodies = Array.from({ length: keys }, (_, k) =>
        Effect.andThen(
          Effect.sync(() => {
            runs[k]!++
          }),
          Deferred.await(gate)
        ))
      for (let k = 0; k < keys; k++) yield* coalescer.submit("busy", k, bodies[k]!)
      for (let i = 0; i < 100 && runs.reduce((a, b) => a + b, 0) < keys; i++) yield* Effect.yieldNow
      if (runs.reduce((a, b) => a + b, 0) < keys) {
        return { ns: NaN, loopNs: NaN, failure: "the first runs did not start" }
      }
      const l0 = performance.now()
      if (baseline) { for (let i = 0; i < submits; i++) yield* Effect.void }
      const loopNs = baseline ? ((performance.now() - l0) * 1e6) / submits : NaN
      const t0 = performance.now()
      for (let i = 0; i < submits; i++) {
        const k = i % keys
        yield* coalescer.submit("busy", k, bodies[k]!)
      }
      const ns = ((performance.now() - t0) * 1e6) / submits
      yield* Deferred.succeed(gate, undefined)
      yield* tasks.blockTillDone
      const bad = [...runs].findIndex((r) => r !== 2)
      const size = yield* coalescer.size
      const failure = bad >= 0
        ? `key ${bad} ran ${runs[bad]} times, expected 2 (first run, one re-run)`
        : size !== 0
        ? `coalescer size ${size} after the runs, expected 0`
        : undefined
      return failure === undefined ? { ns, loopNs } : { ns, loopNs, failure }
    }).pipe(Effect.provide(TaskService.layerBounded(keys)))
  )

const medianOf = (xs: ReadonlyArray<number>): number => xs.toSorted((a, b) => a - b)[xs.length >> 1]!

/** One round of `submits` into `keys` busy keys without the baseline loop (for a profile of the submits alone). */
export const busySubmitsOnce = async (submits: number, keys: number): Promise<void> => {
  const result = await busyRound(submits, keys, false)
  if (result.failure !== undefined) throw new Error(`busy-key submits: ${result.failure}`)
}

export const measureBusySubmits = async (submits: number, keys: number, rounds: number): Promise<BusySubmitsResult> => {
  const failures: Array<string> = []
  const ns: Array<number> = []
  const loop: Array<number> = []
  await busyRound(Math.min(submits, 50_000), keys) // warm-up
  for (let r = 0; r < rounds; r++) {
    const result = await busyRound(submits, keys)
    if (result.failure !== undefined) failures.push(result.failure)
    ns.push(result.ns)
    loop.push(result.loopNs)
  }
  return { submits, keys, rounds, nsPerSubmit: medianOf(ns), loopNs: medianOf(loop), failures }
}
