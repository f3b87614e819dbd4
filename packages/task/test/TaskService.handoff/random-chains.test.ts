/**
 * False quiescence: randomized hand-off chains. Sources complete signals that
 * consumers wait on inside `yieldQuiescent`; each consumer, once resumed,
 * signals the next level and ends. A waiter on `awaitQuiescence(0)` records,
 * when it completes, whether every task of the chain has finished: it must
 * never complete while a woken consumer has not resumed.
 *
 * Signals mix waits that resume inside the completing call (`Deferred`, made to
 * yield once more after it wakes) with waits that resume a scheduler tick later
 * (`Latch`, `Queue`). Chains are batched: each property run executes a batch of
 * chains, each against a fresh service, in one runtime.
 *
 * Replay a failure: `FC_SEED=S FC_PATH=P npx vitest run --project task random-chains`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Latch, Queue } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { runIsolated } from "../helpers/programs.ts"
import { layerFor, ownedService } from "../helpers/service.ts"
import { yieldTimes } from "../helpers/waits.ts"

type Kind = "deferred" | "latch" | "queue"

interface Node {
  /** index of the producer on the previous level this consumer waits for */
  readonly from: number
  readonly kind: Kind
  /** scheduler turns of work after resuming, before signalling */
  readonly work: number
}

interface Chain {
  /** 0 = unbounded */
  readonly bound: number
  readonly sources: ReadonlyArray<number>
  readonly levels: ReadonlyArray<ReadonlyArray<Node>>
  /** register consumers before sources (they then take the slots first) */
  readonly consumersFirst: boolean
  /** the source waits on the TestClock instead of yielding */
  readonly sleepySources: boolean
}

const kindArb: fc.Arbitrary<Kind> = fc.constantFrom("deferred", "latch", "queue")

const chainArb: fc.Arbitrary<Chain> = fc
  .record({
    bound: fc.integer({ min: 0, max: 4 }),
    sources: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }),
    depth: fc.integer({ min: 2, max: 6 }),
    consumersFirst: fc.boolean(),
    sleepySources: fc.boolean()
  })
  .chain(({ bound, consumersFirst, depth, sleepySources, sources }) => {
    const levels: Array<fc.Arbitrary<Array<Node>>> = []
    for (let i = 0; i < depth; i++) {
      levels.push(
        fc.array(
          fc.record({ from: fc.nat(2), kind: kindArb, work: fc.integer({ min: 0, max: 1 }) }),
          { minLength: 1, maxLength: 3 }
        )
      )
    }
    return fc.tuple(...levels).map((ls): Chain => ({ bound, consumersFirst, levels: ls, sleepySources, sources }))
  })

const CHAINS = Number(process.env.HANDOFF_CHAINS ?? 10_000)
const BATCH = 50

/** A one-shot signal from a producer to its consumers. */
interface Signal {
  readonly fire: Effect.Effect<void>
  /** a wait for one consumer */
  readonly wait: Effect.Effect<void>
}

const makeSignal = (kind: Kind, consumers: number): Effect.Effect<Signal> =>
  Effect.gen(function*() {
    switch (kind) {
      case "deferred": {
        // resumes inside the completing call: make it yield once more, as real code might
        const d = yield* Deferred.make<void>()
        return {
          fire: Effect.asVoid(Deferred.succeed(d, undefined)),
          wait: Effect.andThen(Deferred.await(d), Effect.yieldNow)
        }
      }
      case "latch": {
        const latch = yield* Latch.make(false)
        return { fire: Effect.asVoid(latch.open), wait: latch.await }
      }
      case "queue": {
        const queue = yield* Queue.unbounded<void>()
        const offers: Array<Effect.Effect<boolean>> = []
        for (let i = 0; i < consumers; i++) offers.push(Queue.offer(queue, undefined))
        return { fire: Effect.asVoid(Effect.all(offers)), wait: Queue.take(queue) }
      }
    }
  })

/** Runs one chain; returns a description of the violation, if any. */
const runChain = (chain: Chain) =>
  Effect.gen(function*() {
    const { close, tasks } = yield* ownedService(layerFor(chain.bound))
    // producers of level 0 are the sources; those of level i + 1 are the consumers of `levels[i]`.
    // Consumer j of `levels[i]` waits on producer `from % width` of level i, with its own kind of signal.
    const widths = [chain.sources.length, ...chain.levels.map((level) => level.length)]
    const signalsOf: Array<Array<Map<Kind, number>>> = widths.map((w) => Array.from({ length: w }, () => new Map()))
    chain.levels.forEach((level, i) =>
      level.forEach((node) => {
        const m = signalsOf[i]![node.from % widths[i]!]!
        m.set(node.kind, (m.get(node.kind) ?? 0) + 1)
      })
    )
    const signals: Array<Array<Map<Kind, Signal>>> = []
    for (const level of signalsOf) {
      const row: Array<Map<Kind, Signal>> = []
      for (const kinds of level) {
        const m = new Map<Kind, Signal>()
        for (const [kind, n] of kinds) m.set(kind, yield* makeSignal(kind, n))
        row.push(m)
      }
      signals.push(row)
    }
    const fireAll = (level: number, index: number) =>
      Effect.forEach(signals[level]![index]!.values(), (s) => s.fire, { discard: true })

    let total = 0
    let finished = 0
    const done = (name: string) => Effect.sync(() => void (finished++, log.push(name)))
    const log: Array<string> = []

    const registerSources = Effect.forEach(chain.sources, (work, i) => {
      total++
      const pause = chain.sleepySources ? Effect.sleep(work + 1) : yieldTimes(work)
      return tasks.go(`src-${i}`, Effect.andThen(pause, Effect.andThen(fireAll(0, i), done(`src-${i}`))))
    }, { discard: true })
    const registerConsumers = Effect.forEach(chain.levels, (level, i) =>
      Effect.forEach(level, (node, j) => {
        total++
        const p = node.from % widths[i]!
        const wait = signals[i]![p]!.get(node.kind)!.wait
        return tasks.go(
          `c-${i}-${j}`,
          Effect.andThen(
            tasks.yieldQuiescent(wait),
            Effect.andThen(yieldTimes(node.work), Effect.andThen(fireAll(i + 1, j), done(`c-${i}-${j}`)))
          )
        )
      }, { discard: true }), { discard: true })

    if (chain.consumersFirst) {
      yield* registerConsumers
      yield* registerSources
    } else {
      yield* registerSources
      yield* registerConsumers
    }

    let quietAfter = -1
    let activeAtQuiet = -1
    const waiter = yield* Effect.forkChild(
      Effect.andThen(
        tasks.awaitQuiescence(0),
        Effect.flatMap(tasks.activeCount, (active) =>
          Effect.sync(() => {
            quietAfter = finished
            activeAtQuiet = active
          }))
      )
    )
    for (let i = 0; waiter.pollUnsafe() === undefined; i++) {
      if (i > 2000) return `the waiter never completed (finished ${finished}/${total})`
      if (chain.sleepySources) yield* TestClock.adjust(1)
      else yield* Effect.yieldNow
    }
    yield* tasks.blockTillDone
    yield* close
    if (quietAfter !== total) {
      return `awaitQuiescence(0) completed after ${quietAfter} of ${total} tasks had finished (log: ${log.join(" ")})`
    }
    if (activeAtQuiet !== 0) return `activeCount was ${activeAtQuiet} when the waiter resumed`
    return undefined
  })

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED)
const path = process.env.FC_PATH

describe("hand-off: random chains never let awaitQuiescence complete early", () => {
  it.effect(
    `awaitQuiescence(0) never completes inside a hand-off, ${CHAINS} random chains`,
    () =>
      Effect.gen(function*() {
        let chains = 0
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(chainArb, { minLength: BATCH, maxLength: BATCH }), (batch) =>
              runIsolated(
                Effect.gen(function*() {
                  for (const chain of batch) {
                    chains++
                    const violation = yield* runChain(chain)
                    if (violation !== undefined) assert.fail(`${violation}\nchain: ${JSON.stringify(chain)}`)
                  }
                }),
                60_000
              )),
            {
              numRuns: Math.ceil(CHAINS / BATCH),
              ...(seed === undefined ? {} : { seed }),
              ...(path === undefined ? {} : { path })
            }
          )
        )
        if (path === undefined) assert.isAtLeast(chains, CHAINS)
      }),
    300_000
  )

  it.effect("a chain of six Latch hand-offs, bound 1: the waiter completes only after the leaf", () =>
    Effect.gen(function*() {
      const chain: Chain = {
        bound: 1,
        sources: [0],
        levels: Array.from({ length: 6 }, () => [{ from: 0, kind: "latch" as Kind, work: 0 }]),
        consumersFirst: true,
        sleepySources: false
      }
      assert.isUndefined(yield* runChain(chain))
    }))
})
