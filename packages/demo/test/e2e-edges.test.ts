/**
 * END-TO-END regression tests for edge cases an independent acceptance run
 * found: where renders may go, and valid names that must not fail on the
 * demo's own file naming.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { outDirConflict } from "../src/args.ts"
import { parseYamlFile } from "../src/load.ts"
import type { Summary } from "../src/model.ts"
import { reconcile } from "../src/reconcile.ts"
import { outputFileName } from "../src/render.ts"
import { docs, mainJs, object, run, runJson, tree } from "./helpers.ts"

const git = (p: string) => ["  path: " + p, "  sourceRef:", "    kind: GitRepository", "    name: flux-system"]

describe("e2e: edge cases", () => {
  it("--out that is the dir itself, or a parent of it, is bad usage (the renders would land in the tree)", async () => {
    const dir = tree({ "a.yaml": object("HelmRelease", "a", { namespace: "ns" }) })
    for (const out of [dir, path.dirname(dir)]) {
      const result = await run([dir, "--json", "--out", out]) // oxlint-disable-line no-await-in-loop
      assert.strictEqual(result.code, 2)
      assert.strictEqual(result.stdout, "")
      assert.include(result.stderr, `--out: ${JSON.stringify(out)} is`)
    }
    assert.deepStrictEqual(fs.readdirSync(dir), ["a.yaml"], "nothing written into the tree")
    // the same dir twice: never read back as duplicates
    const inside = await runJson(dir, ["--out", path.join(dir, "out")])
    assert.strictEqual(inside.code, 0)
    assert.deepStrictEqual(inside.summary.problems, [])
    assert.isUndefined(outDirConflict("/r/x", "/r/x/out"))
    assert.isUndefined(outDirConflict("/r/x", "/r/y"))
    assert.isUndefined(outDirConflict("/r/x", "/r/x-out"))
    assert.isDefined(outDirConflict("/r/x", "/r"))
  }, 30_000)

  it("a valid name of 253 characters is ready: its render's file name is cut and hashed", async () => {
    const long = [..."abc"].map((c) => c.repeat(63)).join(".") + "." + "d".repeat(61)
    const other = long.slice(0, -1) + "e"
    assert.strictEqual(long.length, 253)
    const dir = tree({
      "a.yaml": docs(object("HelmRelease", long), object("HelmRelease", other, { dependsOn: [long] }))
    })
    const out = path.join(dir, "out")
    const { code, summary } = await runJson(dir, ["--out", out])
    assert.deepStrictEqual(summary.objects.map((o) => [o.status, o.reason]), [["ready", null], ["ready", null]])
    assert.strictEqual(code, 0)
    const outputs = summary.objects.map((o) => o.output!)
    assert.notStrictEqual(outputs[0], outputs[1])
    for (const output of outputs) {
      assert.isAtMost(path.basename(output).length, 255)
      assert.include(fs.readFileSync(path.join(out, output), "utf8"), "kind: HelmRelease")
    }
    assert.strictEqual(outputFileName("HelmRelease", "plex"), "helmrelease-plex.yaml")
  }, 30_000)

  it("YAML merge keys are expanded, as kustomize and kubectl do: the object has its name", async () => {
    const merged =
      "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  <<: {name: a, namespace: m}\n"
    assert.deepStrictEqual(parseYamlFile("a.yaml", merged).docs[0]!.value, {
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name: "a", namespace: "m" }
    })
    const dir = tree({
      "a.yaml": docs(
        "x-meta: &meta\n  namespace: m\n",
        merged,
        object("HelmRelease", "b", { dependsOn: [{ name: "a", namespace: "m" }] })
      )
    })
    const { code, summary } = await runJson(dir)
    assert.deepStrictEqual(summary.problems, [])
    assert.deepStrictEqual(summary.objects.map((o) => [o.id, o.status]), [
      ["HelmRelease/default/b", "ready"],
      ["HelmRelease/m/a", "ready"]
    ])
    assert.strictEqual(code, 0)
  }, 30_000)

  it("spec.path is joined to the repository root as Flux does: an absolute path is inside the repository", async () => {
    const dir = tree({
      "clusters/main/ks.yaml": docs(
        object("Kustomization", "apps", { namespace: "flux-system", spec: git("/apps") }),
        object("Kustomization", "up", { namespace: "flux-system", spec: git("../../../other") })
      ),
      "apps/hr.yaml": object("HelmRelease", "web", { namespace: "web" }),
      "other/hr.yaml": object("HelmRelease", "extra", { namespace: "web", dependsOn: ["web"] })
    })
    const { code, summary } = await runJson(dir)
    assert.strictEqual(summary.mode, "clusters")
    assert.deepStrictEqual(summary.objects.map((o) => o.cluster), Array(4).fill(path.join("clusters", "main")))
    assert.deepStrictEqual(summary.objects.map((o) => [o.id, o.status]), [
      ["HelmRelease/web/extra", "ready"],
      ["HelmRelease/web/web", "ready"],
      ["Kustomization/flux-system/apps", "ready"],
      ["Kustomization/flux-system/up", "ready"]
    ])
    assert.deepStrictEqual(summary.problems, [])
    assert.strictEqual(code, 0)
  }, 30_000)

  it("a --json summary larger than a pipe's buffer comes out whole to a slow reader (the exit waits)", async () => {
    const chain = Array.from(
      { length: 3000 },
      (_, i) => object("HelmRelease", `hr${i}`, { dependsOn: [i === 0 ? "gone" : `hr${i - 1}`] })
    )
    const dir = tree({ "a.yaml": docs(...chain) })
    // a shell pipe (64 KiB) to a reader that takes its time: the program's write is queued when it ends
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(mainJs)} ${
      JSON.stringify(dir)
    } --json --latency 0`
    const { stdout } = await run([], {}, ["sh", "-c", `${command} | (sleep 1; cat)`])
    assert.isAbove(stdout.length, 512 * 1024)
    const summary = JSON.parse(stdout) as Summary
    assert.strictEqual(summary.objects.length, 3000)
    assert.strictEqual(summary.totals["missing-dependency"], 3000)
  }, 30_000)

  it.skipIf(!fs.existsSync("/proc/self"))(
    "an --out that cannot be created is exit status 2 at once (not a spin)",
    async () => {
      const dir = tree({ "a.yaml": object("HelmRelease", "a") })
      const started = performance.now()
      const result = await run([dir, "--json", "--out", "/proc/effect-task-demo-out"])
      assert.strictEqual(result.code, 2)
      assert.strictEqual(result.stdout, "")
      assert.include(result.stderr, "--out: cannot create output dir /proc/effect-task-demo-out")
      assert.isBelow(performance.now() - started, 10_000)
      const file = path.join(dir, "a.yaml")
      const under = await run([dir, "--json", "--out", path.join(file, "out")])
      assert.strictEqual(under.code, 2)
      assert.include(under.stderr, "--out: cannot create output dir")
    },
    30_000
  )

  it("the library's reconcile on a dir it cannot read leaves no temp dir behind", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-tmpdir-"))
    const before = process.env["TMPDIR"]
    process.env["TMPDIR"] = tmp
    try {
      const exit = await Effect.runPromiseExit(reconcile({ dir: path.join(tmp, "no-such-dir") }))
      assert.isTrue(Exit.isFailure(exit))
    } finally {
      if (before === undefined) delete process.env["TMPDIR"]
      else process.env["TMPDIR"] = before
    }
    assert.deepStrictEqual(fs.readdirSync(tmp), [])
  })
})
