/**
 * Named waits: each polls a public observable (`snapshot`, `activeCount`,
 * `Fiber.poll`, a coalescer's `size` or `scheduled`, or the test's own
 * bookkeeping) once per scheduler round, and fails the test naming what it
 * waited for when the condition has not held after `WAIT_ROUNDS` rounds. A
 * named wait never sleeps and never loops without a bound; not a test file.
 *
 * The only unnamed wait is {@link settle}, for the negative assertions ("a
 * parked task does NOT start"); {@link yieldTimes} is not a wait at all but a
 * body's own work (a body that spends `n` scheduler turns).
 */
import { Effect, type Fiber } from "effect"
import type { Coalescer, TaskInfo, TaskServiceShape } from "effect-task"

/**
 * How many scheduler rounds a named wait polls before it fails. Every wait in
 * the suite is reached within a few dozen rounds; the bound only turns a hang
 * into a failure with a message.
 */
export const WAIT_ROUNDS = 1_000

/** A task's `snapshot` state. */
export type State = TaskInfo["state"]

/**
 * Polls `check` once per scheduler round (`Effect.yieldNow`), at most `rounds`
 * rounds; dies with `waited ${rounds} scheduler rounds until ${what}` (and
 * what `observed` reads then) when it never held.
 */
export const until = (
  what: string,
  check: () => boolean,
  observed?: () => string,
  rounds = WAIT_ROUNDS
): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < rounds; i++) {
      if (check()) return
      yield* Effect.yieldNow
    }
    if (check()) return
    return yield* Effect.die(
      new Error(
        `waited ${rounds} scheduler rounds until ${what}, in vain${observed === undefined ? "" : `; ${observed()}`}`
      )
    )
  })

/** As {@link until}, with an effectful check (a read of the service). */
export const untilEffect = (
  what: string,
  check: Effect.Effect<boolean>,
  observed?: Effect.Effect<string>,
  rounds = WAIT_ROUNDS
): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i <= rounds; i++) {
      if (yield* check) return
      if (i < rounds) yield* Effect.yieldNow
    }
    const seen = observed === undefined ? "" : `; ${yield* observed}`
    return yield* Effect.die(new Error(`waited ${rounds} scheduler rounds until ${what}, in vain${seen}`))
  })

/** `name: state` for every task of the snapshot, for a wait's failure message. */
const states = (tasks: TaskServiceShape): Effect.Effect<string> =>
  Effect.map(tasks.snapshot, (all) => `snapshot [${all.map((t) => `${t.name}: ${t.state}`).join(", ")}]`)

/** Until the task named `name` reads `state` in `snapshot` (the first task of that name). */
export const untilState = (tasks: TaskServiceShape, name: string, state: State): Effect.Effect<void> =>
  untilEffect(
    `task ${JSON.stringify(name)} is ${state}`,
    Effect.map(tasks.snapshot, (all) => all.find((t) => t.name === name)?.state === state),
    states(tasks)
  )

/** Until every named task reads its state in `snapshot` at once. */
export const untilStates = (tasks: TaskServiceShape, expected: Record<string, State>): Effect.Effect<void> =>
  untilEffect(
    `the tasks are ${Object.entries(expected).map(([name, state]) => `${name}: ${state}`).join(", ")}`,
    Effect.map(
      tasks.snapshot,
      (all) => Object.entries(expected).every(([name, state]) => all.find((t) => t.name === name)?.state === state)
    ),
    states(tasks)
  )

/**
 * Until the task named `name` is running: it holds a slot and its fiber has
 * been started. The body's first step may still be queued behind it (a
 * coalescer run that has not taken that step still collapses a submit into
 * itself): a test that needs the body to have run waits on the body's own
 * signal instead.
 */
export const untilRunning = (tasks: TaskServiceShape, name: string) => untilState(tasks, name, "running")

/** Until the task named `name` is parked (registered, waiting for a slot, or granted one but not started). */
export const untilParked = (tasks: TaskServiceShape, name: string) => untilState(tasks, name, "parked")

/** Until the task named `name` is inside `yieldSlot` (`"slot"`) or `yieldQuiescent` (`"quiescent"`). */
export const untilYielded = (tasks: TaskServiceShape, name: string, kind: "slot" | "quiescent") =>
  untilState(tasks, name, kind === "slot" ? "yielded-slot" : "yielded-quiescent")

/** Until no task named `name` is in `snapshot` any more (it ended). */
export const untilGone = (tasks: TaskServiceShape, name: string): Effect.Effect<void> =>
  untilEffect(
    `task ${JSON.stringify(name)} has ended`,
    Effect.map(tasks.snapshot, (all) => !all.some((t) => t.name === name)),
    states(tasks)
  )

/** Until `activeCount` reads `n`. */
export const untilActive = (tasks: TaskServiceShape, n: number): Effect.Effect<void> =>
  untilEffect(
    `activeCount is ${n}`,
    Effect.map(tasks.activeCount, (active) => active === n),
    Effect.map(tasks.activeCount, (active) => `activeCount ${active}`)
  )

/** Until the coalescer's `size` (keys with a registered run) reads `n`. */
export const untilSize = (coalescer: Coalescer<never>, n: number): Effect.Effect<void> =>
  untilEffect(
    `coalescer size is ${n}`,
    Effect.map(coalescer.size, (size) => size === n),
    Effect.map(coalescer.size, (size) => `size ${size}`)
  )

/** Until the coalescer's `scheduled` (keys waiting on a delay or a retry) reads `n`. */
export const untilScheduled = (coalescer: Coalescer<never>, n: number): Effect.Effect<void> =>
  untilEffect(
    `coalescer scheduled is ${n}`,
    Effect.map(coalescer.scheduled, (scheduled) => scheduled === n),
    Effect.map(coalescer.scheduled, (scheduled) => `scheduled ${scheduled}`)
  )

/** Until `fiber` has completed (`Fiber.poll` is some exit). */
export const untilDone = (fiber: Fiber.Fiber<unknown, unknown>, what = "the fiber has completed") =>
  until(what, () => fiber.pollUnsafe() !== undefined)

/**
 * How many rounds {@link settle} yields. The service acts on any change within
 * two scheduler rounds (a start is one task on the service's dispatcher, a
 * hand-off check one more), a Latch or Queue wake-up takes one, and no body in
 * these tests spends more than 10 turns (`yieldTimes(10)`) before it
 * suspends again: after 25 rounds anything that would happen has happened.
 */
export const SETTLE_ROUNDS = 25

/**
 * Let every runnable fiber run: yields {@link SETTLE_ROUNDS} scheduler rounds.
 * For negative assertions only ("nothing more starts", "the waiter is still
 * waiting"): a positive expectation waits for its condition by name instead.
 */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < SETTLE_ROUNDS; i++) yield* Effect.yieldNow
})

/**
 * Not a wait: a body's own work that spends `n` scheduler turns (`n`
 * `Effect.yieldNow`s), for bodies that must take a while without a gate.
 */
export const yieldTimes = (n: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Effect.yieldNow
  })
