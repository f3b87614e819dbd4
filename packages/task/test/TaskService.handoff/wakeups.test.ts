/* oxlint-disable no-await-in-loop -- the programs of one test run one after another on purpose */
/**
 * The exact quiescence rule (CONTRACT.md, "Quiescence hand-off"): hand-off
 * chains whose links wake in every way effect 4.1 wakes a fiber, and woken
 * waiters that take many turns before they leave `yieldQuiescent`.
 *
 * A chain of `n` links: task 0 completes link 0; task `i` waits for link
 * `i - 1` inside `yieldQuiescent`, runs a continuation there, then completes
 * link `i`. `awaitQuiescence(0)`, called at the start, may complete only
 * once every task has finished: any earlier completion is a false quiescence,
 * seen as `finished < n`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Latch, Layer, Scheduler, Scope } from "effect"
import { TaskService } from "effect-task"
import { TestClock } from "effect/testing"
import {
  type ContinuationName,
  continuations,
  type Link,
  type LinkKind,
  linkKinds,
  registerChain
} from "../helpers/handoff.ts"
import { randomOrder, runUnder, timeSlicing, yieldFirst } from "../helpers/schedulers.ts"
import { settle, untilState, yieldTimes } from "../helpers/waits.ts"

const fresh = () => Layer.fresh(TaskService.layerUnbounded)

/** Runs a chain and checks that `awaitQuiescence(0)` completed only after the last task. */
const checkChain = (kinds: ReadonlyArray<LinkKind>, continuation: Effect.Effect<void>, layer = fresh()) =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    const chain = yield* registerChain(tasks, kinds, continuation)
    yield* tasks.awaitQuiescence(0)
    assert.strictEqual(chain.finished(), chain.size, "awaitQuiescence(0) completed inside a hand-off")
    assert.strictEqual(yield* tasks.activeCount, 0)
  }).pipe(Effect.provide(layer))

const kindNames = Object.keys(linkKinds) as Array<LinkKind>
const continuationNames = Object.keys(continuations) as Array<ContinuationName>

describe("hand-off: a hand-off chain holds awaitQuiescence(0) until its last task", () => {
  for (const kind of kindNames) {
    for (const length of [3, 8, 20]) {
      it.effect(`${length} links waking through ${kind}, on TestClock`, () =>
        checkChain(Array.from({ length }, () => kind), yieldTimes(3)))
    }
    it.live(`8 links waking through ${kind}, on the live clock`, () =>
      checkChain(Array.from({ length: 8 }, () => kind), yieldTimes(3)))
  }

  it.effect("20 links mixing every kind of wake-up", () =>
    checkChain(Array.from({ length: 20 }, (_, i) => kindNames[i % kindNames.length]!), yieldTimes(2)))
})

describe("hand-off: a woken waiter may take any number of turns before it leaves yieldQuiescent", () => {
  for (const name of continuationNames) {
    for (const kind of ["Latch", "Queue", "Deferred"] as const) {
      it.effect(`${name}, woken through ${kind}`, () => checkChain([kind, kind, kind], continuations[name]))
    }
  }

  for (const k of [0, 1, 2, 3, 4, 5, 10, 20, 50]) {
    it.effect(`${k} yieldNow after a Latch wake-up`, () => checkChain(["Latch", "Latch"], yieldTimes(k)))
  }

  it.effect("the same chains with MaxOpsBeforeYield 16 for the whole program", () =>
    Effect.provideService(
      Effect.forEach(["Latch", "Queue", "Stream"] as const, (kind) =>
        checkChain([kind, kind, kind, kind], continuations["an auto-yielding loop"])),
      Scheduler.MaxOpsBeforeYield,
      16
    ))
})

describe("hand-off: where the waiter is", () => {
  it.effect("a waiter inside a task counts itself and completes after the chain", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const chain = yield* registerChain(tasks, ["Latch", "Queue", "Latch"], yieldTimes(5))
      const seen = yield* Deferred.make<number>()
      yield* tasks.go(
        "waiter",
        Effect.andThen(tasks.awaitQuiescence(1), Effect.suspend(() => Deferred.succeed(seen, chain.finished())))
      )
      assert.strictEqual(yield* Deferred.await(seen), chain.size)
    }).pipe(Effect.provide(fresh())))

  it.effect("a waiter inside its own yieldQuiescent completes after the chain", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const chain = yield* registerChain(tasks, ["Latch", "Stream", "Latch"], yieldTimes(5))
      const seen = yield* Deferred.make<number>()
      yield* tasks.go(
        "waiter",
        Effect.andThen(
          tasks.yieldQuiescent(tasks.awaitQuiescence(0)),
          Effect.suspend(() => Deferred.succeed(seen, chain.finished()))
        )
      )
      assert.strictEqual(yield* Deferred.await(seen), chain.size)
    }).pipe(Effect.provide(fresh())))

  it.live("a service built under Effect.runSync decides like any other", () =>
    Effect.gen(function*() {
      const scope = Effect.runSync(Scope.make())
      const context = Effect.runSync(Layer.buildWithScope(TaskService.layerUnbounded, scope))
      yield* checkChain(["Latch", "Queue", "Latch", "promise"], yieldTimes(10), Layer.succeedContext(context))
      yield* Scope.close(scope, Exit.void)
    }))
})

describe("hand-off: under a scheduler the user provides for the whole program", () => {
  const kinds = Object.keys(linkKinds) as Array<LinkKind>
  const schedulers = [
    ["a random-order scheduler (each turn's tasks shuffled)", () => randomOrder(7)],
    ["a time-slicing scheduler", () => timeSlicing(1)],
    ["a scheduler that yields before every fiber's first step", () => yieldFirst]
  ] as const
  for (const [name, scheduler] of schedulers) {
    it(`4-link chains of every kind hold awaitQuiescence(0) until the last task, under ${name}`, async () => {
      for (let round = 0; round < 5; round++) {
        for (const kind of kinds) {
          await runUnder(
            scheduler(),
            Effect.gen(function*() {
              const tasks = yield* TaskService
              const chain = yield* registerChain(tasks, [kind, kind, kind, kind], yieldTimes(5))
              yield* tasks.awaitQuiescence(0)
              assert.strictEqual(chain.finished(), chain.size, `${kind}: completed inside a hand-off`)
            }).pipe(Effect.provide(fresh()))
          )
        }
      }
    })
  }
})

describe("hand-off: a fiber blocked on time or I/O is not runnable", () => {
  it.effect("a region blocked on a TestClock sleep lets awaitQuiescence(0) complete", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const woke = yield* Deferred.make<void>()
      yield* tasks.go(
        "sleeper",
        tasks.yieldQuiescent(Effect.andThen(Effect.sleep("1 minute"), Deferred.succeed(woke, undefined)))
      )
      yield* tasks.awaitQuiescence(0)
      assert.isFalse(yield* Deferred.isDone(woke))
      assert.strictEqual((yield* tasks.snapshot)[0]?.state, "yielded-quiescent")
      yield* TestClock.adjust("1 minute")
      yield* tasks.blockTillDone
      assert.isTrue(yield* Deferred.isDone(woke))
    }).pipe(Effect.provide(fresh())))

  it.live("a region blocked on a setTimeout promise lets awaitQuiescence(0) complete", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const release = yield* Deferred.make<void>()
      let timer: ReturnType<typeof setTimeout> | undefined
      yield* tasks.go(
        "io",
        tasks.yieldQuiescent(
          Effect.promise(() => new Promise<void>((resolve) => (timer = setTimeout(resolve, 60_000))))
        )
      )
      yield* tasks.go("waits for release", tasks.yieldQuiescent(Deferred.await(release)))
      yield* tasks.awaitQuiescence(0)
      assert.strictEqual(yield* tasks.activeCount, 0)
      clearTimeout(timer)
      const states = (yield* tasks.snapshot).map((info) => info.state)
      assert.deepStrictEqual(states, ["yielded-quiescent", "yielded-quiescent"])
    }).pipe(Effect.provide(fresh())))
})

/** Counts `setImmediate` rounds while `self` runs; returns `self`'s result and the round it completed in. */
const inRounds = <A, E, R>(self: (round: () => number) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    let round = 0
    let stop = false
    const tick = () => {
      if (stop) return
      round++
      setImmediate(tick)
    }
    setImmediate(tick)
    try {
      return yield* self(() => round)
    } finally {
      stop = true
    }
  })

describe("hand-off: a truly missing dependency is decided within two scheduler rounds", () => {
  it.live("every task blocked: the waiter completes at most 2 rounds after the last decrement", () =>
    inRounds((round) =>
      Effect.gen(function*() {
        const tasks = yield* TaskService
        const never = yield* Latch.make(false)
        const go = yield* Latch.make(false)
        let lastDecrement = -1
        for (let i = 0; i < 5; i++) yield* tasks.go(`waits ${i}`, tasks.yieldQuiescent(never.await))
        yield* tasks.go(
          "last counted",
          Effect.andThen(go.await, Effect.sync(() => void (lastDecrement = round())))
        )
        const waiter = yield* Effect.forkChild(tasks.awaitQuiescence(0))
        yield* settle // "last counted" still counts
        assert.isUndefined(waiter.pollUnsafe())
        yield* go.open
        yield* Fiber.join(waiter)
        const rounds = round() - lastDecrement
        assert.isAtMost(rounds, 2, `decided ${rounds} rounds after the last decrement`)
        assert.strictEqual((yield* tasks.snapshot).length, 5)
      }).pipe(Effect.provide(fresh()))
    ))
})

describe("hand-off: the waits a review found", () => {
  /** A leaf task waits inside `yieldQuiescent` (a wait that may fail); a source task, after 3 turns of its own, wakes it. */
  type Wait = Omit<Link, "wait"> & { readonly wait: Effect.Effect<void, unknown> }
  const rows: ReadonlyArray<{ readonly name: string; readonly link: Effect.Effect<Wait> }> = [
    ...[0, 1, 2].map((extra) => ({
      name: `a woken waiter yields ${extra} more times inside yieldQuiescent`,
      link: Effect.map(
        linkKinds.Latch,
        (link): Link => ({ ...link, wait: Effect.andThen(link.wait, yieldTimes(extra)) })
      )
    })),
    {
      name: "a dependency wait with a timeout (Effect.timeout around Deferred.await)",
      link: Effect.map(linkKinds.Deferred, (link): Wait => ({ ...link, wait: Effect.timeout(link.wait, "1 minute") }))
    },
    {
      name: "a dependency wait through a forked child (Fiber.join)",
      link: Effect.map(linkKinds.Latch, (link): Link => ({
        ...link,
        wait: Effect.flatMap(Effect.forkChild(Effect.andThen(link.wait, Effect.yieldNow)), Fiber.join)
      }))
    }
  ]

  it.effect.each(rows)("$name", ({ link }) =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const { fire, wait } = yield* link
      let leafDone = false
      yield* tasks.go("leaf", Effect.andThen(tasks.yieldQuiescent(wait), Effect.sync(() => (leafDone = true))))
      yield* tasks.go("src", Effect.andThen(yieldTimes(3), fire))
      yield* untilState(tasks, "leaf", "yielded-quiescent")
      yield* tasks.awaitQuiescence(0)
      assert.isTrue(leafDone)
    }).pipe(Effect.provide(TaskService.layerBounded(4))))
})
