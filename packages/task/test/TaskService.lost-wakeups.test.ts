/* oxlint-disable no-await-in-loop -- the programs of one test run one after another on purpose */
/**
 * No lost wake-ups, no stranded tasks (CONTRACT.md: "The check and the
 * registration of every wait … are one atomic step under any scheduler and
 * any `MaxOpsBeforeYield`").
 *
 * Each key wait runs after every number of preceding operations across one
 * op-budget window, so that the runtime's budget yield falls at every point
 * of the wait, including between its check and its registration (where the
 * code before this suite lost the wake-up). The work that would wake the
 * waiter is made ready just before, so that it runs exactly in such a yield.
 * Then the same waits run under a time-slicing scheduler, a scheduler that
 * yields before every fiber's first step, and a random-order scheduler.
 *
 * Every run must finish (a real-time watchdog reports a hang) with the
 * counters at rest: `activeCount` 0, an empty `snapshot`, no key left.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Scheduler } from "effect"
import { Coalescer, TaskService, type TaskServiceShape } from "effect-task"
import { slotsIntact } from "./helpers/gauge.ts"
import { randomOrder, runUnder, timeSlicing, yieldFirst } from "./helpers/schedulers.ts"
import { ownedService } from "./helpers/service.ts"

/** `k` synchronous steps on the calling fiber. */
const steps = (k: number): Effect.Effect<void> => {
  let effect: Effect.Effect<void> = Effect.void
  for (let i = 0; i < k; i++) effect = Effect.andThen(Effect.sync(() => i), effect)
  return effect
}

interface Wait {
  readonly bound: number
  /** runs the wait after `k` steps; the task that would wake it is made ready right before */
  readonly run: (tasks: TaskServiceShape, k: number) => Effect.Effect<void, never, TaskService>
}

/** A wait on the calling fiber, after a task is made ready to end in the next turn and `k` steps. */
const afterReadyTask = (wait: (tasks: TaskServiceShape) => Effect.Effect<void>): Wait => ({
  bound: 0,
  run: (tasks, k) =>
    Effect.gen(function*() {
      yield* Effect.yieldNow // a fresh op budget
      yield* tasks.go("a", Effect.void) // starts in the next scheduler turn
      yield* steps(k)
      yield* wait(tasks)
      yield* tasks.blockTillDone
    })
})

/** A task's slot re-acquire after `yieldWith`, while another task takes the slot it gave back. */
const reacquireAfter = (yieldWith: (tasks: TaskServiceShape) => TaskServiceShape["yieldSlot"]): Wait => ({
  bound: 1,
  run: (tasks, k) =>
    Effect.gen(function*() {
      yield* tasks.go(
        "x",
        yieldWith(tasks)(Effect.gen(function*() {
          yield* Effect.yieldNow
          yield* tasks.go("y", Effect.void) // takes the slot x gave back, and ends a turn later
          yield* steps(k)
        }))
      )
      yield* tasks.go("after", Effect.void)
      yield* tasks.blockTillDone
    })
})

const waits: Record<string, Wait> = {
  blockTillDone: afterReadyTask((tasks) => tasks.blockTillDone),
  "awaitQuiescence(0)": afterReadyTask((tasks) => tasks.awaitQuiescence(0)),
  "slot re-acquire after yieldSlot": reacquireAfter((tasks) => tasks.yieldSlot),
  "slot re-acquire after yieldQuiescent": reacquireAfter((tasks) => tasks.yieldQuiescent),
  "coalescer re-run": {
    bound: 1,
    run: (tasks, k) =>
      Effect.gen(function*() {
        const coalescer = yield* Coalescer.make<string>()
        let runs = 0
        const body: Effect.Effect<void> = Effect.gen(function*() {
          runs++
          if (runs > 1) return
          yield* coalescer.submit("again", "key", body) // pending: one re-run follows
          yield* tasks.go("y", Effect.void) // parked behind the run; gets the slot it gives back
          yield* Effect.yieldNow
          yield* steps(k)
        })
        yield* coalescer.submit("first", "key", body)
        yield* tasks.blockTillDone
        assert.strictEqual(runs, 2)
        assert.strictEqual(yield* coalescer.size, 0)
      })
  }
}

/** One program: a fresh service, the wait, then the counters at rest and every slot free. */
const program = (wait: Wait, k: number, maxOps: number | undefined) => {
  const body = Effect.gen(function*() {
    const service = yield* ownedService(
      wait.bound === 0 ? TaskService.layerUnbounded : TaskService.layerBounded(wait.bound)
    )
    yield* wait.run(service.tasks, k).pipe(Effect.provide(service.context))
    assert.strictEqual(yield* service.tasks.activeCount, 0)
    assert.deepStrictEqual(yield* service.tasks.snapshot, [])
    const high = yield* slotsIntact(service.tasks, wait.bound)
    assert.strictEqual(high, wait.bound === 0 ? 9 : wait.bound)
    yield* service.close
  })
  return maxOps === undefined ? body : Effect.provideService(body, Scheduler.MaxOpsBeforeYield, maxOps)
}

/** `[from, to]` inclusive. */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/**
 * The op-budget windows: every count of preceding steps that moves the budget
 * yield across the wait. The smallest budget is 3: under effect 4.1 a budget
 * of 1 or 2 livelocks any program (resuming after a budget yield takes two
 * operations, so the fiber yields again before it makes progress; a plain
 * five-step `Effect.sync` loop never finishes), so no service can be tested
 * there.
 */
const windows: ReadonlyArray<readonly [string, number | undefined, ReadonlyArray<number>]> = [
  ["MaxOpsBeforeYield 3", 3, range(0, 8)],
  ["MaxOpsBeforeYield 4", 4, range(0, 10)],
  ["MaxOpsBeforeYield 64", 64, range(0, 70)],
  ["the default MaxOpsBeforeYield", undefined, [...range(0, 4), ...range(1000, 1040)]]
]

describe("no lost wake-ups: the check and the registration are one step at every op-budget position", () => {
  for (const [waitName, wait] of Object.entries(waits)) {
    for (const [windowName, maxOps, ks] of windows) {
      it(`${waitName}, ${windowName}, after ${ks.length} different numbers of steps`, async () => {
        for (const k of ks) await runUnder(undefined, program(wait, k, maxOps))
      })
    }
  }
})

const hostile: ReadonlyArray<readonly [string, () => Scheduler.Scheduler]> = [
  ["a time-slicing scheduler (yields after 1 ms)", () => timeSlicing(1)],
  ["a scheduler that yields before every fiber's first step", () => yieldFirst],
  ["a random-order scheduler", () => randomOrder(0x5eed)],
  ["a random-order scheduler with MaxOpsBeforeYield 3", () => randomOrder(0xbeef, 3)]
]

describe("no lost wake-ups: no waiter hangs and no counter is wrong under hostile schedulers", () => {
  for (const [waitName, wait] of Object.entries(waits)) {
    for (const [schedulerName, scheduler] of hostile) {
      it(`${waitName}, under ${schedulerName}`, async () => {
        for (const k of [0, 1, 2, 3, 5, 8, 13, 100, 1024]) await runUnder(scheduler(), program(wait, k, undefined))
      })
    }
  }
})
