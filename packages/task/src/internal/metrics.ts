/**
 * Metric plumbing for `TaskService`.
 *
 * The pool keeps plain counters and bucket arrays; they are registered with
 * Effect's `MetricRegistry` as pull-based series (`Metric.registerUnsafe`), so
 * an update on the hot path is an integer increment and a reader gets the
 * current value through the ordinary `Metric.value` / `Metric.snapshot` APIs.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Metric from "effect/Metric"

/** Boundaries, in seconds, of the duration histograms. @internal */
export const durationBoundaries: ReadonlyArray<number> = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300
]

/** The boundaries in milliseconds, as the pool measures. */
const boundariesMillis: ReadonlyArray<number> = durationBoundaries.map((seconds) => seconds * 1000)

/** The bucket of a duration in milliseconds: the first boundary it does not exceed. */
const bucketOf = (millis: number): number => {
  let index = 0
  while (index < boundariesMillis.length && millis > boundariesMillis[index]!) index++
  return index
}

/** `bucketOf` for whole milliseconds up to `tableMax`, looked up instead of searched. */
const tableMax = 1024
const bucketTable = Uint8Array.from({ length: tableMax + 1 }, (_, millis) => bucketOf(millis))

/**
 * A histogram accumulator with the state shape of Effect's histograms
 * (cumulative buckets). It counts in milliseconds and converts on read.
 *
 * Durations come in runs of equal values (on a millisecond clock most are 0,
 * and a burst of tasks parked together waits equally long), so the latest
 * value is held with a repeat count: a repeat is one comparison and one
 * increment, and the run is added to the buckets when the value changes or
 * the state is read.
 *
 * Invariant: `count` = observations folded into `counts` + `runLength`.
 *
 * @internal
 */
export class DurationHistogram {
  private readonly counts = new Uint32Array(durationBoundaries.length + 1)
  private folded = 0
  private sumMillis = 0
  private minMillis = Number.MAX_VALUE
  private maxMillis = -Number.MAX_VALUE
  /** the run being counted: `runLength` observations of `runValue` */
  private runValue = 0
  private runLength = 0

  /** Records a duration given in milliseconds. */
  observeMillis(millis: number): void {
    if (millis === this.runValue) {
      this.runLength++
      return
    }
    this.fold()
    this.runValue = millis
    this.runLength = 1
  }

  /** Adds the current run to the buckets. */
  private fold(): void {
    const n = this.runLength
    if (n === 0) return
    const millis = this.runValue
    const index = millis >= 0 && millis <= tableMax && (millis | 0) === millis ? bucketTable[millis]! : bucketOf(millis)
    this.counts[index]! += n
    this.folded += n
    this.sumMillis += millis * n
    if (millis < this.minMillis) this.minMillis = millis
    if (millis > this.maxMillis) this.maxMillis = millis
    this.runLength = 0
  }

  /** Observations so far. */
  get count(): number {
    return this.folded + this.runLength
  }

  state(): Metric.HistogramState {
    this.fold()
    const buckets: Array<[number, number]> = []
    let cumulated = 0
    for (let i = 0; i < durationBoundaries.length; i++) {
      cumulated += this.counts[i]!
      buckets.push([durationBoundaries[i]!, cumulated])
    }
    const empty = this.folded === 0
    return {
      buckets,
      count: this.folded,
      min: empty ? this.minMillis : this.minMillis / 1000,
      max: empty ? this.maxMillis : this.maxMillis / 1000,
      sum: this.sumMillis / 1000
    }
  }
}

/** The counters the pool keeps for metrics. @internal */
export interface MetricSource {
  readonly registered: number
  readonly running: number
  readonly parked: number
  readonly yielded: number
  readonly started: number
  readonly succeeded: number
  readonly failures: number
  readonly interrupted: number
  readonly parkedTime: DurationHistogram
  readonly runningTime: DurationHistogram
}

/** The metric definitions, shared by every service. @internal */
export const definitions = {
  registered: Metric.gauge("effect_task.tasks.registered", {
    description: "Tasks registered and not finished (parked, running or yielded)"
  }),
  running: Metric.gauge("effect_task.tasks.running", {
    description: "Task bodies holding a worker slot"
  }),
  parked: Metric.gauge("effect_task.tasks.parked", {
    description: "Tasks waiting for a worker slot (not started yet, or coming back from a yield or a re-run)"
  }),
  yielded: Metric.gauge("effect_task.tasks.yielded", {
    description: "Started tasks inside yieldSlot or yieldQuiescent, without a worker slot"
  }),
  started: Metric.counter("effect_task.tasks.started", {
    description: "Task bodies (and coalescer runs) started",
    incremental: true
  }),
  succeeded: Metric.counter("effect_task.tasks.succeeded", {
    description: "Task bodies (and coalescer runs) that succeeded",
    incremental: true
  }),
  failed: Metric.counter("effect_task.tasks.failed", {
    description: "Task bodies (and coalescer runs) that failed with a typed error or a defect",
    incremental: true
  }),
  interrupted: Metric.counter("effect_task.tasks.interrupted", {
    description: "Tasks interrupted (including tasks dropped unstarted at shutdown)",
    incremental: true
  }),
  parkedDuration: Metric.histogram("effect_task.task.parked.duration", {
    description: "Seconds a task waited for a worker slot before its body started",
    boundaries: durationBoundaries
  }),
  runningDuration: Metric.histogram("effect_task.task.running.duration", {
    description: "Seconds from a body's start to its end (coalescer: per run)",
    boundaries: durationBoundaries
  })
}

/**
 * Registers the pull-based series in the registry of `context`; returns their
 * removal.
 *
 * @internal
 */
export const register = (
  context: Context.Context<never>,
  source: MetricSource,
  attributes: Metric.Metric.Attributes | undefined
): () => void => {
  const registrations: Array<Metric.Registration> = []
  const add = <Input, State>(metric: Metric.Metric<Input, State>, get: () => State) => {
    registrations.push(
      Metric.registerUnsafe(attributes === undefined ? metric : Metric.withAttributes(metric, attributes), context, {
        get,
        update: () => {},
        modify: () => {}
      })
    )
  }
  add(definitions.registered, () => ({ value: source.registered }))
  add(definitions.running, () => ({ value: source.running }))
  add(definitions.parked, () => ({ value: source.parked }))
  add(definitions.yielded, () => ({ value: source.yielded }))
  add(definitions.started, () => ({ count: source.started, incremental: true }))
  add(definitions.succeeded, () => ({ count: source.succeeded, incremental: true }))
  add(definitions.failed, () => ({ count: source.failures, incremental: true }))
  add(definitions.interrupted, () => ({ count: source.interrupted, incremental: true }))
  add(definitions.parkedDuration, () => source.parkedTime.state())
  add(definitions.runningDuration, () => source.runningTime.state())
  return () => {
    for (const registration of registrations) registration.remove()
  }
}
