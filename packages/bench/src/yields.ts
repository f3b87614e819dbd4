/* oxlint-disable no-await-in-loop -- benchmark runs must not overlap: every await in a loop is sequential on purpose */
/**
 * The cost of the yields and of the exact quiescence rule.
 *
 * - Round trips: N tasks on a bounded service whose body is `yieldSlot(yieldNow)`,
 *   `yieldQuiescent(yieldNow)`, or plain `yieldNow` (the same body without a
 *   yield), interleaved round by round; the cost of a yield is the per-task
 *   time above the plain body. Every run checks that N bodies ran.
 * - Hand-off wake latency: a task inside `yieldQuiescent` stays blocked while
 *   another ends; the time from that task's last step to `awaitQuiescence(0)`
 *   resuming is the barrier's round (the plain latency cell has nobody in a
 *   region, where waiters complete on the decrement itself).
 */
import { Effect, Latch } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"

export type YieldKind = "plain" | "yieldSlot" | "yieldQuiescent"

export interface YieldsResult {
  readonly n: number
  readonly bound: number
  readonly rounds: number
  /** median per-task time, ns (N tasks behind the bound: a yielded slot goes to a parked task) */
  readonly perTaskNs: Record<YieldKind, number>
  /**
   * median time per loop iteration, ns, of `bound` tasks that each run the
   * body `loops` times (no backlog: a yield gets its slot back at once) —
   * the yield's own cost
   */
  readonly perYieldNs: Record<YieldKind, number>
  readonly loops: number
  /** the hand-off latency: p50 and p99, ns */
  readonly handOffP50Ns: number
  readonly handOffP99Ns: number
  readonly failures: ReadonlyArray<string>
}

const bodyOf = (tasks: TaskServiceShape, kind: YieldKind): Effect.Effect<void> =>
  kind === "plain"
    ? Effect.yieldNow
    : kind === "yieldSlot"
    ? tasks.yieldSlot(Effect.yieldNow)
    : tasks.yieldQuiescent(Effect.yieldNow)

/** One run: ns per task, and how many bodies ran. */
const runOnce = (kind: YieldKind, n: number, bound: number): Promise<{ readonly ns: number; readonly ran: number }> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const tasks = yield* TaskService
      let ran = 0
      const body = Effect.andThen(bodyOf(tasks, kind), Effect.sync(() => void ran++))
      const start = process.hrtime.bigint()
      for (let i = 0; i < n; i++) yield* tasks.go("yield", body)
      yield* tasks.blockTillDone
      const ns = Number(process.hrtime.bigint() - start) / n
      return { ns, ran }
    }).pipe(Effect.provide(TaskService.layerBounded(bound)))
  )

/** `bound` tasks each run `body` `loops` times: ns per iteration, and how many loops completed. */
export const loopOnce = (
  kind: YieldKind,
  bound: number,
  loops: number
): Promise<{ readonly ns: number; readonly ran: number }> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const tasks = yield* TaskService
      let ran = 0
      const step = bodyOf(tasks, kind)
      const body = Effect.gen(function*() {
        for (let i = 0; i < loops; i++) yield* step
        ran++
      })
      const start = process.hrtime.bigint()
      for (let i = 0; i < bound; i++) yield* tasks.go("yield loop", body)
      yield* tasks.blockTillDone
      return { ns: Number(process.hrtime.bigint() - start) / (bound * loops), ran }
    }).pipe(Effect.provide(TaskService.layerBounded(bound)))
  )

const median = (xs: Array<number>): number => xs.toSorted((a, b) => a - b)[xs.length >> 1]!

const handOffLatency = (samples: number): Promise<{ readonly p50: number; readonly p99: number }> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const never = yield* Latch.make(false)
      yield* tasks.go("blocked in a region", tasks.yieldQuiescent(never.await))
      const out: Array<number> = []
      let endedAt = 0n
      const body = Effect.sync(() => void (endedAt = process.hrtime.bigint()))
      for (let i = 0; i < samples; i++) {
        yield* tasks.go("ends", body)
        yield* tasks.awaitQuiescence(0)
        out.push(Number(process.hrtime.bigint() - endedAt))
      }
      yield* never.open
      out.sort((a, b) => a - b)
      return { p50: out[out.length >> 1]!, p99: out[Math.floor(out.length * 0.99)]! }
    }).pipe(Effect.provide(TaskService.layerBounded(8)))
  )

export const measureYields = async (n: number, bound: number, rounds: number): Promise<YieldsResult> => {
  const kinds: ReadonlyArray<YieldKind> = ["plain", "yieldSlot", "yieldQuiescent"]
  const samples: Record<YieldKind, Array<number>> = { plain: [], yieldSlot: [], yieldQuiescent: [] }
  const failures: Array<string> = []
  for (const kind of kinds) await runOnce(kind, Math.min(n, 10_000), bound) // warm-up
  for (let round = 0; round < rounds; round++) {
    // rotate the order, so that no kind always runs first
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(round + i) % kinds.length]!
      const { ns, ran } = await runOnce(kind, n, bound)
      if (ran !== n) failures.push(`${kind}: ${ran} of ${n} bodies ran`)
      samples[kind].push(ns)
    }
  }
  const loops = 2_000
  const loopSamples: Record<YieldKind, Array<number>> = { plain: [], yieldSlot: [], yieldQuiescent: [] }
  for (const kind of kinds) await loopOnce(kind, bound, 200) // warm-up
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(round + i) % kinds.length]!
      const { ns, ran } = await loopOnce(kind, bound, loops)
      if (ran !== bound) failures.push(`${kind} loop: ${ran} of ${bound} tasks finished`)
      loopSamples[kind].push(ns)
    }
  }
  const latency = await handOffLatency(2_000)
  return {
    n,
    bound,
    rounds,
    loops,
    perYieldNs: {
      plain: median(loopSamples.plain),
      yieldSlot: median(loopSamples.yieldSlot),
      yieldQuiescent: median(loopSamples.yieldQuiescent)
    },
    perTaskNs: {
      plain: median(samples.plain),
      yieldSlot: median(samples.yieldSlot),
      yieldQuiescent: median(samples.yieldQuiescent)
    },
    handOffP50Ns: latency.p50,
    handOffP99Ns: latency.p99,
    failures
  }
}

/** The round-trip cost of each yield above the plain body, ns: in a task's own loop, without a backlog. */
export const yieldCosts = (r: YieldsResult): { readonly slot: number; readonly quiescent: number } => ({
  slot: r.perYieldNs.yieldSlot - r.perYieldNs.plain,
  quiescent: r.perYieldNs.yieldQuiescent - r.perYieldNs.plain
})

/** The same, per task of N behind the bound: the yield plus the wait behind the backlog it lets start. */
const backlogCosts = (r: YieldsResult): { readonly slot: number; readonly quiescent: number } => ({
  slot: r.perTaskNs.yieldSlot - r.perTaskNs.plain,
  quiescent: r.perTaskNs.yieldQuiescent - r.perTaskNs.plain
})

const us = (ns: number) => (ns / 1000).toFixed(2)

export const yieldsText = (r: YieldsResult | undefined): string => {
  if (r === undefined) return ""
  const cost = yieldCosts(r)
  const backlog = backlogCosts(r)
  return [
    `Yield round trips (bound ${r.bound}, median of ${r.rounds} rounds; body \`yieldNow\` with and without the yield). ` +
    `**In a loop**: ${r.bound} tasks each run the body ${r.loops.toLocaleString("en-US")} times, nobody waits for a ` +
    `slot, so a yield gets its slot back at once: the yield's own cost. **Behind a backlog**: N=${
      r.n.toLocaleString("en-US")
    } tasks of one body each; a yielded slot goes to the oldest parked task and the yielding task waits behind ` +
    `the whole backlog (first come, first served), so every task starts before any ends:`,
    "",
    "| body | in a loop, µs/iteration | above the plain body | behind a backlog, µs/task | above the plain body |",
    "| --- | --: | --: | --: | --: |",
    `| plain \`yieldNow\` | ${us(r.perYieldNs.plain)} | — | ${us(r.perTaskNs.plain)} | — |`,
    `| \`yieldSlot(yieldNow)\` | ${us(r.perYieldNs.yieldSlot)} | ${us(cost.slot)} µs | ${us(r.perTaskNs.yieldSlot)} | ${
      us(backlog.slot)
    } µs |`,
    `| \`yieldQuiescent(yieldNow)\` | ${us(r.perYieldNs.yieldQuiescent)} | ${us(cost.quiescent)} µs | ${
      us(r.perTaskNs.yieldQuiescent)
    } | ${us(backlog.quiescent)} µs |`,
    "",
    `A \`yieldQuiescent\` round trip costs ${
      (cost.quiescent / Math.max(1, cost.slot)).toFixed(2)
    }x a \`yieldSlot\` round trip. ` +
    `Hand-off wake latency (a task blocked inside \`yieldQuiescent\`, another ends, \`awaitQuiescence(0)\` resumes after the barrier's round): p50 ${
      us(r.handOffP50Ns)
    } µs, p99 ${us(r.handOffP99Ns)} µs.`,
    ""
  ].join("\n")
}
