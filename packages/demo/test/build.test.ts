/**
 * Tests of building clusters, pure: Flux identity, postBuild substitutions,
 * kustomize transforms, and `buildClusters` on trees read from temp dirs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { buildClusters } from "../src/clusters.ts"
import { didYouMean, fluxKind, identify, isDnsLabel, isDnsSubdomain } from "../src/flux.ts"
import { loadTree } from "../src/load.ts"
import { substituteText } from "../src/substitute.ts"
import { applyPatch, applyReplacements, type Resource, selects, setNamespace } from "../src/transform.ts"
import { docs, object, tree } from "./helpers.ts"

const res = (value: Record<string, unknown>): Resource => ({ value, file: "/f", line: 1, docIndex: 0 })

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
    assert.strictEqual(identify("HelmRelease", { metadata: { name: "x" }, spec: { dependsOn: null } })._tag, "Ok")
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
      // joined as kustomize-controller joins it (securejoin): `..` stops at the repository root
      assert.strictEqual(build.objects[2]!.failRender, "spec.path etc does not exist")
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

  it.live("substituteFrom a ConfigMap of a kustomize generator's literals", () =>
    Effect.gen(function*() {
      const sub = ["  postBuild:", "    substituteFrom:", "      - kind: ConfigMap", "        name: settings"]
      const dir = tree({
        "clusters/c/ks.yaml": flux("apps", ["  path: ./apps", ...git, ...sub]),
        "clusters/c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
          + "namespace: flux-system\nresources:\n  - ks.yaml\nconfigMapGenerator:\n  - name: settings\n"
          + "    literals:\n      - APP=web\n",
        "apps/hr.yaml": object("HelmRelease", "${APP}", { namespace: "apps" })
      })
      const build = buildClusters(yield* loadTree(dir))
      assert.deepStrictEqual(build.objects.map((o) => o.id), ["HelmRelease/apps/web", "Kustomization/flux-system/apps"])
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
