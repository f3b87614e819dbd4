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
import { durationBoundaries, DurationHistogram } from "./histogram.ts"

/** The counters the pool keeps for metrics. @internal */
export interface MetricSource {
  readonly registered: number
  readonly running: number
  readonly parked: number
  readonly yielded: number
  readonly started: number
  readonly succeeded: number
  readonly failed: number
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
  failed = 0
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
    this.failed += source.failed
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
  add(definitions.failed, () => a.counter(a.failed, (s) => s.failed))
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
