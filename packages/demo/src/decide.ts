/**
 * The verdicts of waits that can never complete, pure. When the pool is
 * quiescent every reconcile still waiting waits on something no task will
 * produce: {@link decideStuck} gives the root causes their verdicts — a
 * dependency that does not exist (`missing-dependency`, with a "did you
 * mean" for a near miss of the same kind), the members of each cycle of the
 * wait-for graph (`cycle`) and, once the `--dep-timeout` cap fired, waits on
 * something that never finished (`failed`). The dependents of a decided
 * object then wake up and take {@link inherit}'s verdict.
 */
import { didYouMean } from "./flux.ts"
import { findCycles, showCycle } from "./graph.ts"
import { keyId, type Outcome } from "./model.ts"

/**
 * The verdict of an object whose dependency `dep` ended with `outcome`
 * (not ready). A dependent inherits the status of the root cause:
 * - `failed` → `failed`, "dependency X failed"
 * - `missing-dependency` → `missing-dependency`, "waits on missing dependency Y via X"
 * - `cycle` → `cycle`, "waits on cycle a → b → a via X" (only members have a reason starting with "cycle")
 * - `suspended` → `suspended`, "dependency X is suspended", or "waits on suspended Y via X"
 */
export const inherit = (dep: string, outcome: Outcome): Outcome => {
  if (outcome.status === "failed" || outcome.root === null) {
    return { status: "failed", reason: `dependency ${dep} failed`, root: null }
  }
  if (outcome.status === "suspended" && outcome.root === `suspended ${dep}`) {
    return { status: "suspended", reason: `dependency ${dep} is suspended`, root: outcome.root }
  }
  return { status: outcome.status, reason: `waits on ${outcome.root} via ${dep}`, root: outcome.root }
}

/** The verdict of a suspended object; its dependents wait on it and inherit it. */
export const suspendedOutcome = (id: string): Outcome => ({
  status: "suspended",
  reason: "spec.suspend is true: not reconciled",
  root: `suspended ${id}`
})

/** What the decision needs to know. Keys are object keys (cluster and id); reasons show ids. */
export interface StuckWaits {
  /** each undecided waiter and the dependencies it still waits on (keys) */
  readonly waiters: ReadonlyMap<string, ReadonlyArray<string>>
  /** the keys of the objects that exist */
  readonly existing: ReadonlySet<string>
  /** the timeout cap fired: also fail waits on something that is not itself waiting */
  readonly force: boolean
  readonly depTimeoutMs: number
}

const clusterOf = (key: string): string => key.slice(0, key.lastIndexOf("\t"))

/** The reason of missing dependencies, with a suggestion when an object of the same kind is one edit away. */
export const missingReason = (missing: ReadonlyArray<string>, existing: ReadonlySet<string>): string => {
  const text = (key: string) => {
    const cluster = clusterOf(key)
    const ids = [...existing].filter((k) => clusterOf(k) === cluster).map(keyId)
    const close = didYouMean(keyId(key), ids)
    return close === undefined ? keyId(key) : `${keyId(key)} (did you mean ${close}?)`
  }
  return missing.length === 1
    ? `dependency ${text(missing[0]!)} does not exist`
    : `dependencies ${missing.map(text).join(", ")} do not exist`
}

/** The verdicts of the stuck waiters that are root causes, by key. */
export const decideStuck = (input: StuckWaits): Map<string, Outcome> => {
  const verdicts = new Map<string, Outcome>()
  for (const [key, deps] of input.waiters) {
    const missing = deps.filter((dep) => !input.existing.has(dep))
    if (missing.length === 0) continue
    verdicts.set(key, {
      status: "missing-dependency",
      reason: missingReason(missing, input.existing),
      root: `missing dependency ${keyId(missing[0]!)}`
    })
  }
  const graph = new Map<string, ReadonlyArray<string>>()
  for (const [key, deps] of input.waiters) {
    if (!verdicts.has(key)) graph.set(key, deps.filter((dep) => input.waiters.has(dep) && !verdicts.has(dep)))
  }
  for (const cycle of findCycles(graph)) {
    const text = `cycle ${showCycle(cycle.map(keyId))}`
    for (const key of cycle) verdicts.set(key, { status: "cycle", reason: text, root: text })
  }
  if (input.force) {
    for (const [key, deps] of input.waiters) {
      if (verdicts.has(key) || deps.length === 0 || deps.some((dep) => input.waiters.has(dep))) continue
      verdicts.set(key, {
        status: "failed",
        reason: `gave up after ${input.depTimeoutMs} ms waiting for ${deps.map(keyId).join(", ")}`,
        root: null
      })
    }
  }
  return verdicts
}
