/**
 * ACCEPTANCE: the demo on the three real Flux repositories of
 * `../shared/gitops-trees` (next to the repository; skipped, with a message,
 * when absent). On each, every object of every cluster gets a verdict, all
 * ready, exit 0. On perturbed copies (written to temp dirs, never into
 * shared/) — a typo'd `dependsOn`, a 2-cycle of Kustomizations, a 3-cycle of
 * HelmReleases with dependents — exactly the affected objects change verdict,
 * as computed here from the unperturbed run's dependency graph.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { LineCounter, parseAllDocuments } from "yaml"
import { findCycles } from "../src/graph.ts"
import type { ObjectResult, Status } from "../src/model.ts"
import { runJson } from "./helpers.ts"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const shared = path.join(repoRoot, "..", "shared", "gitops-trees")
const present = fs.existsSync(shared)
if (!present) console.warn(`acceptance: ${shared} not found; skipping the real-repository tests`)
const repos = ["fluxcd+flux2-kustomize-helm-example", "fluxcd+flux2-multi-tenancy", "onedr0p+home-ops"]

const keyOf = (o: { readonly cluster: string; readonly id: string }) => `${o.cluster} ${o.id}`

/** The verdicts Flux's rules give the objects with `deps` (key → dependency keys): the expectation. */
const expected = (objects: ReadonlyArray<ObjectResult>, deps: ReadonlyMap<string, ReadonlyArray<string>>) => {
  const exists = new Set(objects.map(keyOf))
  const status = new Map<string, Status>()
  for (const [key, list] of deps) if (list.some((d) => !exists.has(d))) status.set(key, "missing-dependency")
  const graph = new Map(
    [...deps].filter(([key]) => !status.has(key)).map(([k, l]) => [k, l.filter((d) => exists.has(d))])
  )
  for (const cycle of findCycles(graph)) for (const key of cycle) status.set(key, "cycle")
  const visit = (key: string, stack: Set<string>): Status => {
    const known = status.get(key)
    if (known !== undefined) return known
    if (stack.has(key)) return "ready"
    stack.add(key)
    const bad = (deps.get(key) ?? []).map((d) => visit(d, stack)).find((s) => s !== "ready") ?? "ready"
    status.set(key, bad)
    return bad
  }
  for (const o of objects) visit(keyOf(o), new Set())
  return status
}

/** Copies `repo` to a temp dir and sets `spec.dependsOn` of the documents at the given file:line. */
const perturbed = (
  repo: string,
  edits: ReadonlyArray<{ readonly object: ObjectResult; readonly dependsOn: unknown }>
) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-acceptance-"))
  fs.cpSync(repo, dir, { recursive: true })
  for (const { dependsOn, object } of edits) {
    const file = path.join(dir, object.file)
    const lineCounter = new LineCounter()
    const documents = parseAllDocuments(fs.readFileSync(file, "utf8"), { lineCounter })
    const doc = documents.find((d) => lineCounter.linePos(d.contents?.range[0] ?? d.range[0]).line === object.line)
    if (doc === undefined) throw new Error(`no document at ${object.file}:${object.line}`)
    doc.setIn(["spec", "dependsOn"], doc.createNode(dependsOn))
    fs.writeFileSync(file, documents.map((d) => String(d).replace(/^---\n/, "")).join("---\n"))
  }
  return dir
}

const dependsOfAll = (objects: ReadonlyArray<ObjectResult>) =>
  new Map(objects.map((o) => [keyOf(o), o.dependsOn.map((d) => `${o.cluster} ${d}`)]))

/** Runs the perturbed copy and checks every verdict against the expectation; returns the changed keys. */
const check = async (
  baseline: ReadonlyArray<ObjectResult>,
  dir: string,
  deps: ReadonlyMap<string, ReadonlyArray<string>>
) => {
  const { code, summary } = await runJson(dir)
  const want = expected(baseline, deps)
  assert.deepStrictEqual(summary.objects.map(keyOf), baseline.map(keyOf), "same objects")
  const wrong = summary.objects.filter((o) => want.get(keyOf(o)) !== o.status).map((o) => `${keyOf(o)}: ${o.status}`)
  assert.deepStrictEqual(wrong, [])
  assert.strictEqual(summary.decidedBy, "quiescence")
  assert.strictEqual(code, 1)
  fs.rmSync(dir, { recursive: true, force: true })
  const changed = summary.objects.filter((o) => o.status !== "ready")
  console.info(
    `acceptance: perturbed copy: ${summary.objects.length} objects, totals ${JSON.stringify(summary.totals)}`
  )
  return changed
}

describe.skipIf(!present)("acceptance: real Flux repositories (../shared/gitops-trees)", () => {
  for (const name of repos) {
    it(`${name}: every object of every cluster is ready, exit 0`, async () => {
      const { code, summary } = await runJson(path.join(shared, name))
      assert.isAbove(summary.objects.length, 0)
      assert.strictEqual(summary.mode, "clusters")
      assert.strictEqual(summary.totals.ready, summary.objects.length, JSON.stringify(summary.totals))
      assert.isTrue(summary.objects.every((o) => o.verdictMs !== null))
      assert.deepStrictEqual(summary.problems, [])
      assert.strictEqual(code, 0)
      console.info(
        `acceptance: ${name}: ${summary.objects.length} objects in ${summary.clusters.length} cluster(s), all ready`
      )
    }, 60_000)
  }

  it("a typo in one cluster's file changes only that cluster's verdicts (flux2-multi-tenancy)", async () => {
    const repo = path.join(shared, "fluxcd+flux2-multi-tenancy")
    const baseline = (await runJson(repo)).summary.objects
    const tenants = baseline.find((o) =>
      o.cluster === "clusters/production" && o.id === "Kustomization/flux-system/tenants"
    )!
    const deps = new Map(dependsOfAll(baseline)).set(keyOf(tenants), [
      "clusters/production Kustomization/flux-system/kyverno-policie"
    ])
    const dir = perturbed(repo, [{ object: tenants, dependsOn: [{ name: "kyverno-policie" }] }])
    const changed = await check(baseline, dir, deps)
    assert.deepStrictEqual(changed.map(keyOf), [keyOf(tenants)])
  }, 60_000)

  it(
    "perturbed copies: a typo, a 2-cycle, a 3-cycle of HelmReleases with dependents change exactly the affected verdicts",
    async () => {
      const repo = path.join(shared, "onedr0p+home-ops")
      const baseline = (await runJson(repo)).summary.objects
      const deps = dependsOfAll(baseline)
      const dependents = (key: string) => baseline.filter((o) => deps.get(keyOf(o))!.includes(key))
      // 1. a typo: the Kustomization with the most dependents that itself depends on one
      const typoed = baseline
        .filter((o) => o.kind === "Kustomization" && o.dependsOn.length === 1)
        .toSorted((a, b) => dependents(keyOf(b)).length - dependents(keyOf(a)).length)[0]!
      const [kind, namespace, depName] = typoed.dependsOn[0]!.split("/")
      const typo = `${depName!.slice(0, -1)}`
      const typoDeps = new Map(deps).set(keyOf(typoed), [`${typoed.cluster} ${kind}/${namespace}/${typo}`])
      const one = await check(
        baseline,
        perturbed(repo, [{ object: typoed, dependsOn: [{ name: typo, namespace }] }]),
        typoDeps
      )
      assert.isAbove(one.length, 1, "the typo'd object and its dependents")
      assert.include(one.find((o) => keyOf(o) === keyOf(typoed))!.reason!, `did you mean ${typoed.dependsOn[0]}?`)

      // 2. a 2-cycle of two independent Kustomizations of one namespace, one of them with dependents
      const free = baseline.filter((o) => o.kind === "Kustomization" && o.dependsOn.length === 0)
      const withDependent = free.find((o) =>
        dependents(keyOf(o)).length > 0
        && free.some((p) => p.namespace === o.namespace && p !== o && dependents(keyOf(p)).length === 0)
      )!
      const a = free.find((p) =>
        p.namespace === withDependent.namespace && p !== withDependent && dependents(keyOf(p)).length === 0
      )
      const cycleDeps = new Map(deps)
        .set(keyOf(a!), [keyOf(withDependent)])
        .set(keyOf(withDependent), [keyOf(a!)])
      const two = await check(
        baseline,
        perturbed(repo, [
          { object: a!, dependsOn: [{ name: withDependent.name }] },
          { object: withDependent, dependsOn: [{ name: a!.name }] }
        ]),
        cycleDeps
      )
      assert.isAbove(two.length, 2)

      // 3. a 3-cycle of HelmReleases, one dependent on it and one on that dependent
      const hrs = baseline.filter((o) => o.kind === "HelmRelease" && o.namespace === "default").slice(0, 5)
      const [x, y, z, w, v] = hrs as [ObjectResult, ObjectResult, ObjectResult, ObjectResult, ObjectResult]
      const hrDeps = new Map(deps)
        .set(keyOf(x), [keyOf(y)])
        .set(keyOf(y), [keyOf(z)])
        .set(keyOf(z), [keyOf(x)])
        .set(keyOf(w), [keyOf(x)])
        .set(keyOf(v), [keyOf(w)])
      const three = await check(
        baseline,
        perturbed(repo, [
          { object: x, dependsOn: [{ name: y.name }] },
          { object: y, dependsOn: [{ name: z.name }] },
          { object: z, dependsOn: [{ name: x.name }] },
          { object: w, dependsOn: [{ name: x.name }] },
          { object: v, dependsOn: [{ name: w.name }] }
        ]),
        hrDeps
      )
      assert.deepStrictEqual(three.map(keyOf).toSorted(), [x, y, z, w, v].map(keyOf).toSorted())
      assert.deepStrictEqual(three.map((o) => o.status), three.map(() => "cycle"))
    },
    120_000
  )
})
