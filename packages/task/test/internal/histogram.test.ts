/**
 * How durations are counted (`internal/histogram.ts`): a histogram that
 * reads like Effect's own, bucket for bucket.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { DurationHistogram } from "../../src/internal/histogram.ts"

describe("DurationHistogram", () => {
  it.effect("repeated durations count like separate observations", () =>
    Effect.sync(() => {
      const histogram = new DurationHistogram()
      for (const millis of [0, 0, 0, 7, 7, 2_000, 0, 1, 1]) histogram.observeMillis(millis)
      assert.strictEqual(histogram.count, 9)
      const state = histogram.state()
      assert.strictEqual(state.count, 9)
      assert.strictEqual(state.min, 0)
      assert.strictEqual(state.max, 2)
      assert.strictEqual(state.sum, (7 + 7 + 2_000 + 1 + 1) / 1000)
      const bucket = (le: number) => state.buckets.find(([boundary]) => boundary === le)![1]
      assert.strictEqual(bucket(0.001), 6) // four 0 ms, two 1 ms
      assert.strictEqual(bucket(0.005), 6)
      assert.strictEqual(bucket(0.01), 8) // the two 7 ms
      assert.strictEqual(bucket(1), 8)
      assert.strictEqual(bucket(2.5), 9) // 2 s
      assert.strictEqual(bucket(300), 9)
    }))

  it.effect("fractional and large durations land in the buckets Effect's histogram would use", () =>
    Effect.sync(() => {
      const histogram = new DurationHistogram()
      for (const millis of [2.5, 2.6, 1024, 1025, 400_000]) histogram.observeMillis(millis)
      const state = histogram.state()
      const bucket = (le: number) => state.buckets.find(([boundary]) => boundary === le)![1]
      assert.strictEqual(bucket(0.0025), 1) // 2.5 ms is at the boundary
      assert.strictEqual(bucket(0.005), 2)
      assert.strictEqual(bucket(1), 2)
      assert.strictEqual(bucket(2.5), 4) // 1.024 s and 1.025 s
      assert.strictEqual(bucket(300), 4) // 400 s is above the last boundary
      assert.strictEqual(state.count, 5)
    }))

  it.effect("reading the state between repeats of one duration counts each observation once", () =>
    Effect.sync(() => {
      const histogram = new DurationHistogram()
      histogram.observeMillis(3)
      histogram.observeMillis(3)
      assert.strictEqual(histogram.state().count, 2)
      histogram.observeMillis(3)
      const state = histogram.state()
      assert.strictEqual(state.count, 3)
      assert.strictEqual(state.sum, 0.009)
      assert.strictEqual(state.buckets.find(([boundary]) => boundary === 0.005)![1], 3)
    }))

  it.effect("an empty histogram reads as Effect's empty histogram state", () =>
    Effect.sync(() => {
      const state = new DurationHistogram().state()
      assert.strictEqual(state.count, 0)
      assert.strictEqual(state.sum, 0)
      assert.isTrue(state.buckets.every(([, count]) => count === 0))
    }))
})
