/**
 * END-TO-END tests: each runs the compiled program (`node dist/main.js`, built
 * by `tsc -b`) on a fixture tree written to a temp dir, and checks its JSON
 * summary and exit status. They use real time (a real process); margins are
 * generous, and each test takes well under a few seconds.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { docs, object, run, runJson, sleep, startWatch, tree } from "./helpers.ts"

describe("e2e: pnpm demo --json", () => {
  it("reconciles an all-ready chain and exits 0", async () => {
    const dir = tree({
      "base.yaml": object("Kustomization", "base", { namespace: "flux-system" }),
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
    assert.deepStrictEqual(summary.totals, { ready: 3, failed: 0, "missing-dependency": 0, cycle: 0 })
    assert.strictEqual(summary.decidedBy, "quiescence")
    assert.deepStrictEqual(summary.objects.map((o) => o.id), ["apps/api", "apps/web", "flux-system/base"])
    const base = byId("flux-system/base")
    const api = byId("apps/api")
    const web = byId("apps/web")
    assert.strictEqual(web.kind, "HelmRelease")
    assert.deepStrictEqual(web.dependsOn, ["apps/api"])
    // a dependent renders only after its dependency is ready
    assert.isTrue(base.verdictMs! <= api.startedMs! || base.verdictMs! <= api.finishedMs!)
    assert.isTrue(base.verdictMs! < api.verdictMs! && api.verdictMs! < web.verdictMs!)
    assert.isTrue(summary.wallMs >= web.verdictMs!)
    assert.strictEqual(summary.outDir, out)
    for (const o of summary.objects) {
      assert.strictEqual(o.status, "ready")
      assert.strictEqual(o.reason, null)
      assert.isTrue(fs.existsSync(o.output!), `${o.output} exists`)
    }
    assert.include(fs.readFileSync(path.join(out, "apps", "helmrelease-web.yaml"), "utf8"), "name: web")
  })

  it("reports a typo'd dependency as missing-dependency at quiescence, far before the cap", async () => {
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
    const billing = byId("apps/billing")
    assert.strictEqual(billing.status, "missing-dependency")
    assert.strictEqual(billing.reason, "dependency db/postgress does not exist")
    assert.isBelow(billing.verdictMs!, 3_000, "decided by quiescence, not by the 20 s cap")
    const invoices = byId("apps/invoices")
    assert.strictEqual(invoices.status, "missing-dependency")
    assert.strictEqual(invoices.reason, "waits on missing dependency db/postgress via apps/billing")
    assert.strictEqual(byId("apps/api").status, "ready")
    assert.deepStrictEqual(summary.totals, { ready: 2, failed: 0, "missing-dependency": 2, cycle: 0 })
    assert.isBelow(summary.wallMs, 3_000)
  })

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
    for (const id of ["default/a", "default/b", "default/c"]) {
      assert.strictEqual(byId(id).status, "cycle")
      assert.strictEqual(byId(id).reason, "cycle default/a → default/b → default/c → default/a")
      assert.isBelow(byId(id).verdictMs!, 3_000)
    }
    assert.strictEqual(byId("default/watcher").status, "cycle")
    assert.match(byId("default/watcher").reason!, /^waits on cycle default\/a → .* via default\/b$/)
    assert.strictEqual(byId("default/ok").status, "ready")
    assert.deepStrictEqual(summary.totals, { ready: 1, failed: 0, "missing-dependency": 0, cycle: 4 })
  })

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
    assert.strictEqual(byId("default/base").status, "ready")
    assert.strictEqual(byId("default/alertmanager").status, "failed")
    assert.strictEqual(byId("default/alertmanager").reason, "render failed: no routing key")
    assert.strictEqual(byId("default/alertmanager").output, null)
    assert.strictEqual(byId("default/rules").status, "failed")
    assert.strictEqual(byId("default/rules").reason, "dependency default/alertmanager failed")
    assert.strictEqual(byId("default/dashboards").reason, "dependency default/rules failed")
    assert.deepStrictEqual(summary.totals, { ready: 1, failed: 3, "missing-dependency": 0, cycle: 0 })
  })

  it("reports malformed YAML with its path and line, and still reconciles the rest", async () => {
    const dir = tree({
      "good.yaml": docs(object("Kustomization", "one"), object("Kustomization", "two", { dependsOn: ["one"] })),
      "sub/broken.yaml": "kind: HelmRelease\nmetadata:\n  name: broken\n  labels: [a, b\nspec: {}\n",
      "nameless.yaml": docs("kind: HelmRelease\nmetadata:\n  namespace: x\n", "metadata:\n  name: kindless\n"),
      "zz-dupe.yaml": object("Kustomization", "one", { dependsOn: ["nothing"] })
    })
    const { byId, code, summary } = await runJson(dir)
    assert.strictEqual(code, 1, "input problems make the exit status 1")
    assert.isFalse(summary.ok)
    assert.deepStrictEqual(summary.totals, { ready: 2, failed: 0, "missing-dependency": 0, cycle: 0 })
    // of a duplicate id the first definition is kept (files are read in sorted path order)
    assert.strictEqual(byId("default/one").file, path.join(dir, "good.yaml"))
    const yamlErrors = summary.problems.filter((p) => p.kind === "yaml-error")
    assert.isAbove(yamlErrors.length, 0)
    assert.strictEqual(yamlErrors[0]!.file, path.join(dir, "sub", "broken.yaml"))
    assert.isTrue(
      yamlErrors.every((p) => typeof p.line === "number" && p.line >= 4 && p.line <= 6),
      JSON.stringify(yamlErrors)
    )
    const invalid = summary.problems.filter((p) => p.kind === "invalid-object")
    assert.deepStrictEqual(invalid.map((p) => [path.basename(p.file), p.line]), [["nameless.yaml", 1], [
      "nameless.yaml",
      5
    ]])
    const duplicates = summary.problems.filter((p) => p.kind === "duplicate-id")
    assert.strictEqual(duplicates.length, 1)
    assert.strictEqual(duplicates[0]!.file, path.join(dir, "zz-dupe.yaml"))
    assert.include(duplicates[0]!.message, "default/one")
  })

  it("fails a dependency wait by the timeout cap when quiescence cannot come first", async () => {
    // slow renders keep the pool busy past the 100 ms cap, so the cap decides the missing dependency
    const dir = tree({
      "x.yaml": docs(object("HelmRelease", "slow"), object("HelmRelease", "lost", { dependsOn: ["nowhere"] }))
    })
    const result = await run([dir, "--json", "--latency", "1500", "--dep-timeout", "100ms"])
    const summary = JSON.parse(result.stdout)
    assert.strictEqual(result.code, 1)
    assert.strictEqual(summary.decidedBy, "timeout")
    const lost = summary.objects.find((o: { id: string }) => o.id === "default/lost")
    const slow = summary.objects.find((o: { id: string }) => o.id === "default/slow")
    assert.strictEqual(lost.status, "missing-dependency")
    assert.strictEqual(slow.status, "ready")
    assert.isBelow(lost.verdictMs, slow.verdictMs)
  })

  it("exits 2 with a clear error on an unreadable dir", async () => {
    const missing = path.join(tree({}), "does-not-exist")
    const result = await run([missing, "--json"])
    assert.strictEqual(result.code, 2)
    assert.strictEqual(result.stdout, "")
    assert.include(result.stderr, `cannot read ${missing}`)
    assert.include(result.stderr, "ENOENT")

    const file = path.join(tree({ "a.yaml": object("Kustomization", "a") }), "a.yaml")
    const notDir = await run([file])
    assert.strictEqual(notDir.code, 2)
    assert.include(notDir.stderr, "is not a directory")
  })

  it("exits 2 on bad usage", async () => {
    const result = await run(["--workers", "many"])
    assert.strictEqual(result.code, 2)
    assert.include(result.stderr, "--workers")
    assert.include(result.stderr, "Usage:")
    assert.strictEqual((await run(["--bogus"])).code, 2)
  })
})

describe("e2e: pnpm demo --watch", () => {
  it("re-renders an edited object and its dependents once per burst of edits; exits on SIGINT", async () => {
    const files = {
      "a.yaml": object("Kustomization", "a"),
      "deps/b.yaml": object("HelmRelease", "b", { dependsOn: ["a"] }),
      "deps/c.yaml": docs(object("HelmRelease", "c", { dependsOn: ["b"] }), object("HelmRelease", "d"))
    }
    const dir = tree(files)
    const watcher = startWatch([dir, "--watch", "--json", "--latency", "1"])
    try {
      await watcher.until((lines) => lines.length >= 1, 10_000)
      const initial = JSON.parse(watcher.lines[0]!)
      assert.deepStrictEqual(initial.totals, { ready: 4, failed: 0, "missing-dependency": 0, cycle: 0 })
      await sleep(200)
      // a burst: five writes in a row, each a real change
      for (let i = 1; i <= 5; i++) {
        fs.writeFileSync(path.join(dir, "a.yaml"), object("Kustomization", "a", { label: `${i}` }))
      }
      const renders = () => watcher.lines.slice(1).map((line) => JSON.parse(line))
      await watcher.until(() => renders().length >= 3, 5_000)
      await sleep(700) // room for any extra re-render to show up
      const events = renders()
      assert.deepStrictEqual(events.map((e) => e.id).toSorted(), ["default/a", "default/b", "default/c"])
      for (const event of events) {
        assert.strictEqual(event.event, "render")
        assert.strictEqual(event.status, "ready")
        assert.strictEqual(event.run, 2)
        assert.strictEqual(event.round, 1)
      }
      // dependents after their dependency
      const at = (id: string) => events.find((e) => e.id === id).atMs
      assert.isTrue(at("default/a") <= at("default/b") && at("default/b") <= at("default/c"))
    } finally {
      watcher.child.kill("SIGINT")
    }
    const code = await watcher.exited
    assert.strictEqual(code, 0, watcher.stderr())
    assert.include(watcher.stderr(), "stopped: 4 ready")
  })
})
