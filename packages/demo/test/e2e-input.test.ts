/**
 * END-TO-END tests of reading real layouts: clusters built from their roots
 * (the project's own `test/layouts/two-clusters` tree), what is and is not an
 * object, input problems, names that must not reach a path, and the
 * terminal summary.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { docs, mainJs, object, run, runJson, totals, tree } from "./helpers.ts"

const twoClusters = fileURLToPath(new URL("layouts/two-clusters/", import.meta.url))

describe("e2e: clusters built from their roots", () => {
  it("two clusters sharing an apps folder: namespaces, substitutions, patches, replacements, suspend", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-layout-"))
    const { byId, code, summary } = await runJson(twoClusters, ["--out", out])
    assert.strictEqual(summary.mode, "clusters")
    assert.deepStrictEqual(summary.clusters.map((c) => [c.cluster, c.roots]), [
      ["clusters/a", ["Kustomization/flux-system/apps", "Kustomization/flux-system/infra"]],
      ["clusters/b", ["Kustomization/flux-system/apps", "Kustomization/flux-system/infra"]]
    ])
    // kustomize `namespace:` and targetNamespace applied; same-name Kustomization and HelmRelease
    const plexK = byId("Kustomization/media/plex", "clusters/a")
    assert.strictEqual(plexK.file, path.join("apps", "base", "media", "plex", "ks.yaml"))
    assert.deepStrictEqual(plexK.dependsOn, ["Kustomization/flux-system/infra"])
    // ${DB_NAME:=postgres} and ${DB_NAMESPACE:-database} defaults in a dependsOn
    assert.deepStrictEqual(byId("HelmRelease/media/plex", "clusters/a").dependsOn, ["HelmRelease/database/postgres"])
    // ${APP}-anubis substituted from postBuild.substitute
    assert.deepStrictEqual(byId("HelmRelease/media/plex-anubis", "clusters/a").dependsOn, ["HelmRelease/media/plex"])
    // cluster b: replacements carry the Namespace's name into targetNamespace
    assert.strictEqual(byId("HelmRelease/media-b/plex", "clusters/b").status, "ready")
    // substituteFrom: cluster b's ConfigMap suspends tautulli; its dependent waits on it
    assert.strictEqual(byId("HelmRelease/media/tautulli", "clusters/a").status, "ready")
    assert.strictEqual(byId("HelmRelease/media-b/tautulli", "clusters/b").status, "suspended")
    assert.strictEqual(
      byId("HelmRelease/media-b/overseerr", "clusters/b").reason,
      "dependency HelmRelease/media-b/tautulli is suspended"
    )
    assert.deepStrictEqual(summary.clusters.map((c) => c.totals), [
      totals({ ready: 9 }),
      totals({ ready: 7, suspended: 2 })
    ])
    // the patch file is not an object; non-Flux documents are counted, not problems
    assert.strictEqual(summary.skipped.patches, 1)
    assert.strictEqual(summary.skipped.documents, 10)
    assert.deepStrictEqual(summary.skipped.unreached, [])
    // the path-traversal namespace is an input problem, and nothing is written outside --out
    assert.deepStrictEqual(summary.problems.map((p) => [p.kind, p.file]), [[
      "invalid-name",
      path.join("infra", "policies", "evil.yaml")
    ]])
    assert.include(summary.problems[0]!.message, "../../../../tmp/x")
    assert.isFalse(fs.existsSync("/tmp/x"))
    assert.strictEqual(code, 1, "suspended objects are not ready")
    // a Kustomization's render is its build, namespaces and substitutions applied
    const rendered = fs.readFileSync(path.join(out, plexK.output!), "utf8")
    assert.strictEqual(plexK.output, path.join("clusters", "a", "media", "kustomization-plex.yaml"))
    assert.include(rendered, "name: plex-anubis")
    assert.include(rendered, "namespace: media")
    assert.include(rendered, "replicas: 2")
    assert.notInclude(rendered, "${")
  }, 30_000)

  it("a bootstrapped cluster: flux-system builds its own directory (not a duplicate); external sources", async () => {
    const sync = ["  path: ./clusters/prod", "  sourceRef:", "    kind: GitRepository", "    name: flux-system"]
    const dir = tree({
      "clusters/prod/flux-system/gotk-sync.yaml": docs(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n"
          + "  namespace: flux-system\n",
        object("Kustomization", "flux-system", { namespace: "flux-system", spec: sync })
      ),
      "clusters/prod/flux-system/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-sync.yaml\n",
      "clusters/prod/tenant.yaml": object("Kustomization", "tenant", {
        namespace: "flux-system",
        spec: ["  path: ./", "  sourceRef:", "    kind: GitRepository", "    name: tenant-repo"],
        dependsOn: ["flux-system"]
      })
    })
    const { byId, code, summary } = await runJson(dir)
    assert.deepStrictEqual(summary.clusters.map((c) => [c.cluster, c.roots]), [[
      path.join("clusters", "prod", "flux-system"),
      ["Kustomization/flux-system/flux-system"]
    ]])
    assert.deepStrictEqual(summary.problems, [])
    const tenant = byId("Kustomization/flux-system/tenant", path.join("clusters", "prod", "flux-system"))
    assert.strictEqual(tenant.status, "ready", "built from nothing: its source is another repository")
    assert.strictEqual(code, 0)
  }, 30_000)

  it("plain kustomize files, ConfigMaps and other documents are skipped silently; problems alone exit 0", async () => {
    const dir = tree({
      "clusters/main/apps.yaml": docs(
        object("Kustomization", "apps", {
          namespace: "flux-system",
          spec: ["  path: ./apps", "  sourceRef:", "    kind: GitRepository", "    name: flux-system"]
        }),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
      ),
      "apps/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: looks-like-one\n"
        + "namespace: web\nresources:\n  - ./web.yaml\n",
      "apps/web.yaml": object("HelmRelease", "web"),
      "compose.yaml": "services:\n  web:\n    image: nginx\n",
      "broken.yaml": "kind: HelmRelease\nmetadata:\n  labels: [a, b\n"
    })
    const { byId, code, summary } = await runJson(dir)
    assert.deepStrictEqual(summary.objects.map((o) => o.id), ["HelmRelease/web/web", "Kustomization/flux-system/apps"])
    assert.strictEqual(byId("HelmRelease/web/web", "clusters/main").status, "ready")
    assert.deepStrictEqual(summary.problems.map((p) => [p.kind, p.file]), [["yaml-error", "broken.yaml"]])
    assert.strictEqual(code, 0, "input problems alone do not fail the run")
    assert.isTrue(summary.ok)
    const strict = await run([dir, "--json", "--strict"])
    assert.strictEqual(strict.code, 1)
  }, 30_000)

  it(
    "a resources entry that does not exist is a problem, and fails the Kustomization whose build needs it",
    async () => {
      const git = ["  sourceRef:", "    kind: GitRepository", "    name: flux-system"]
      const dir = tree({
        "clusters/main/ks.yaml": docs(
          object("Kustomization", "apps", { namespace: "flux-system", spec: ["  path: ./apps", ...git] }),
          object("Kustomization", "after", {
            namespace: "flux-system",
            spec: ["  path: ./other", ...git],
            dependsOn: ["apps"]
          })
        ),
        "apps/kustomization.yaml":
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./web.yaml\n  - ./gone.yaml\n",
        "apps/web.yaml": object("HelmRelease", "web", { namespace: "web" }),
        "other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
      })
      const { byId, code, summary } = await runJson(dir)
      assert.deepStrictEqual(summary.problems.map((p) => [p.kind, p.file, p.message]), [[
        "missing-resource",
        path.join("apps", "kustomization.yaml"),
        `resources entry "./gone.yaml" does not exist`
      ]])
      const apps = byId("Kustomization/flux-system/apps", path.join("clusters", "main"))
      assert.strictEqual(apps.status, "failed")
      assert.strictEqual(
        apps.reason,
        `render failed: kustomize build failed: resources entry "./gone.yaml" does not exist (${
          path.join("apps", "kustomization.yaml")
        })`
      )
      assert.strictEqual(byId("Kustomization/flux-system/after", path.join("clusters", "main")).status, "failed")
      assert.strictEqual(code, 1)
    },
    30_000
  )

  it("a true duplicate within one cluster and an unresolved variable in a name are problems", async () => {
    const dir = tree({
      "a.yaml": object("HelmRelease", "one"),
      "b.yaml": object("HelmRelease", "one", { dependsOn: ["nothing"] }),
      "c.yaml": object("HelmRelease", "${APP}-anubis"),
      "d.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  namespace: x\n"
    })
    const { code, summary } = await runJson(dir)
    assert.strictEqual(code, 0)
    assert.deepStrictEqual(summary.objects.map((o) => o.file), ["a.yaml"])
    assert.deepStrictEqual(summary.problems.map((p) => [p.kind, p.file]), [
      ["duplicate-id", "b.yaml"],
      ["unresolved-variable", "c.yaml"],
      ["invalid-object", "d.yaml"]
    ])
  }, 30_000)

  it("an --out inside the dir is not read back as input", async () => {
    const dir = tree({ "a.yaml": docs(object("HelmRelease", "a"), object("Kustomization", "a")) })
    const out = path.join(dir, "rendered")
    const first = await runJson(dir, ["--out", out])
    const second = await runJson(dir, ["--out", out])
    assert.deepStrictEqual(second.summary.objects.map((o) => o.id), first.summary.objects.map((o) => o.id))
    assert.deepStrictEqual(second.summary.problems, [])
    assert.strictEqual(second.code, 0)
  }, 30_000)

  it("an empty dir prints a clear warning and exits 1", async () => {
    const dir = tree({ "values.yaml": "replicas: 2\n" })
    const result = await run([dir])
    assert.strictEqual(result.code, 1)
    assert.include(result.stdout, "Warning: no Flux Kustomization or HelmRelease found")
    const json = await run([dir, "--json"])
    assert.include(json.stderr, "Warning: no Flux Kustomization or HelmRelease found")
  }, 30_000)

  it("the terminal summary shows non-ready objects first, ready ones as a count, relative paths", async () => {
    const dir = tree({
      "a.yaml": docs(object("HelmRelease", "ok"), object("HelmRelease", "bad", { dependsOn: ["gone"] })),
      ...Object.fromEntries(["x", "y", "z", "w"].map((n) => [`broken/${n}.yaml`, "a: [1\n"]))
    })
    const result = await run([dir, "--latency", "1"])
    assert.strictEqual(result.code, 1)
    const lines = result.stdout.split("\n")
    assert.strictEqual(lines[0], "Cluster .: 2 objects — 1 ready, 1 missing-dependency")
    assert.strictEqual(lines[1], "  missing-dependency (1)")
    assert.strictEqual(
      lines[2],
      "    HelmRelease/default/bad  dependency HelmRelease/default/gone does not exist  (a.yaml:6)"
    )
    assert.strictEqual(lines[3], "  ready: 1 (--all lists them)")
    assert.deepStrictEqual(lines.slice(5, 7), ["Input problems (4):", "  yaml-error (4)"])
    assert.deepStrictEqual(lines.slice(7, 10).map((l) => l.slice(0, l.indexOf(":"))), [
      `    ${path.join("broken", "w.yaml")}`,
      `    ${path.join("broken", "x.yaml")}`,
      `    ${path.join("broken", "y.yaml")}`
    ])
    assert.strictEqual(lines[10], "    … and 1 more (--json lists them all)")
    assert.notInclude(result.stdout, "bundled fixtures")
    assert.notInclude(result.stdout, dir + path.sep)
    assert.notInclude(result.stdout, "\x1b[")
    const all = await run([dir, "--latency", "1", "--all"])
    assert.include(all.stdout, "  ready (1)\n    HelmRelease/default/ok  (a.yaml:1)")
  }, 30_000)

  it.skipIf(!fs.existsSync("/usr/bin/script"))(
    "colours on a terminal, none with NO_COLOR (through a pty)",
    async () => {
      const dir = tree({
        "a.yaml": docs(object("HelmRelease", "ok"), object("HelmRelease", "bad", { dependsOn: ["x"] }))
      })
      const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(mainJs)} ${JSON.stringify(dir)} --latency 1`
      const colored = await run([], {}, ["script", "-qec", command, "/dev/null"])
      assert.include(colored.stdout, "\x1b[33mmissing-dependency\x1b[0m")
      const plain = await run([], { NO_COLOR: "1" }, ["script", "-qec", command, "/dev/null"])
      assert.include(plain.stdout, "missing-dependency (1)")
      for (const code of ["\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[36m"]) {
        assert.notInclude(plain.stdout, code)
      }
    },
    30_000
  )

  it("the bundled tree: the fixture sentence, and exit 1", async () => {
    const result = await run(["--latency", "1"])
    assert.strictEqual(result.code, 1)
    assert.include(result.stdout, "42 objects in 1 cluster(s)")
    assert.include(result.stdout, "(The bundled fixtures contain a typo, a cycle and a failing render on purpose.)")
  }, 30_000)
})
