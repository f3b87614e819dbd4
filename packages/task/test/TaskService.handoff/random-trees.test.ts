/**
 * Seeded random hand-off trees against the exact quiescence rule.
 *
 * A tree of tasks: the root runs at once; every other node waits inside
 * `yieldQuiescent` for a link its parent fires, with a random kind of
 * wake-up, runs a random continuation there (and may register a helper task
 * from inside the region), then fires its children's links. In half of the
 * trees one random edge never fires, so its subtree is a truly missing
 * dependency.
 *
 * `awaitQuiescence(0)` must complete (liveness) and, when it does, exactly the
 * nodes outside the blocked subtree (and their helpers) have finished: one
 * finished node too few is a false quiescence.
 *
 * Replay: every failure prints its seed; `QUIESCENCE_SEED=<seed>` runs the
 * trees from that seed, `QUIESCENCE_TREES=<n>` sets how many.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TaskService } from "effect-task"
import { continuations, type Link, type LinkKind, linkKinds, random } from "../helpers/handoff.ts"
import { settle, yieldTimes } from "../helpers/waits.ts"

const kinds = Object.keys(linkKinds) as Array<LinkKind>
const continuationList = [
  ...Object.values(continuations),
  yieldTimes(1),
  yieldTimes(7)
]

interface Tree {
  readonly parent: ReadonlyArray<number>
  readonly kind: ReadonlyArray<LinkKind>
  readonly continuation: ReadonlyArray<Effect.Effect<void>>
  readonly helper: ReadonlyArray<boolean>
  /** the node whose incoming edge never fires, or -1 */
  readonly blocked: number
}

const makeTree = (seed: number): Tree => {
  const rng = random(seed)
  const size = 2 + rng.int(14)
  const parent = [-1]
  for (let i = 1; i < size; i++) parent.push(rng.int(i))
  return {
    parent,
    kind: parent.map(() => rng.pick(kinds)),
    continuation: parent.map(() => rng.pick(continuationList)),
    helper: parent.map(() => rng.next() < 0.2),
    blocked: rng.next() < 0.5 ? 1 + rng.int(size - 1) : -1
  }
}

/** Nodes that finish: all but the blocked node's subtree. Helpers count as nodes. */
const expectedFinished = (tree: Tree): number => {
  const cut: Array<boolean> = []
  let finished = 0
  for (let i = 0; i < tree.parent.length; i++) {
    cut[i] = i === tree.blocked || (i > 0 && cut[tree.parent[i]!]!)
    if (!cut[i]) finished += tree.helper[i] ? 2 : 1
  }
  return finished
}

const runTree = (seed: number) =>
  Effect.gen(function*() {
    const tree = makeTree(seed)
    const tasks = yield* TaskService
    const links: Array<Link> = []
    for (let i = 0; i < tree.parent.length; i++) links.push(yield* linkKinds[tree.kind[i]!])
    let finished = 0
    const done = Effect.sync(() => void finished++)
    const fireChildren = Effect.suspend(() =>
      Effect.forEach(
        tree.parent.flatMap((p, child) => (p === currentNode.value && child !== tree.blocked ? [child] : [])),
        (child) => links[child]!.fire,
        { discard: true }
      )
    )
    const currentNode = { value: -1 }
    const body = (i: number): Effect.Effect<void> => {
      const helper = tree.helper[i]
        ? tasks.go(`helper ${i}`, Effect.andThen(yieldTimes(2), done))
        : Effect.void
      const fire = Effect.suspend(() => {
        currentNode.value = i
        return fireChildren
      })
      if (i === 0) return Effect.andThen(helper, fire).pipe(Effect.andThen(done))
      return tasks.yieldQuiescent(
        links[i]!.wait.pipe(Effect.andThen(tree.continuation[i]!), Effect.andThen(helper))
      ).pipe(Effect.andThen(fire), Effect.andThen(done))
    }
    // dependents first, so most waits are in place before the root fires
    for (let i = tree.parent.length - 1; i >= 0; i--) yield* tasks.go(`node ${i}`, body(i))
    yield* tasks.awaitQuiescence(0).pipe(
      Effect.timeoutOrElse({
        duration: "10 seconds",
        orElse: () => Effect.die(`seed ${seed}: awaitQuiescence(0) never completed (finished ${finished})`)
      })
    )
    const expected = expectedFinished(tree)
    assert.strictEqual(
      finished,
      expected,
      `seed ${seed}: awaitQuiescence(0) completed with ${finished} of ${expected} finished`
    )
    yield* settle // nothing more may finish
    assert.strictEqual(finished, expected, `seed ${seed}: a task ran after quiescence`)
  }).pipe(Effect.provide(Layer.fresh(TaskService.layerUnbounded)))

const baseSeed = Number(process.env["QUIESCENCE_SEED"] ?? Math.floor(Math.random() * 2 ** 31))
const trees = Number(process.env["QUIESCENCE_TREES"] ?? 2000)

describe("hand-off: random trees", () => {
  it.live(
    `${trees} seeded trees from seed ${baseSeed}: no early completion, and a missing dependency is decided`,
    () =>
      Effect.gen(function*() {
        for (let i = 0; i < trees; i++) yield* runTree(baseSeed + i)
      }),
    120_000
  )
})
