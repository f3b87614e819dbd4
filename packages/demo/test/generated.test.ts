/**
 * GENERATED trees: random Flux trees from seeds (`generate.ts`,
 * `generate-clusters.ts`), written to temp dirs, run through the compiled
 * program's `--json` (cluster layouts batched, several seeds per dir, each
 * under its own prefix) and in-process through `reconcile`, and compared with
 * the expected verdicts of `oracle.ts`: every object once per cluster with
 * its id, status, reason shape, file and dependencies; the clusters; the
 * problems and skipped counts; the exit status. A failure names the seed.
 */
/* oxlint-disable no-await-in-loop -- the seeds run one after another (two programs at a time) on purpose */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Summary } from "../src/model.ts"
import { reconcile } from "../src/reconcile.ts"
import { clusterTree } from "./generate-clusters.ts"
import { flatTree, type Generated, idOf, resolveDeps } from "./generate.ts"
import { run } from "./helpers.ts"
import { expectCluster, suggestion } from "./oracle.ts"

const write = (files: Record<string, string>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-gen-"))
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  return dir
}

const rel = (p: string) => p.split("/").join(path.sep)

/** Compares a summary with what the generator meant; returns the mismatches. */
export const compare = (gen: Generated, summary: Summary): Array<string> => {
  const errors: Array<string> = []
  const clusters = [...new Set(gen.objects.map((o) => o.cluster))].toSorted()
  const got = summary.clusters.map((c) => c.cluster).toSorted()
  if (JSON.stringify(got) !== JSON.stringify(clusters.map(rel))) {
    errors.push(`clusters: expected ${clusters.join(", ")}, got ${got.join(", ")}`)
  }
  let allReady = gen.objects.length > 0
  for (const cluster of clusters) {
    const meant = gen.objects.filter((o) => o.cluster === cluster)
    const ids = meant.map(idOf)
    const expected = expectCluster(
      meant.map((o) => ({ id: idOf(o), deps: resolveDeps(o), suspend: o.suspend, failRender: o.failRender }))
    )
    const own = summary.objects.filter((o) => o.cluster === rel(cluster))
    for (const o of meant) {
      const id = idOf(o)
      const found = own.filter((x) => x.id === id)
      if (found.length !== 1) {
        errors.push(`${cluster} ${id}: expected once, found ${found.length} (have ${own.map((x) => x.id).join(", ")})`)
        continue
      }
      const x = found[0]!
      const e = expected.get(id)!
      if (!e.allowed.has("ready") || e.allowed.size > 1) allReady = false
      const where = `${cluster} ${id} (${x.status}: ${x.reason})`
      if (!e.allowed.has(x.status)) errors.push(`${where}: expected ${[...e.allowed].join(" or ")}`)
      if (x.file !== rel(o.file)) errors.push(`${where}: file ${x.file}, expected ${o.file}`)
      if (x.kind !== o.kind || x.namespace !== o.namespace || x.name !== o.name) {
        errors.push(`${where}: kind/namespace/name`)
      }
      const deps = resolveDeps(o)
      if (JSON.stringify([...x.dependsOn].toSorted()) !== JSON.stringify(deps.toSorted())) {
        errors.push(`${where}: dependsOn ${x.dependsOn.join(", ")}, expected ${deps.join(", ")}`)
      }
      if ((x.output !== null) !== (x.status === "ready")) errors.push(`${where}: output ${x.output}`)
      const reason = x.reason ?? ""
      const shape: Record<string, [string, string]> = {
        failed: ["render failed: ", "dependency "],
        "missing-dependency": ["dependenc", "waits on missing dependency "],
        cycle: ["cycle ", "waits on cycle "]
      }
      if (x.status === "ready" && x.reason !== null) errors.push(`${where}: a reason`)
      const prefix = shape[x.status]?.[e.root ? 0 : 1]
      if (prefix !== undefined && !reason.startsWith(prefix)) errors.push(`${where}: reason should start ${prefix}`)
      if (x.status === "suspended" && e.root && reason !== "spec.suspend is true: not reconciled") {
        errors.push(`${where}: reason`)
      }
      if (x.status === "suspended" && !e.root && !/^(dependency \S+ is suspended|waits on suspended )/.test(reason)) {
        errors.push(`${where}: reason`)
      }
      if (x.status === "missing-dependency" && e.root) {
        const missing = deps.filter((d) => !ids.includes(d))
        if (missing.length === 1) {
          const s = suggestion(missing[0]!, ids)
          const text = s === undefined
            ? `dependency ${missing[0]} does not exist`
            : `dependency ${missing[0]} (did you mean ${s}?) does not exist`
          if (reason !== text) errors.push(`${where}: reason should be ${text}`)
        }
      }
    }
    for (const x of own) if (!ids.includes(x.id)) errors.push(`${cluster} ${x.id}: not expected (${x.file})`)
  }
  for (const x of summary.objects) {
    if (!clusters.map(rel).includes(x.cluster)) errors.push(`${x.cluster} ${x.id}: in an unexpected cluster`)
  }
  const problems = summary.problems.map((p) => `${p.kind} ${p.file}`).toSorted()
  const meantProblems = gen.problems.map((f) => `missing-resource ${rel(f)}`).toSorted()
  if (JSON.stringify(problems) !== JSON.stringify(meantProblems)) {
    errors.push(`problems: ${summary.problems.map((p) => `${p.kind} ${p.file} ${p.message}`).join("; ")}`)
  }
  if (summary.skipped.documents !== gen.otherDocs) {
    errors.push(`skipped.documents ${summary.skipped.documents}, expected ${gen.otherDocs}`)
  }
  if (summary.skipped.patches !== gen.patchDocs) {
    errors.push(`skipped.patches ${summary.skipped.patches}, expected ${gen.patchDocs}`)
  }
  if (summary.skipped.unreached.length > 0) errors.push(`unreached: ${JSON.stringify(summary.skipped.unreached)}`)
  if (summary.ok !== allReady) errors.push(`ok ${summary.ok}, expected ${allReady}`)
  return errors
}

/** Several generated trees in one dir, each under `t<seed>/`. */
const batch = (seeds: ReadonlyArray<number>): Generated => {
  const parts = seeds.map((seed) => clusterTree(seed, `t${seed}/`))
  return {
    files: Object.assign({}, ...parts.map((p) => p.files)),
    objects: parts.flatMap((p) => p.objects),
    otherDocs: parts.reduce((n, p) => n + p.otherDocs, 0),
    patchDocs: parts.reduce((n, p) => n + p.patchDocs, 0),
    problems: parts.flatMap((p) => p.problems)
  }
}

const inProcess = async (gen: Generated): Promise<Summary> => {
  const dir = write(gen.files)
  try {
    return await Effect.runPromise(reconcile({ dir, latencyMs: 0, outDir: path.join(dir, ".out"), outDirKept: false }))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The worker bounds and latencies the program runs with, in turn (verdicts must not depend on them). */
const settings = [[], ["--workers", "1"], ["--workers", "0"], ["--workers", "2", "--latency", "1"]] as const

const throughCli = async (gen: Generated, extra: ReadonlyArray<string> = []) => {
  const dir = write(gen.files)
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-gen-out-"))
  try {
    const result = await run([dir, "--json", "--latency", "0", "--out", out, ...extra])
    const summary = JSON.parse(result.stdout) as Summary
    return { ...result, summary }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    fs.rmSync(out, { recursive: true, force: true })
  }
}

const report = (label: string, errors: ReadonlyArray<string>) => {
  assert.deepStrictEqual(errors.slice(0, 20), [], `${label}: ${errors.length} mismatch(es)`)
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)

/** Every verdict occurs, and so do roots and inheritors of each non-ready one: the seeds cover what they should. */
const coverage = (summaries: ReadonlyArray<Summary>) => {
  const seen = new Set<string>()
  for (const o of summaries.flatMap((s) => s.objects)) {
    seen.add(o.status)
    if (o.reason !== null) {
      seen.add(
        `${o.status} ${/^(waits on|dependency \S+ (failed|is suspended))/.test(o.reason) ? "inherited" : "root"}`
      )
    }
  }
  for (const s of ["failed", "missing-dependency", "cycle", "suspended"]) {
    assert.isTrue(seen.has(`${s} root`) && seen.has(`${s} inherited`), `no ${s} root and inherited: ${[...seen]}`)
  }
  assert.isTrue(seen.has("ready"))
}

describe("generated trees against an independent oracle", () => {
  it("flat folders (the fallback cluster), in-process", async () => {
    const summaries: Array<Summary> = []
    for (const seed of range(1, 150)) {
      const summary = await inProcess(flatTree(seed))
      summaries.push(summary)
      report(`flat seed ${seed}`, compare(flatTree(seed), summary))
    }
    coverage(summaries)
  }, 60_000)

  it("cluster layouts, in-process", async () => {
    const summaries: Array<Summary> = []
    for (const seed of range(1, 100)) {
      const gen = clusterTree(seed, "")
      const summary = await inProcess(gen)
      summaries.push(summary)
      report(`cluster seed ${seed}`, compare(gen, summary))
    }
    coverage(summaries)
    assert.isAbove(summaries.filter((s) => s.clusters.length > 1).length, 20)
  }, 60_000)

  it("flat folders through the program's --json, exit status 0 iff every object is ready", async () => {
    for (const seeds of [range(1000, 4), range(1004, 4)]) {
      await Promise.all(seeds.map(async (seed) => {
        const gen = flatTree(seed)
        const { code, stderr, summary } = await throughCli(gen)
        report(`flat seed ${seed} (cli)`, compare(gen, summary))
        assert.strictEqual(code, summary.ok ? 0 : 1, `flat seed ${seed}: exit ${code}; ${stderr}`)
      }))
    }
  }, 60_000)

  it("cluster layouts through the program's --json, several seeds per dir", async () => {
    const batches = range(0, 8).map((b) => range(2000 + b * 10, 10))
    for (let i = 0; i < batches.length; i += 2) {
      await Promise.all(
        batches.slice(i, i + 2).map(async (seeds) => {
          const gen = batch(seeds)
          const extra = settings[batches.indexOf(seeds) % settings.length]!
          const { code, stderr, summary } = await throughCli(gen, extra)
          report(`cluster seeds ${seeds[0]}..${seeds.at(-1)} (cli ${extra.join(" ")}, t<seed>/)`, compare(gen, summary))
          assert.strictEqual(code, summary.ok ? 0 : 1, stderr)
          assert.strictEqual(stderr, "")
        })
      )
    }
  }, 60_000)
})
