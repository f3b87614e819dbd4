/**
 * What the metric series read of a pool (`metrics.ts` `MetricSource`): the
 * pool's counters, its admission's slots and queue, and its accounting's run
 * counts and histograms, read at the moment a series is read.
 *
 * Invariant: every value is read through, never copied: a reader sees the
 * pool as it is at the read.
 *
 * @internal
 */
import type { DurationHistogram } from "./histogram.ts"
import type { MetricSource } from "./metrics.ts"
import type { TaskPool } from "./pool.ts"

/** The pool's readings, on the prototype (an object literal of getters would be built anew per service). */
class PoolMetricSource implements MetricSource {
  private readonly pool: TaskPool

  constructor(pool: TaskPool) {
    this.pool = pool
  }

  get registered(): number {
    return this.pool.registered
  }
  get running(): number {
    return this.pool.admission.running
  }
  get parked(): number {
    return this.pool.admission.parked
  }
  get yielded(): number {
    return this.pool.yielded
  }
  get started(): number {
    return this.pool.accounting.started
  }
  get succeeded(): number {
    return this.pool.accounting.succeeded
  }
  get failed(): number {
    return this.pool.failed
  }
  get interrupted(): number {
    return this.pool.interruptedOutsideRuns + this.pool.accounting.interrupted
  }
  get parkedTime(): DurationHistogram {
    return this.pool.accounting.parkedTime
  }
  get runningTime(): DurationHistogram {
    return this.pool.accounting.runningTime
  }
}

/** @internal */
export const metricSourceOf = (pool: TaskPool): MetricSource => new PoolMetricSource(pool)
