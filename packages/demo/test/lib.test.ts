/**
 * Tests of the demo's modules used as a library: the pure helpers, and
 * `reconcile` called directly (on the live clock: it does real I/O).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseCli, parseDuration } from "../src/args.ts"
import { findCycles, showCycle, withDependents } from "../src/graph.ts"
import { parseYamlFile } from "../src/load.ts"
import { inherit, reconcile } from "../src/reconcile.ts"
import { printSnapshot } from "../src/report.ts"
import { docs, object, tree } from "./helpers.ts"

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
  })

  it("collects transitive dependents", () => {
    const dependsOn = new Map([["b", ["a"]], ["c", ["b"]], ["d", []]])
    assert.deepStrictEqual([...withDependents(["a"], dependsOn)].toSorted(), ["a", "b", "c"])
  })
})

describe("verdicts", () => {
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
  })
})

describe("args", () => {
  it("parses durations and options", () => {
    assert.strictEqual(parseDuration("250"), 250)
    assert.strictEqual(parseDuration("1.5s"), 1500)
    assert.strictEqual(parseDuration("20ms"), 20)
    assert.strictEqual(parseDuration("soon"), undefined)
    const parsed = parseCli(["dir", "--workers", "3", "--dep-timeout", "2s", "--json"])
    assert(parsed._tag === "Ok")
    assert.strictEqual(parsed.options.dir, "dir")
    assert.strictEqual(parsed.options.workers, 3)
    assert.strictEqual(parsed.options.depTimeoutMs, 2000)
    assert.isTrue(parsed.options.json)
    assert.strictEqual(parseCli(["--latency", "fast"])._tag, "Error")
    assert.strictEqual(parseCli(["a", "b"])._tag, "Error")
  })
})

describe("load", () => {
  it("defaults namespaces as Flux does and records document lines", () => {
    const text = docs(
      object("Kustomization", "one", { namespace: "ns" }),
      object("HelmRelease", "two", { namespace: "ns", dependsOn: ["one", { name: "z", namespace: "other" }] })
    )
    const { objects, problems } = parseYamlFile("/x.yaml", text)
    assert.deepStrictEqual(problems, [])
    assert.deepStrictEqual(objects.map((o) => [o.id, o.line, o.dependsOn]), [
      ["ns/one", 1, []],
      ["ns/two", 6, ["ns/one", "other/z"]]
    ])
  })
})

describe("reconcile (library)", () => {
  it.live("returns the summary of a run", () =>
    Effect.gen(function*() {
      const dir = tree({
        "a.yaml": docs(
          object("Kustomization", "a"),
          object("Kustomization", "b", { dependsOn: ["a"] }),
          object("Kustomization", "c", { dependsOn: ["typo"] })
        )
      })
      const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-lib-"))
      const summary = yield* reconcile({ dir, outDir, workers: 2, latencyMs: 1 })
      assert.strictEqual(summary.workers, 2)
      assert.strictEqual(summary.decidedBy, "quiescence")
      assert.deepStrictEqual(summary.totals, { ready: 2, failed: 0, "missing-dependency": 1, cycle: 0 })
      assert.isFalse(summary.ok)
      assert.isTrue(fs.existsSync(path.join(outDir, "default", "kustomization-b.yaml")))
    }))

  it.live("fails with DirUnreadable on a missing dir", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(reconcile({ dir: "/no/such/dir/anywhere" }))
      assert.strictEqual(error._tag, "DirUnreadable")
    }))
})

describe("snapshot report (SIGUSR2 in watch mode)", () => {
  it("lists every task with its state, time in state, and what a waiting reconcile waits on", () => {
    const text = printSnapshot(
      [
        {
          id: 1,
          name: "reconcile apps/web",
          state: "yielded-quiescent",
          registeredAt: 1000,
          stateSince: 1500,
          key: "apps/web"
        },
        {
          id: 2,
          name: "reconcile apps/api",
          state: "yielded-slot",
          registeredAt: 1000,
          stateSince: 2500,
          key: "apps/api"
        },
        { id: 3, name: "adhoc", state: "parked", registeredAt: 3000, stateSince: 3000 }
      ],
      (id) => (id === "apps/web" ? ["apps/api"] : ["never-asked"]),
      4000
    )
    assert.strictEqual(
      text,
      [
        "snapshot: 3 registered task(s)",
        "  #1     yielded-quiescent      2.5s  reconcile apps/web  waits on apps/api",
        "  #2     yielded-slot           1.5s  reconcile apps/api",
        "  #3     parked                 1.0s  adhoc",
        ""
      ].join("\n")
    )
  })
})
