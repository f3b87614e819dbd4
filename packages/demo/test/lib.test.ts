/**
 * Tests of the demo's modules used as a library: the pure pieces (the
 * stuck-wait decision, Flux identity, substitutions, kustomize transforms,
 * arguments, the report) and `reconcile` called directly (on the live clock:
 * it does real I/O).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseCli, parseDuration } from "../src/args.ts"
import { buildClusters } from "../src/clusters.ts"
import { decideStuck, inherit, suspendedOutcome } from "../src/decide.ts"
import { didYouMean, fluxKind, identify, isDnsLabel, isDnsSubdomain } from "../src/flux.ts"
import { findCycles, showCycle, withDependents } from "../src/graph.ts"
import { loadTree, parseYamlFile } from "../src/load.ts"
import { objectKey } from "../src/model.ts"
import { reconcile } from "../src/reconcile.ts"
import { printSnapshot, useColor } from "../src/report.ts"
import { substituteText } from "../src/substitute.ts"
import { applyPatch, applyReplacements, type Resource, selects, setNamespace } from "../src/transform.ts"
import { docs, object, totals, tree } from "./helpers.ts"

const k = (id: string) => objectKey(".", id)
const a = (id: string) => objectKey("clusters/a", id)
const b = (id: string) => objectKey("clusters/b", id)
const res = (value: Record<string, unknown>): Resource => ({ value, file: "/f", line: 1, docIndex: 0 })

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

describe("Flux identity", () => {
  it("only the Flux groups' Kustomization and HelmRelease are objects", () => {
    assert.strictEqual(
      fluxKind({ apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization" }),
      "Kustomization"
    )
    assert.strictEqual(fluxKind({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" }), undefined)
    assert.strictEqual(fluxKind({ apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease" }), "HelmRelease")
    assert.strictEqual(fluxKind({ kind: "HelmRelease" }), undefined)
  })

  it("ids, dependsOn of the same kind, namespace defaults, DNS-1123 names", () => {
    const id = identify("HelmRelease", {
      metadata: { name: "web", namespace: "apps" },
      spec: { dependsOn: [{ name: "api" }, { name: "db", namespace: "data" }], suspend: true }
    })
    assert(id._tag === "Ok")
    assert.deepStrictEqual([id.id, id.dependsOn, id.suspended], [
      "HelmRelease/apps/web",
      ["HelmRelease/apps/api", "HelmRelease/data/db"],
      true
    ])
    const bad = identify("HelmRelease", { metadata: { name: "x", namespace: "../../../../tmp/x" } })
    assert(bad._tag === "Invalid")
    assert.strictEqual(bad.problem, "invalid-name")
    assert.isTrue(isDnsLabel("flux-system") && !isDnsLabel("a.b") && !isDnsLabel("-a") && !isDnsLabel("A"))
    assert.isTrue(isDnsSubdomain("a.b-c") && !isDnsSubdomain("a/b") && !isDnsSubdomain(".."))
    assert.strictEqual(
      didYouMean("HelmRelease/db/postgress", ["HelmRelease/db/postgres", "Kustomization/db/x"]),
      "HelmRelease/db/postgres"
    )
    assert.strictEqual(didYouMean("HelmRelease/db/pg", ["Kustomization/db/pg", "HelmRelease/db/postgres"]), undefined)
  })
})

describe("postBuild substitutions", () => {
  it("${VAR}, $VAR, defaults, $$ escapes; unresolved names are reported", () => {
    const vars = new Map([["APP", "plex"], ["EMPTY", ""]])
    const r = substituteText("${APP}-anubis $APP ${NOPE:=pg} ${EMPTY:-d} ${EMPTY-d} $${APP} ${GONE}", vars)
    assert.strictEqual(r.text, "plex-anubis plex pg d  ${APP} ")
    assert.deepStrictEqual(r.unresolved, ["GONE"])
  })
})

describe("kustomize transforms", () => {
  it("namespace override, strategic merge and JSON 6902 patches, replacements", () => {
    const ks = res({ apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "a" } })
    const ns = res({ apiVersion: "v1", kind: "Namespace", metadata: { name: "_" } })
    const role = res({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "r" } })
    const all = [ks, ns, role]
    setNamespace(all, "media")
    assert.deepStrictEqual([ks.value.metadata, ns.value.metadata, role.value.metadata], [
      { name: "a", namespace: "media" },
      { name: "media" },
      { name: "r" }
    ])
    applyPatch(all, { kind: "Kustomization", metadata: { name: "_" }, spec: { path: "./x" } }, {
      kind: "Kustomization"
    })
    assert.deepStrictEqual(ks.value.spec, { path: "./x" })
    applyPatch(all, [{ op: "add", path: "/spec/dependsOn", value: [{ name: "b" }] }], {
      kind: "Kustomization",
      name: "a"
    })
    assert.deepStrictEqual(ks.value.spec, { path: "./x", dependsOn: [{ name: "b" }] })
    applyReplacements(all, [{
      source: { kind: "Namespace", fieldPath: "metadata.name" },
      targets: [{ select: { kind: "Kustomization" }, fieldPaths: ["spec.targetNamespace"], options: { create: true } }]
    }])
    assert.strictEqual((ks.value.spec as Record<string, unknown>).targetNamespace, "media")
    assert.isTrue(selects({ group: "kustomize.toolkit.fluxcd.io", name: "a|b" }, ks.value))
    assert.isFalse(selects({ kind: "HelmRelease" }, ks.value))
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

const flux = (name: string, spec: ReadonlyArray<string>, namespace = "flux-system") =>
  object("Kustomization", name, { namespace, spec })
const git = ["  sourceRef:", "    kind: GitRepository", "    name: flux-system"]

const app = (name: string, vars: ReadonlyArray<string>) =>
  flux(name, ["  path: ./apps/common", ...git, ...vars, "  targetNamespace: apps"])

describe("buildClusters (pure, on a read tree)", () => {
  it.live("ExternalArtifact paths map back through an ArtifactGenerator; a missing path fails; HelmReleases beside roots", () =>
    Effect.gen(function*() {
      const dir = tree({
        "clusters/c/artifacts.yaml": "apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\n"
          + "metadata:\n  name: gen\nspec:\n  sources:\n    - alias: repo\n      kind: GitRepository\n"
          + "      name: flux-system\n  artifacts:\n    - name: infra\n      copy:\n"
          + "        - from: \"@repo/infrastructure/**\"\n          to: \"@artifact/\"\n",
        "clusters/c/ks.yaml": docs(
          flux("infra", ["  path: ./controllers", "  sourceRef:", "    kind: ExternalArtifact", "    name: infra"]),
          flux("gone", ["  path: ./nowhere", ...git]),
          flux("escape", ["  path: ../../etc", ...git])
        ),
        "clusters/c/beside.yaml": object("HelmRelease", "beside", { namespace: "x" }),
        "infrastructure/controllers/hr.yaml": object("HelmRelease", "cert-manager", { namespace: "cert-manager" })
      })
      const build = buildClusters(yield* loadTree(dir))
      assert.deepStrictEqual(
        build.clusters.map((c) => c.roots.length),
        [3],
        "a HelmRelease beside the roots is no root"
      )
      assert.deepStrictEqual(build.objects.map((o) => o.id), [
        "HelmRelease/cert-manager/cert-manager",
        "HelmRelease/x/beside",
        "Kustomization/flux-system/escape",
        "Kustomization/flux-system/gone",
        "Kustomization/flux-system/infra"
      ])
      assert.strictEqual(build.objects[2]!.failRender, `spec.path "../../etc" is outside the repository`)
      assert.strictEqual(build.objects[3]!.failRender, "spec.path nowhere does not exist")
    }))

  it.live("a root's repository source of another name is this repository too (not a tenant's with path ./)", () =>
    Effect.gen(function*() {
      const home = ["  sourceRef:", "    kind: GitRepository", "    name: home-kubernetes"]
      const dir = tree({
        "kubernetes/flux/config/cluster.yaml": flux("cluster", ["  path: ./kubernetes/flux/apps", ...home]),
        "kubernetes/flux/apps/apps.yaml": flux("apps", ["  path: ./kubernetes/apps", ...home]),
        "kubernetes/apps/hr.yaml": object("HelmRelease", "web", { namespace: "web" }),
        "tenants/t.yaml": flux("tenant", ["  path: ./", "  sourceRef:", "    kind: GitRepository", "    name: other"])
      })
      const build = buildClusters(yield* loadTree(dir))
      assert.deepStrictEqual(build.clusters.map((c) => c.cluster), ["kubernetes/flux/config", "tenants"])
      assert.deepStrictEqual(build.objects.map((o) => o.id), [
        "HelmRelease/web/web",
        "Kustomization/flux-system/apps",
        "Kustomization/flux-system/cluster",
        "Kustomization/flux-system/tenant"
      ])
      assert.include(build.objects[3]!.sourceNote!, "GitRepository/other is not this repository")
    }))

  it.live("one shared document built by several Kustomizations with their own variables", () =>
    Effect.gen(function*() {
      const dir = tree({
        "clusters/c/ks.yaml": docs(
          app("one", ["  postBuild:", "    substitute:", "      APP: one"]),
          app("none", []),
          app("two", ["  postBuild:", "    substitute:", "      APP: two"])
        ),
        "apps/common/hr.yaml": object("HelmRelease", "${APP}")
      })
      const build = buildClusters(yield* loadTree(dir))
      assert.deepStrictEqual(build.objects.filter((o) => o.kind === "HelmRelease").map((o) => o.id), [
        "HelmRelease/apps/one",
        "HelmRelease/apps/two"
      ])
      assert.deepStrictEqual(build.problems.map((p) => [p.kind, p.message]), [[
        "unresolved-variable",
        "HelmRelease name has an unresolved variable ${APP}; skipped"
      ]])
    }))

  it.live("substituteFrom a Secret (base64), substitution disabled by annotation, a missing component", () =>
    Effect.gen(function*() {
      const dir = tree({
        "clusters/c/ks.yaml": docs(
          flux("apps", [
            "  path: ./apps",
            ...git,
            "  components:",
            "    - ../components/none",
            "  postBuild:",
            "    substituteFrom:",
            "      - kind: Secret",
            "        name: vars"
          ]),
          `apiVersion: v1\nkind: Secret\nmetadata:\n  name: vars\n  namespace: flux-system\ndata:\n  APP: ${
            Buffer.from("web").toString("base64")
          }\n`
        ),
        "apps/hr.yaml": docs(
          object("HelmRelease", "${APP}", { namespace: "apps" }),
          "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: raw\n  namespace: apps\n"
            + "  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\nspec:\n  values:\n    x: ${APP}\n"
        )
      })
      const build = buildClusters(yield* loadTree(dir))
      assert.deepStrictEqual(build.objects.map((o) => o.id), [
        "HelmRelease/apps/raw",
        "HelmRelease/apps/web",
        "Kustomization/flux-system/apps"
      ])
      assert.deepStrictEqual((build.objects[0]!.value as { spec: unknown }).spec, { values: { x: "${APP}" } })
      assert.deepStrictEqual(build.problems.map((p) => p.kind), ["missing-resource"])
      assert.include(build.problems[0]!.message, "components/none")
    }))
})
