/**
 * END-TO-END tests of the process: bad usage, unreadable dirs, SIGINT and
 * SIGTERM (a clean interrupt that prints what was decided), the temp output
 * dir removed at exit, and watch mode.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { docs, mainJs, object, run, runJson, sleep, startWatch, totals, tree } from "./helpers.ts"

describe("e2e: process handling", () => {
  it("exits 2 with a clear error naming the argument and the value", async () => {
    const missing = path.join(tree({}), "does-not-exist")
    const result = await run([missing, "--json"])
    assert.strictEqual(result.code, 2)
    assert.strictEqual(result.stdout, "")
    assert.include(result.stderr, `dir: cannot read ${missing}`)
    assert.include(result.stderr, "ENOENT")
    const file = path.join(tree({ "a.yaml": object("HelmRelease", "a") }), "a.yaml")
    const notDir = await run([file])
    assert.strictEqual(notDir.code, 2)
    assert.include(notDir.stderr, "is not a directory")
    const cases = [
      [["--workers", "many"], `--workers: expected a whole number >= 0, got "many"`],
      [["--latency", "fast"], `--latency: expected a duration like 5, 5ms or 2s, got "fast"`],
      [["--out", ""], `--out: expected a directory, got ""`],
      [["--bogus"], "--bogus"]
    ] as const
    const results = await Promise.all(cases.map(([args]) => run([...args])))
    cases.forEach(([args, text], i) => {
      assert.strictEqual(results[i]!.code, 2, args.join(" "))
      assert.include(results[i]!.stderr, text)
      assert.include(results[i]!.stderr, "Usage:")
    })
    const out = path.join(tree({ "file": "x" }), "file")
    const unwritable = await run([tree({}), "--out", path.join(out, "sub")])
    assert.strictEqual(unwritable.code, 2)
    assert.include(unwritable.stderr, "--out: cannot create output dir")
  }, 60_000)

  it("removes the default output dir at exit, keeps --out", async () => {
    const dir = tree({ "a.yaml": object("HelmRelease", "a") })
    const { summary } = await runJson(dir)
    assert.isFalse(summary.outDirKept)
    assert.isFalse(fs.existsSync(summary.outDir), `${summary.outDir} removed`)
  })

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} interrupts cleanly, prints what was decided, removes the temp dir, exits 130`, async () => {
      const dir = tree({
        "a.yaml": docs(object("HelmRelease", "slow"), object("HelmRelease", "lost", { dependsOn: ["nowhere"] }))
      })
      // `slow` renders for 30 s; the 200 ms cap decides `lost` meanwhile; then the signal comes
      const child = startWatch([dir, "--json", "--latency", "30s", "--dep-timeout", "200ms"])
      await sleep(5_000) // room for a slow start on a loaded machine
      child.child.kill(signal)
      const code = await child.exited
      assert.strictEqual(code, 130, child.stderr())
      const summary = JSON.parse(child.lines.join("\n"))
      assert.isTrue(summary.interrupted)
      assert.isFalse(summary.ok)
      const byId = (id: string) => summary.objects.find((o: { id: string }) => o.id === id)
      assert.strictEqual(byId("HelmRelease/default/lost").status, "missing-dependency")
      assert.strictEqual(byId("HelmRelease/default/slow").reason, "no verdict (the run was interrupted)")
      assert.isFalse(fs.existsSync(summary.outDir), "temp dir removed")
    }, 30_000)
  }
})

describe.skipIf(!fs.existsSync("/usr/bin/script") || !fs.existsSync("/usr/bin/pgrep"))("e2e: on a terminal", () => {
  it("the progress line counts rendering apart; the SIGUSR2 snapshot starts on a new line", async () => {
    const dir = tree({ "a.yaml": docs(object("HelmRelease", "a"), object("HelmRelease", "b", { dependsOn: ["a"] })) })
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(mainJs)} ${JSON.stringify(dir)} --latency 3s`
    const child = spawn("script", ["-qec", command, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
    })
    // the progress line is drawn once the round runs: the SIGUSR2 handler is installed by then
    for (let waited = 0; !/rendering 1 {2}parked 0 {2}waiting 1/.test(output) && waited < 15_000; waited += 50) {
      await sleep(50) // oxlint-disable-line no-await-in-loop
    }
    const pid = execFileSync("pgrep", ["-n", "-f", dir], { encoding: "utf8" }).trim()
    process.kill(Number(pid), "SIGUSR2")
    await sleep(500)
    process.kill(Number(pid), "SIGINT")
    await new Promise((resolve) => child.on("exit", resolve))
    assert.match(output, /registered 2 {2}running 0 {2}rendering 1 {2}parked 0 {2}waiting 1/)
    const at = output.indexOf("snapshot: 2 registered task(s)")
    assert.isAbove(at, 0)
    assert.strictEqual(output[at - 1], "\n", "the snapshot starts on a line of its own")
    assert.include(output, "waits on HelmRelease/default/a")
    assert.include(output, "Interrupted: the verdicts above are those decided before the signal.")
  }, 30_000)
})

describe("e2e: pnpm demo --watch", () => {
  it("re-renders an edited object and its dependents once per burst of edits; exits on SIGINT", async () => {
    const files = {
      "a.yaml": object("HelmRelease", "a"),
      "deps/b.yaml": object("HelmRelease", "b", { dependsOn: ["a"] }),
      "deps/c.yaml": docs(object("HelmRelease", "c", { dependsOn: ["b"] }), object("HelmRelease", "d"))
    }
    const dir = tree(files)
    const watcher = startWatch([dir, "--watch", "--json", "--latency", "1"])
    try {
      await watcher.until((lines) => lines.length >= 1, 10_000)
      const initial = JSON.parse(watcher.lines[0]!)
      assert.deepStrictEqual(initial.totals, totals({ ready: 4 }))
      await sleep(200)
      for (let i = 1; i <= 5; i++) {
        fs.writeFileSync(path.join(dir, "a.yaml"), object("HelmRelease", "a", { label: `${i}` }))
      }
      const renders = () => watcher.lines.slice(1).map((line) => JSON.parse(line))
      await watcher.until(() => renders().length >= 3, 5_000)
      await sleep(700) // room for any extra re-render to show up
      const events = renders()
      assert.deepStrictEqual(events.map((e) => e.id).toSorted(), [
        "HelmRelease/default/a",
        "HelmRelease/default/b",
        "HelmRelease/default/c"
      ])
      for (const event of events) {
        assert.strictEqual(event.event, "render")
        assert.strictEqual(event.status, "ready")
        assert.strictEqual(event.run, 2)
        assert.strictEqual(event.round, 1)
      }
      const at = (id: string) => events.find((e) => e.id === `HelmRelease/default/${id}`).atMs
      assert.isTrue(at("a") <= at("b") && at("b") <= at("c"))
    } finally {
      watcher.child.kill("SIGINT")
    }
    const code = await watcher.exited
    assert.strictEqual(code, 0, watcher.stderr())
    assert.include(watcher.stderr(), "stopped: 4 ready")
  }, 30_000)
})
