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
import type { MetricSource } from "./metrics.ts"
import type { TaskPool } from "./pool.ts"

/** @internal */
export const metricSourceOf = (pool: TaskPool): MetricSource => ({
  get registered() {
    return pool.registered
  },
  get running() {
    return pool.admission.running
  },
  get parked() {
    return pool.admission.parked
  },
  get yielded() {
    return pool.yielded
  },
  get started() {
    return pool.accounting.started
  },
  get succeeded() {
    return pool.accounting.succeeded
  },
  get failed() {
    return pool.failed
  },
  get interrupted() {
    return pool.interruptedOutsideRuns + pool.accounting.interrupted
  },
  get parkedTime() {
    return pool.accounting.parkedTime
  },
  get runningTime() {
    return pool.accounting.runningTime
  }
})
