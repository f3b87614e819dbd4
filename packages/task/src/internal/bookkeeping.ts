/**
 * Whether this build keeps the per-task bookkeeping behind `snapshot` times,
 * the metrics and the spans: clock readings, duration histograms, the
 * counts of started runs and of their outcomes, and the span check (failures,
 * and interruptions outside a running body, are counted either way).
 *
 * Always `true` in the package. The benchmark compiles a second copy of these
 * sources with `false` (see `packages/bench/scripts/build-baseline.mjs`): the
 * build without bookkeeping, against which it measures what the bookkeeping
 * costs. Nothing else reads it.
 *
 * @internal
 */
export const enabled: boolean = true
