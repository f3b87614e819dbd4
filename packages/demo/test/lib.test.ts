/**
 * Tests of the demo's modules used as a library: the pure pieces (the
 * stuck-wait decision, graphs, arguments, the report, reading YAML) and
 * `reconcile` called directly (on the live clock: it does real I/O). The
 * build of clusters is in `build.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseCli, parseDuration } from "../src/args.ts"
import { decideStuck, inherit, suspendedOutcome } from "../src/decide.ts"
import { findCycles, showCycle, withDependents } from "../src/graph.ts"
import { parseYamlFile } from "../src/load.ts"
import { objectKey } from "../src/model.ts"
import { reconcile } from "../src/reconcile.ts"
import { printSnapshot, useColor } from "../src/report.ts"
import { docs, object, totals, tree } from "./helpers.ts"

const k = (id: string) => objectKey(".", id)
const a = (id: string) => objectKey("clusters/a", id)
const b = (id: string) => objectKey("clusters/b", id)

describe("decideStuck (the stuck-wait decision, pure)", () => {
  it("a waiter on a dependency that does not exist is missing-dependency, with did-you-mean", () => {
    const verdicts = decideStuck({
      waiters: new Map([[k("HelmRelease/apps/billing"), [k("HelmRelease/db/postgress")]]]),
      existing: new Set([k("HelmRelease/apps/billing"), k("HelmRelease/db/postgres"), k("Kustomization/db/postgress")]),
      force: false,
      depTimeoutMs: 10
    })
    assert.deepStrictEqual([...verdicts], [[k("HelmRelease/apps/billing"), {
      status: "missing-dependency",
      reason: "dependency HelmRelease/db/postgress (did you mean HelmRelease/db/postgres?) does not exist",
      root: "missing dependency HelmRelease/db/postgress"
    }]])
  })

  it("members of a cycle are cycle; a waiter on the cycle is left to inherit; waits on a missing root too", () => {
    const verdicts = decideStuck({
      waiters: new Map([
        [k("a"), [k("b")]],
        [k("b"), [k("a")]],
        [k("watcher"), [k("a")]],
        [k("lost"), [k("gone")]],
        [k("behind-lost"), [k("lost")]]
      ]),
      existing: new Set(["a", "b", "watcher", "lost", "behind-lost"].map(k)),
      force: false,
      depTimeoutMs: 10
    })
    assert.deepStrictEqual([...verdicts.keys()].toSorted(), [k("a"), k("b"), k("lost")])
    assert.strictEqual(verdicts.get(k("a"))!.reason, "cycle a → b → a")
    assert.strictEqual(verdicts.get(k("lost"))!.status, "missing-dependency")
  })

  it("with force (the cap fired) a wait on something that never finished fails", () => {
    const verdicts = decideStuck({
      waiters: new Map([[k("x"), [k("running")]], [k("y"), [k("x")]]]),
      existing: new Set(["x", "y", "running"].map(k)),
      force: true,
      depTimeoutMs: 100
    })
    assert.deepStrictEqual([...verdicts], [[k("x"), {
      status: "failed",
      reason: "gave up after 100 ms waiting for running",
      root: null
    }]])
    assert.strictEqual(
      decideStuck({ waiters: new Map([[k("x"), [k("running")]]]), existing: new Set(), force: false, depTimeoutMs: 1 })
        .get(k("x"))?.status,
      "missing-dependency"
    )
  })

  it("keys of different clusters never meet: a dependency exists only in its own cluster", () => {
    const verdicts = decideStuck({
      waiters: new Map([[a("HelmRelease/x/app"), [a("HelmRelease/x/db")]]]),
      existing: new Set([a("HelmRelease/x/app"), b("HelmRelease/x/db")]),
      force: false,
      depTimeoutMs: 1
    })
    assert.strictEqual(verdicts.get(a("HelmRelease/x/app"))!.reason, "dependency HelmRelease/x/db does not exist")
  })

  it("a dependent inherits the status of the root cause", () => {
    assert.deepStrictEqual(inherit("x", { status: "failed", reason: "boom", root: null }), {
      status: "failed",
      reason: "dependency x failed",
      root: null
    })
    assert.deepStrictEqual(inherit("x", { status: "cycle", reason: "cycle a → b → a", root: "cycle a → b → a" }), {
      status: "cycle",
      reason: "waits on cycle a → b → a via x",
      root: "cycle a → b → a"
    })
    assert.strictEqual(inherit("x", suspendedOutcome("x")).reason, "dependency x is suspended")
    assert.strictEqual(inherit("y", inherit("x", suspendedOutcome("x"))).reason, "waits on suspended x via y")
  })
})

describe("graph", () => {
  it("finds the cycles of a wait-for graph, members in wait order", () => {
    const graph = new Map<string, ReadonlyArray<string>>([
      ["c", ["a"]],
      ["a", ["b"]],
      ["b", ["c"]],
      ["x", ["b"]],
      ["self", ["self"]],
      ["y", ["gone"]]
    ])
    const cycles = findCycles(graph)
    assert.deepStrictEqual(cycles, [["a", "b", "c"], ["self"]])
    assert.strictEqual(showCycle(cycles[0]!), "a → b → c → a")
    assert.deepStrictEqual([...withDependents(["a"], new Map([["b", ["a"]], ["c", ["b"]], ["d", []]]))].toSorted(), [
      "a",
      "b",
      "c"
    ])
  })
})

describe("args and report", () => {
  it("parses durations and options; errors name the argument and the value", () => {
    assert.strictEqual(parseDuration("250"), 250)
    assert.strictEqual(parseDuration("1.5s"), 1500)
    assert.strictEqual(parseDuration("soon"), undefined)
    const parsed = parseCli(["dir", "--workers", "3", "--dep-timeout", "2s", "--json", "--all", "--strict"])
    assert(parsed._tag === "Ok")
    assert.deepStrictEqual([parsed.options.dir, parsed.options.workers, parsed.options.depTimeoutMs], ["dir", 3, 2000])
    assert.isTrue(parsed.options.json && parsed.options.all && parsed.options.strict)
    const bad = parseCli(["--latency", "fast"])
    assert(bad._tag === "Error")
    assert.strictEqual(bad.message, `--latency: expected a duration like 5, 5ms or 2s, got "fast"`)
    assert.deepStrictEqual(parseCli(["a", "b"]), { _tag: "Error", message: `dir: expected at most one, got "a", "b"` })
    const negative = parseCli(["--workers", "-1"])
    assert(negative._tag === "Error")
    assert.include(negative.message, `--workers: got "-1"`)
  })

  it("colours only on a terminal without NO_COLOR", () => {
    assert.isTrue(useColor(true, {}))
    assert.isFalse(useColor(true, { NO_COLOR: "1" }))
    assert.isTrue(useColor(true, { NO_COLOR: "" }))
    assert.isFalse(useColor(false, {}))
  })

  it("the SIGUSR2 snapshot lists every task with its state and what a waiting reconcile waits on", () => {
    const text = printSnapshot(
      [
        {
          id: 1,
          name: "reconcile . HelmRelease/apps/web",
          state: "yielded-quiescent",
          registeredAt: 1000,
          stateSince: 1500,
          key: "k"
        },
        { id: 3, name: "adhoc", state: "parked", registeredAt: 3000, stateSince: 3000 }
      ],
      (key) => (key === "k" ? ["HelmRelease/apps/api"] : []),
      4000
    )
    assert.strictEqual(
      text,
      [
        "snapshot: 2 registered task(s)",
        "  #1     yielded-quiescent      2.5s  reconcile . HelmRelease/apps/web  waits on HelmRelease/apps/api",
        "  #3     parked                 1.0s  adhoc",
        ""
      ].join("\n")
    )
  })
})

describe("load", () => {
  it("records document lines; a malformed file is a problem with its line", () => {
    const { docs: parsed } = parseYamlFile(
      "/x.yaml",
      docs(object("Kustomization", "one"), object("HelmRelease", "two"))
    )
    assert.deepStrictEqual(parsed.map((d) => d.line), [1, 6])
    const broken = parseYamlFile("/b.yaml", "a: [1, 2\nb: 3\n")
    assert.strictEqual(broken.problems[0]!.kind, "yaml-error")
    assert.isNumber(broken.problems[0]!.line)
  })
})

describe("reconcile (library)", () => {
  it.live("returns the summary of a run; progress counts come from the service and the orchestrator", () =>
    Effect.gen(function*() {
      const dir = tree({
        "a.yaml": docs(
          object("HelmRelease", "a"),
          object("HelmRelease", "b", { dependsOn: ["a"] }),
          object("HelmRelease", "c", { dependsOn: ["typo"] }),
          object("HelmRelease", "d")
        )
      })
      const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-lib-"))
      const seen: Array<{ running: number; rendering: number; waiting: number; registered: number }> = []
      const summary = yield* reconcile({ dir, outDir, workers: 1, latencyMs: 30, onProgress: (p) => seen.push(p) })
      assert.strictEqual(summary.workers, 1)
      assert.deepStrictEqual(summary.totals, totals({ ready: 3, "missing-dependency": 1 }))
      assert.isFalse(summary.ok)
      assert.isTrue(fs.existsSync(path.join(outDir, "default", "helmrelease-b.yaml")))
      // renders give their slot back: they are counted as rendering, never as running beyond the bound
      assert.isTrue(seen.every((p) => p.running <= 1), JSON.stringify(seen))
      assert.isTrue(seen.some((p) => p.rendering > 0))
      assert.isTrue(seen.some((p) => p.waiting > 0))
      assert.isTrue(seen.some((p) => p.registered > 0))
    }))

  it.live("fails with DirUnreadable on a missing dir", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(reconcile({ dir: "/no/such/dir/anywhere" }))
      assert.strictEqual(error._tag, "DirUnreadable")
    }))
})
