/**
 * A high-water counter of running task bodies, the wrappers that feed it,
 * and the "no slot is leaked" probe built on it; not a test file.
 */
import { Effect, Latch } from "effect"
import type { TaskServiceShape } from "effect-task"
import { settle, until } from "./waits.ts"

/**
 * A high-water counter of running task bodies. `enter`/`exit` are called by
 * `tracked` bodies and by `releasing` around yields, conservatively: a body
 * is counted only between getting its slot and before giving it back, so a
 * `high` above the bound is a real violation.
 */
export class Gauge {
  running = 0
  high = 0
  started = 0
  finished = 0
  readonly starts: Array<string> = []

  enter(): void {
    this.running++
    if (this.running > this.high) this.high = this.running
  }

  exit(): void {
    this.running--
  }

  /** forgets the high-water mark; the next check measures from here */
  resetHigh(): void {
    this.high = this.running
  }
}

/** Wraps a body so that `gauge` counts it while it runs. */
export const tracked = <A, E, R>(
  gauge: Gauge,
  name: string,
  body: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    gauge.started++
    gauge.starts.push(name)
    gauge.enter()
    return body.pipe(
      Effect.ensuring(Effect.sync(() => {
        gauge.exit()
        gauge.finished++
      }))
    )
  })

/**
 * Runs `self` inside `tasks.yieldSlot` (or `yieldQuiescent`) with the gauge
 * not counting this body while it does not hold a slot.
 */
export const releasing = <A, E, R>(
  gauge: Gauge,
  tasks: TaskServiceShape,
  kind: "slot" | "quiescent",
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    gauge.exit()
    return (kind === "slot" ? tasks.yieldSlot(self) : tasks.yieldQuiescent(self)).pipe(
      Effect.onExit(() => Effect.sync(() => gauge.enter()))
    )
  })

/** Until `gauge` has seen `n` bodies start. */
export const untilStarted = (gauge: Gauge, n: number): Effect.Effect<void> =>
  until(`${n} bodies have started`, () => gauge.started >= n, () => `started: ${gauge.starts.join(", ")}`)

/** Until `gauge` counts `n` bodies running. */
export const untilRunningBodies = (gauge: Gauge, n: number): Effect.Effect<void> =>
  until(`${n} bodies are running`, () => gauge.running === n, () => `running ${gauge.running}`)

/**
 * No slot is leaked: `bound` fresh tasks gated on one latch all start (the
 * high-water of running bodies equals the bound), one more does not (when
 * bounded), and all of them end. Returns the high-water mark.
 */
export const slotsIntact = (tasks: TaskServiceShape, bound: number): Effect.Effect<number> =>
  Effect.gen(function*() {
    const n = bound === 0 ? 8 : bound
    let running = 0
    let high = 0
    const gate = yield* Latch.make(false)
    const body = Effect.gen(function*() {
      running++
      if (running > high) high = running
      yield* gate.await
      running--
    })
    for (let i = 0; i < n + 1; i++) yield* tasks.go(`slot-probe-${i}`, body)
    const target = bound === 0 ? n + 1 : n
    // a missing start shows as a high-water mark below the target, so the wait does not fail the test itself
    yield* Effect.exit(until(`${target} slot probes are running`, () => high >= target, undefined, 200))
    yield* settle // and one more must not start
    const seen = high
    yield* gate.open
    yield* tasks.blockTillDone
    return seen
  })
