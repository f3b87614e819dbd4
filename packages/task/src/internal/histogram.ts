/**
 * The duration histograms behind `effect_task.task.parked.duration` and
 * `effect_task.task.running.duration`: plain bucket arrays the pool updates on
 * its hot path, read in the state shape of Effect's histograms.
 *
 * Invariant: `count` = observations folded into `counts` + `runLength`;
 * `counts` are per bucket (not cumulative) until `state()` sums them.
 *
 * @internal
 */
import type * as Metric from "effect/Metric"

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
