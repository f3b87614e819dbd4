/**
 * Metric plumbing for `TaskService`.
 *
 * The pool keeps plain counters and bucket arrays; they are registered with
 * Effect's `MetricRegistry` as pull-based series (`Metric.registerUnsafe`), so
 * an update on the hot path is an integer increment and a reader gets the
 * current value through the ordinary `Metric.value` / `Metric.snapshot` APIs.
 *
 * **Series per registry and name, not per service.** Services built in one
 * registry with the same name (or both without one) share one set of series,
 * an `Aggregate`:
 *
 * - gauges read the sum over the services of that name still running;
 * - counters and histograms read the totals of the running services plus
 *   the final values of the closed ones, folded into the aggregate when a
 *   service closes (`retire`). They never go back, across service lifetimes.
 *
 * A closing service does not remove its series: they stay registered, with
 * their final values, as long as the registry exists. An exporter that
 * flushes after the service shut down (the documented layering: the service
 * layer is provided inside the exporter's) therefore exports every series'
 * final values. A closed service's pool is dropped from the aggregate once
 * its totals are folded in, so memory per registry is bounded by the number of
 * distinct names, however many services come and go: name services from a
 * fixed set (a name per request would make a series per request). Aggregates
 * are keyed weakly by the registry's `Map`; they go away with it.
 *
 * Two unnamed services in one registry thus count together instead of
 * overwriting each other; give them names to tell them apart. The
 * `Metric.CurrentMetricAttributes` of the context a service is built in are
 * part of its series' identity too (Effect adds them to every series), so
 * services built under different attributes stay apart as well.
 *
 * @internal
 */
import * as Context from "effect/Context"
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

  /** Adds every observation of `other` to this histogram (`other` is unchanged). */
  add(other: DurationHistogram): void {
    this.fold()
    other.fold()
    const n = other.folded
    if (n === 0) return
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!
    this.folded += n
    this.sumMillis += other.sumMillis
    if (other.minMillis < this.minMillis) this.minMillis = other.minMillis
    if (other.maxMillis > this.maxMillis) this.maxMillis = other.maxMillis
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

/** The series of the services of one name (and context attributes) in one registry. */
class Aggregate {
  readonly live = new Set<MetricSource>()
  started = 0
  succeeded = 0
  failures = 0
  interrupted = 0
  readonly parkedTime = new DurationHistogram()
  readonly runningTime = new DurationHistogram()

  gauge(read: (source: MetricSource) => number): { value: number } {
    let value = 0
    for (const source of this.live) value += read(source)
    return { value }
  }

  counter(retired: number, read: (source: MetricSource) => number): { count: number; incremental: true } {
    let count = retired
    for (const source of this.live) count += read(source)
    return { count, incremental: true }
  }

  histogram(retired: DurationHistogram, read: (source: MetricSource) => DurationHistogram): Metric.HistogramState {
    if (this.live.size === 0) return retired.state()
    const combined = new DurationHistogram()
    combined.add(retired)
    for (const source of this.live) combined.add(read(source))
    return combined.state()
  }

  /** Folds a closing service's final values in and drops it. */
  retire(source: MetricSource): void {
    if (!this.live.delete(source)) return
    this.started += source.started
    this.succeeded += source.succeeded
    this.failures += source.failures
    this.interrupted += source.interrupted
    this.parkedTime.add(source.parkedTime)
    this.runningTime.add(source.runningTime)
  }
}

/** Per registry (weakly), per name and `CurrentMetricAttributes` (see `register`). */
const aggregates = new WeakMap<Metric.MetricRegistry, Map<string, Aggregate>>()

/** The attribute that carries a service's name on its series. */
const serviceAttribute = "effect_task.service"

/**
 * Adds a service's counters to the series of its name in the registry of
 * `context` (registering them, or registering them again if something removed
 * them); returns its retirement, which folds the service's final values into
 * the series and leaves them registered.
 *
 * @internal
 */
export const register = (
  context: Context.Context<never>,
  source: MetricSource,
  name: string | undefined
): () => void => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let byName = aggregates.get(registry)
  if (byName === undefined) {
    byName = new Map()
    aggregates.set(registry, byName)
  }
  // The identity of the series: the name and the context's metric
  // attributes, which Effect merges into every series' key as well.
  const scope = Context.get(context, Metric.CurrentMetricAttributes)
  const key = JSON.stringify([name ?? null, Object.entries(scope).toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))])
  let aggregate = byName.get(key)
  if (aggregate === undefined) {
    aggregate = new Aggregate()
    byName.set(key, aggregate)
  }
  const a = aggregate
  a.live.add(source)
  // Registering replaces a series of the same identity with hooks that read
  // the same aggregate: harmless when it is already there, and it brings the
  // series back if something (a test, `Metric.remove`) removed it meanwhile.
  const attributes = name === undefined ? undefined : { [serviceAttribute]: name }
  const add = <Input, State>(metric: Metric.Metric<Input, State>, get: () => State) => {
    Metric.registerUnsafe(attributes === undefined ? metric : Metric.withAttributes(metric, attributes), context, {
      get,
      update: () => {},
      modify: () => {}
    })
  }
  add(definitions.registered, () => a.gauge((s) => s.registered))
  add(definitions.running, () => a.gauge((s) => s.running))
  add(definitions.parked, () => a.gauge((s) => s.parked))
  add(definitions.yielded, () => a.gauge((s) => s.yielded))
  add(definitions.started, () => a.counter(a.started, (s) => s.started))
  add(definitions.succeeded, () => a.counter(a.succeeded, (s) => s.succeeded))
  add(definitions.failed, () => a.counter(a.failures, (s) => s.failures))
  add(definitions.interrupted, () => a.counter(a.interrupted, (s) => s.interrupted))
  add(definitions.parkedDuration, () => a.histogram(a.parkedTime, (s) => s.parkedTime))
  add(definitions.runningDuration, () => a.histogram(a.runningTime, (s) => s.runningTime))
  return () => a.retire(source)
}

/**
 * For tests: how many services of `name` are still counted live in the
 * registry of `context` (closed ones must have been dropped).
 *
 * @internal
 */
export const liveServices = (context: Context.Context<never>, name: string | undefined): number => {
  let live = 0
  for (const [key, aggregate] of aggregates.get(Context.get(context, Metric.MetricRegistry)) ?? []) {
    if (JSON.parse(key)[0] === (name ?? null)) live += aggregate.live.size
  }
  return live
}
