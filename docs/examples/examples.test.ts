/**
 * Runs every example of the docs. Each example asserts its own output; the
 * tests here run them (under `TestClock` unless noted) and check what they
 * return.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as CoalescerBasics from "./coalescer-basics.ts"
import * as CoalescerCancel from "./coalescer-cancel.ts"
import * as CoalescerFairness from "./coalescer-fairness.ts"
import * as CoalescerGuarantee from "./coalescer-guarantee.ts"
import * as CoalescerKeys from "./coalescer-keys.ts"
import * as CoalescerResync from "./coalescer-resync.ts"
import * as CoalescerRetry from "./coalescer-retry.ts"
import * as LimitersErrors from "./limiters-errors.ts"
import * as LimitersIdle from "./limiters-idle.ts"
import * as LimitersLimit from "./limiters-limit.ts"
import * as LimitersRun from "./limiters-run.ts"
import * as MigratingFromGo from "./migrating-from-go.ts"
import * as ObservabilityExactClock from "./observability-exact-clock.ts"
import * as ObservabilityMetrics from "./observability-metrics.ts"
import * as ObservabilityStuck from "./observability-stuck.ts"
import * as ObservabilityTracing from "./observability-tracing.ts"
import * as QuiescenceChurn from "./quiescence-churn.ts"
import * as QuiescenceHandoff from "./quiescence-handoff.ts"
import * as QuiescenceStartupHold from "./quiescence-startup-hold.ts"
import * as QuiescenceThresholds from "./quiescence-thresholds.ts"
import * as QuiescenceYield from "./quiescence-yield.ts"
import * as ReadmeUsage from "./readme-usage.ts"
import * as ScalingCluster from "./scaling-cluster.ts"
import * as TaskServiceBasics from "./task-service-basics.ts"
import * as TaskServiceContext from "./task-service-context.ts"
import * as TaskServiceFailures from "./task-service-failures.ts"
import * as TaskServiceLayers from "./task-service-layers.ts"
import * as TaskServiceShutdown from "./task-service-shutdown.ts"
import * as TaskServiceSnapshot from "./task-service-snapshot.ts"

describe("README.md", () => {
  it.effect("usage", () => ReadmeUsage.program)
})

describe("docs/task-service.md", () => {
  it.effect("basics: bound, go, counting", () =>
    Effect.map(TaskServiceBasics.program, (highWater) => assert.strictEqual(highWater, 2)))
  it.effect("layers and their bounds", () => TaskServiceLayers.program)
  it.effect("failures and their log line", () => TaskServiceFailures.program)
  it.effect("shutdown with the layer's scope", () => TaskServiceShutdown.program)
  it.effect("context and span inheritance", () => TaskServiceContext.program)
  it.effect("snapshot, resize, workers", () => TaskServiceSnapshot.program)
})

describe("docs/quiescence.md", () => {
  it.effect("thresholds inside and outside a task", () => QuiescenceThresholds.program)
  it.effect("hand-off rule", () => QuiescenceHandoff.program)
  it.effect("startup hold", () => QuiescenceStartupHold.program)
  it.effect("yieldQuiescent and yieldSlot", () => QuiescenceYield.program)
  it.effect("churn gotcha", () => QuiescenceChurn.program)
})

describe("docs/coalescer.md", () => {
  it.effect("collapse and re-run", () => CoalescerBasics.program)
  it.effect("guarantee", () => CoalescerGuarantee.program)
  it.effect("Equal keys", () => CoalescerKeys.program)
  it.effect("fair re-runs", () => CoalescerFairness.program)
  it.effect("recipe: retry with backoff", () => CoalescerRetry.program)
  it.effect("recipe: periodic resync with submitAfter", () => CoalescerResync.program)
  it.effect("recipe: cancel on delete", () => CoalescerCancel.program)
})

describe("docs/observability.md", () => {
  it.effect("stuck run snapshot", () =>
    Effect.map(ObservabilityStuck.program, (snapshot) => assert.strictEqual(snapshot.length, 3)))
  it.effect("metrics", () => ObservabilityMetrics.program)
  // live clock on purpose: the example is about reading the real clock (a 20 ms busy wait)
  it.live("exact times on the live clock with a clock of its own", () => ObservabilityExactClock.program)
  it.effect("tracing", () => ObservabilityTracing.program)
  // the OTLP examples run against a local receiver in observability-otlp.test.ts
})

describe("docs/migrating-from-go.md", () => {
  it.effect("depwait orchestrator", () =>
    Effect.map(MigratingFromGo.program, (stuck) => assert.deepStrictEqual(stuck, ["monitoring"])))
})

describe("docs/migrating-from-promise-limiters.md", () => {
  it.effect("limit concurrency", () => LimitersLimit.program)
  it.effect("results with run", () => LimitersRun.program)
  it.effect("waits and counts", () => LimitersIdle.program)
  it.effect("errors", () => LimitersErrors.program)
})

describe("docs/scaling.md", () => {
  // live: effect's in-memory cluster polls on the real clock
  it.live("a coalesced entity on TestRunner", () => ScalingCluster.program)
})
