/**
 * END-TO-END tests of the verdicts: each runs the compiled program (`node
 * dist/main.js`, built by `tsc -b`) on a tree written to a temp dir, and
 * checks its JSON summary and exit status. Real processes, real time;
 * margins are generous.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { docs, object, run, runJson, totals, tree } from "./helpers.ts"

describe("e2e: verdicts (fallback cluster '.')", () => {
  it("reconciles an all-ready chain and exits 0; ids are kind/namespace/name", async () => {
    const dir = tree({
      "base.yaml": object("HelmRelease", "base", { namespace: "flux-system" }),
      "nested/deeper/apps.yml": docs(
        object("HelmRelease", "api", { namespace: "apps", dependsOn: [{ name: "base", namespace: "flux-system" }] }),
        object("HelmRelease", "web", { namespace: "apps", dependsOn: ["api"] })
      ),
      "notes.txt": "not yaml, ignored"
    })
    const out = path.join(dir, "..", `${path.basename(dir)}-out`)
    const { byId, code, summary } = await runJson(dir, ["--out", out])
    assert.strictEqual(code, 0)
    assert.isTrue(summary.ok)
    assert.strictEqual(summary.mode, "fallback")
    assert.deepStrictEqual(summary.totals, totals({ ready: 3 }))
    assert.strictEqual(summary.decidedBy, "quiescence")
    assert.deepStrictEqual(summary.objects.map((o) => o.id), [
      "HelmRelease/apps/api",
      "HelmRelease/apps/web",
      "HelmRelease/flux-system/base"
    ])
    const base = byId("HelmRelease/flux-system/base")
    const api = byId("HelmRelease/apps/api")
    const web = byId("HelmRelease/apps/web")
    assert.deepStrictEqual(
      [web.cluster, web.kind, web.namespace, web.name, web.file],
      [".", "HelmRelease", "apps", "web", path.join("nested", "deeper", "apps.yml")]
    )
    assert.deepStrictEqual(web.dependsOn, ["HelmRelease/apps/api"])
    assert.isTrue(base.verdictMs! < api.verdictMs! && api.verdictMs! < web.verdictMs!)
    assert.isTrue(summary.wallMs >= web.verdictMs!)
    assert.strictEqual(summary.outDir, out)
    assert.isTrue(summary.outDirKept)
    for (const o of summary.objects) {
      assert.strictEqual(o.status, "ready")
      assert.strictEqual(o.reason, null)
      assert.isTrue(fs.existsSync(path.join(out, o.output!)), `${o.output} exists`)
    }
    assert.include(fs.readFileSync(path.join(out, "apps", "helmrelease-web.yaml"), "utf8"), "name: web")
  }, 30_000)

  it("a Kustomization and a HelmRelease of one name are two objects; dependsOn never crosses kinds", async () => {
    const dir = tree({
      "plex.yaml": docs(
        object("Kustomization", "plex", { namespace: "media" }),
        object("HelmRelease", "plex", { namespace: "media" }),
        object("HelmRelease", "tautulli", { namespace: "media", dependsOn: ["plex"] }),
        object("Kustomization", "waits-on-a-helmrelease", { namespace: "media", dependsOn: ["tautulli"] })
      )
    })
    const { byId, code, summary } = await runJson(dir)
    assert.strictEqual(code, 1)
    assert.strictEqual(summary.objects.length, 4)
    assert.strictEqual(byId("Kustomization/media/plex").status, "ready")
    assert.strictEqual(byId("HelmRelease/media/plex").status, "ready")
    assert.deepStrictEqual(byId("HelmRelease/media/tautulli").dependsOn, ["HelmRelease/media/plex"])
    const k = byId("Kustomization/media/waits-on-a-helmrelease")
    assert.strictEqual(k.status, "missing-dependency")
    assert.strictEqual(k.reason, "dependency Kustomization/media/tautulli does not exist")
    assert.deepStrictEqual(summary.problems, [])
  }, 30_000)

  it("reports a typo'd dependency as missing-dependency at quiescence, with did-you-mean", async () => {
    const dir = tree({
      "db.yaml": object("HelmRelease", "postgres", { namespace: "db" }),
      "apps.yaml": docs(
        object("HelmRelease", "billing", { namespace: "apps", dependsOn: [{ name: "postgress", namespace: "db" }] }),
        object("HelmRelease", "invoices", { namespace: "apps", dependsOn: ["billing"] }),
        object("HelmRelease", "api", { namespace: "apps", dependsOn: [{ name: "postgres", namespace: "db" }] })
      )
    })
    const { byId, code, summary } = await runJson(dir, ["--dep-timeout", "20s"])
    assert.strictEqual(code, 1)
    assert.isFalse(summary.ok)
    assert.strictEqual(summary.decidedBy, "quiescence")
    assert.strictEqual(summary.depTimeoutMs, 20_000)
    const billing = byId("HelmRelease/apps/billing")
    assert.strictEqual(billing.status, "missing-dependency")
    assert.strictEqual(
      billing.reason,
      "dependency HelmRelease/db/postgress (did you mean HelmRelease/db/postgres?) does not exist"
    )
    assert.isBelow(billing.verdictMs!, 3_000, "decided by quiescence, not by the 20 s cap")
    const invoices = byId("HelmRelease/apps/invoices")
    assert.strictEqual(invoices.status, "missing-dependency")
    assert.strictEqual(
      invoices.reason,
      "waits on missing dependency HelmRelease/db/postgress via HelmRelease/apps/billing"
    )
    assert.strictEqual(byId("HelmRelease/apps/api").status, "ready")
    assert.deepStrictEqual(summary.totals, totals({ ready: 2, "missing-dependency": 2 }))
  }, 30_000)

  it("reports a 3-object cycle as cycle, and an object waiting on it too", async () => {
    const dir = tree({
      "mesh.yaml": docs(
        object("HelmRelease", "a", { dependsOn: ["b"] }),
        object("HelmRelease", "b", { dependsOn: ["c"] }),
        object("HelmRelease", "c", { dependsOn: ["a"] }),
        object("HelmRelease", "watcher", { dependsOn: ["b", "ok"] }),
        object("HelmRelease", "ok")
      )
    })
    const { byId, code, summary } = await runJson(dir)
    assert.strictEqual(code, 1)
    assert.strictEqual(summary.decidedBy, "quiescence")
    const text = "cycle HelmRelease/default/a → HelmRelease/default/b → HelmRelease/default/c → HelmRelease/default/a"
    for (const name of ["a", "b", "c"]) {
      assert.strictEqual(byId(`HelmRelease/default/${name}`).status, "cycle")
      assert.strictEqual(byId(`HelmRelease/default/${name}`).reason, text)
    }
    assert.strictEqual(byId("HelmRelease/default/watcher").status, "cycle")
    assert.strictEqual(byId("HelmRelease/default/watcher").reason, `waits on ${text} via HelmRelease/default/b`)
    assert.strictEqual(byId("HelmRelease/default/ok").status, "ready")
    assert.deepStrictEqual(summary.totals, totals({ ready: 1, cycle: 4 }))
  }, 30_000)

  it("fails a render marked to fail, and its dependents", async () => {
    const dir = tree({
      "alerting.yaml": docs(
        object("HelmRelease", "base"),
        object("HelmRelease", "alertmanager", { dependsOn: ["base"], failRender: "no routing key" }),
        object("HelmRelease", "rules", { dependsOn: ["alertmanager"] }),
        object("HelmRelease", "dashboards", { dependsOn: ["rules"] })
      )
    })
    const { byId, code, summary } = await runJson(dir)
    assert.strictEqual(code, 1)
    assert.strictEqual(byId("HelmRelease/default/alertmanager").reason, "render failed: no routing key")
    assert.strictEqual(byId("HelmRelease/default/alertmanager").output, null)
    assert.strictEqual(byId("HelmRelease/default/rules").reason, "dependency HelmRelease/default/alertmanager failed")
    assert.strictEqual(byId("HelmRelease/default/dashboards").reason, "dependency HelmRelease/default/rules failed")
    assert.deepStrictEqual(summary.totals, totals({ ready: 1, failed: 3 }))
  }, 30_000)

  it("a suspended object is suspended, and its dependents wait on it", async () => {
    const dir = tree({
      "media.yaml": docs(
        object("HelmRelease", "plex", { suspend: true }),
        object("HelmRelease", "tautulli", { dependsOn: ["plex"] }),
        object("HelmRelease", "overseerr", { dependsOn: ["tautulli"] }),
        object("HelmRelease", "other", { suspend: false })
      )
    })
    const { byId, code, summary } = await runJson(dir)
    assert.strictEqual(code, 1)
    assert.strictEqual(byId("HelmRelease/default/plex").reason, "spec.suspend is true: not reconciled")
    assert.strictEqual(byId("HelmRelease/default/plex").output, null)
    assert.strictEqual(byId("HelmRelease/default/tautulli").reason, "dependency HelmRelease/default/plex is suspended")
    assert.strictEqual(
      byId("HelmRelease/default/overseerr").reason,
      "waits on suspended HelmRelease/default/plex via HelmRelease/default/tautulli"
    )
    assert.deepStrictEqual(summary.totals, totals({ ready: 1, suspended: 3 }))
  }, 30_000)

  it("fails a dependency wait by the timeout cap when quiescence cannot come first", async () => {
    // slow renders keep the pool busy past the 100 ms cap, so the cap decides the missing dependency
    const dir = tree({
      "x.yaml": docs(object("HelmRelease", "slow"), object("HelmRelease", "lost", { dependsOn: ["nowhere"] }))
    })
    const result = await run([dir, "--json", "--latency", "1500", "--dep-timeout", "100ms"])
    const summary = JSON.parse(result.stdout)
    assert.strictEqual(result.code, 1)
    assert.strictEqual(summary.decidedBy, "timeout")
    const lost = summary.objects.find((o: { id: string }) => o.id === "HelmRelease/default/lost")
    const slow = summary.objects.find((o: { id: string }) => o.id === "HelmRelease/default/slow")
    assert.strictEqual(lost.status, "missing-dependency")
    assert.strictEqual(slow.status, "ready")
    assert.isBelow(lost.verdictMs, slow.verdictMs)
  }, 30_000)
})
