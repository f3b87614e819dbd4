/**
 * The expected verdicts of generated trees, computed from the generator's own
 * spec with plain graph walks (not the demo's code). The rules are the
 * README's: a suspended object is `suspended`; its dependents and those of a
 * failed render are decided before the pool is quiescent, so they inherit
 * `suspended` / `failed` whatever else they wait on; what is still waiting at
 * quiescence is `missing-dependency` when it names a dependency that does not
 * exist, `cycle` when it is on a cycle of the remaining waiters, and
 * otherwise inherits from what it waits on. When an object waits on several
 * root causes of different kinds, the first to be decided wins: the oracle
 * then allows each of them.
 */
import type { Status } from "../src/model.ts"

/** One object of one cluster, as the generator meant it. */
export interface Meant {
  readonly id: string
  /** ids */
  readonly deps: ReadonlyArray<string>
  readonly suspend: boolean
  readonly failRender: boolean
}

export interface Expectation {
  /** the statuses the object may have (one, unless it waits on root causes of different kinds) */
  readonly allowed: ReadonlySet<Status>
  /** a root cause (its reason says so), not an inheritor */
  readonly root: boolean
}

const union = (sets: Iterable<ReadonlySet<Status>>): Set<Status> => {
  const out = new Set<Status>()
  for (const s of sets) for (const x of s) out.add(x)
  return out
}

/** Propagates statuses to `open` objects from their deps until nothing changes. */
const inherit = (
  objects: ReadonlyArray<Meant>,
  open: ReadonlySet<string>,
  known: Map<string, Set<Status>>
): void => {
  for (let changed = true; changed;) {
    changed = false
    for (const o of objects) {
      if (!open.has(o.id)) continue
      const from = union(o.deps.map((d) => known.get(d) ?? new Set<Status>()).filter((s) => !s.has("ready")))
      const before = known.get(o.id)?.size ?? 0
      if (from.size > before) {
        known.set(o.id, from)
        changed = true
      }
    }
  }
}

/** The expected verdict of every object of one cluster. */
export const expectCluster = (objects: ReadonlyArray<Meant>): Map<string, Expectation> => {
  const byId = new Map(objects.map((o) => [o.id, o]))
  const known = new Map<string, Set<Status>>()
  const roots = new Set<string>()
  // ready: not suspended, no failing render, every dependency exists and is ready
  const ready = new Set<string>()
  for (let changed = true; changed;) {
    changed = false
    for (const o of objects) {
      if (ready.has(o.id) || o.suspend || o.failRender) continue
      if (o.deps.every((d) => ready.has(d))) {
        ready.add(o.id)
        changed = true
      }
    }
  }
  for (const id of ready) known.set(id, new Set(["ready"]))
  // before quiescence: suspended objects, failed renders (dependencies ready), and their dependents
  for (const o of objects) {
    if (o.suspend) known.set(o.id, new Set(["suspended"]))
    else if (o.failRender && o.deps.every((d) => ready.has(d))) known.set(o.id, new Set(["failed"]))
    else continue
    roots.add(o.id)
  }
  const rest = new Set(objects.filter((o) => !known.has(o.id)).map((o) => o.id))
  inherit(objects, rest, known)
  // at quiescence: the waiters left
  const stuck = objects.filter((o) => !known.has(o.id))
  for (const o of stuck) {
    if (o.deps.some((d) => !byId.has(d))) {
      known.set(o.id, new Set(["missing-dependency"]))
      roots.add(o.id)
    }
  }
  const graph = new Map(
    stuck.filter((o) => !known.has(o.id)).map((o) => [o.id, o.deps.filter((d) => byId.has(d) && !known.has(d))])
  )
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>()
    const todo = [...(graph.get(from) ?? [])]
    while (todo.length > 0) {
      const id = todo.pop()!
      if (id === to) return true
      if (seen.has(id)) continue
      seen.add(id)
      todo.push(...(graph.get(id) ?? []))
    }
    return false
  }
  for (const id of graph.keys()) {
    if (reaches(id, id)) roots.add(id)
  }
  for (const id of graph.keys()) if (roots.has(id)) known.set(id, new Set(["cycle"]))
  inherit(objects, new Set(stuck.map((o) => o.id).filter((id) => !roots.has(id))), known)
  return new Map(
    objects.map((o) => [o.id, { allowed: known.get(o.id) ?? new Set(), root: roots.has(o.id) }])
  )
}

/** Edit distance, for the expected "did you mean". */
const distance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
  }
  return d[a.length]![b.length]!
}

/** The existing id of the same kind one edit away from `missing` (the first in sorted order), if any. */
export const suggestion = (missing: string, ids: Iterable<string>): string | undefined => {
  const kind = missing.split("/")[0]
  return [...ids].filter((id) => id.split("/")[0] === kind && distance(id, missing) === 1).toSorted()[0]
}
