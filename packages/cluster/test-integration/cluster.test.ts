/**
 * The integration suite: a real PostgreSQL (installed if missing, started on
 * 127.0.0.1 on a free port), three runner processes and a client, through
 * a burst over 100 keys, a SIGKILL of a runner mid-run, a SIGTERM of a
 * runner, runners joining, and (what is not promised) a runner paused longer
 * than the lease, where the fencing token must expose the stale run. Each scenario asserts only what
 * ClusterCoalescer promises (nothing lost, collapse, the last run covers the
 * latest submit, the per-runner bound, no overlap of a key's runs), never a
 * latency; the latencies it measures are printed and written to
 * $CLUSTER_MEASUREMENTS (for docs/scaling.md).
 *
 * The runs record themselves in `probe_runs` (harness/probe.ts); overlaps are
 * found with the package's own fencing tokens.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Retention } from "effect-task-cluster"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  dbNow,
  highWater,
  type Kill,
  makeClient,
  overlaps,
  type Runner,
  runs,
  setupSchema,
  sleep,
  staleLast,
  startRunner,
  uncovered,
  waitFor
} from "../harness/cluster.ts"
import { type Postgres, psql, start } from "../harness/postgres.ts"

const WORK_MS = 300
const WORKERS = 4
const KEYS = 100

let pg: Postgres
let client: ReturnType<typeof makeClient>
const runners = new Map<string, Runner>()
const kills: Array<Kill> = []
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-cluster-logs-"))
const measurements: Record<string, unknown> = {}
/** When each submit returned, by `${key}#${seq}` (for the start delays). */
const returnedAt = new Map<string, number>()

const spawnRunner = async (name: string) => {
  const runner = await startRunner(pg, name, { workMs: WORK_MS, workers: WORKERS, logDir })
  runners.set(name, runner)
  await runner.ready
  return runner
}

/** Submits `rounds` rounds over `keys` keys with a few in flight at once; returns submits per second. */
const burst = async (
  prefix: string,
  rounds: number,
  options?: { readonly from?: number; readonly during?: () => Promise<void> }
) => {
  const from = options?.from ?? 0
  const jobs: Array<[string, number]> = []
  for (let seq = from; seq < from + rounds; seq++) {
    for (let k = 0; k < KEYS; k++) jobs.push([`${prefix}${k}`, seq])
  }
  const started = Date.now()
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const [key, seq] = jobs[next++]!
      await client.submit(key, seq)
      returnedAt.set(`${key}#${seq}`, Date.now())
    }
  }
  await Promise.all([...Array.from({ length: 8 }, worker), options?.during?.() ?? Promise.resolve()])
  return jobs.length / ((Date.now() - started) / 1000)
}

const submittedWith = (prefix: string) => new Map([...client.submitted].filter(([key]) => key.startsWith(prefix)))

/** Every promised invariant over the scenario's keys, once every submit is covered. */
const assertInvariants = async (prefix: string, timeoutMs: number) => {
  const submitted = submittedWith(prefix)
  await waitFor(
    `every ${prefix} submit to be covered by a run that ended`,
    () => uncovered(runs(pg, prefix), submitted).length === 0,
    timeoutMs,
    500
  ).catch((error) => {
    const missing = uncovered(runs(pg, prefix), submitted)
    throw new Error(
      `${error.message}: ${missing.length} uncovered, e.g. ${missing.slice(0, 5).join(", ")}; logs in ${logDir}`
    )
  })
  const rows = runs(pg, prefix)
  const submits = [...submitted.values()].reduce((n, max) => n + max + 1, 0)
  // every violation at once, so that a broken build shows all it breaks
  const violations = {
    overlaps: overlaps(rows, kills),
    staleLastRuns: staleLast(rows, submitted),
    boundExceeded: highWater(pg).filter(({ high, workers }) => high > workers).map(({ high, runner, workers }) =>
      `${runner} ran ${high} runs at once, bound ${workers}`
    )
  }
  assert.deepStrictEqual(violations, { overlaps: [], staleLastRuns: [], boundExceeded: [] })
  return { rows, submits }
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

/** Delay from each submit's return to the start of the first ended run that covered it (ms). */
const startDelays = (rows: ReadonlyArray<ReturnType<typeof runs>[number]>) => {
  const delays: Array<number> = []
  const seen = new Set<string>()
  for (const row of rows.toSorted((a, b) => a.started - b.started)) {
    for (const seq of row.covered) {
      const id = `${row.key}#${seq}`
      const at = returnedAt.get(id)
      if (at === undefined || seen.has(id)) continue
      seen.add(id)
      delays.push(row.started - at)
    }
  }
  return { p50: percentile(delays, 50), p95: percentile(delays, 95) }
}

/** Waits until `runner` has a run of the scenario in flight. */
const inFlightOn = (runner: string, prefix: string) =>
  waitFor(
    `a ${prefix} run in flight on ${runner}`,
    () =>
      Number(
        psql(
          pg,
          `SELECT count(*) FROM probe_runs WHERE runner = '${runner}' AND ended IS NULL AND key LIKE '${prefix}%'`
        )
      ) > 0,
    30_000,
    50
  )

beforeAll(async () => {
  // Fails the suite when PostgreSQL cannot be installed or started: never a skip.
  pg = await start()
  console.log(`cluster integration: PostgreSQL ${pg.version} on 127.0.0.1:${pg.port}, logs in ${logDir}`)
  setupSchema(pg)
  await Promise.all(["r1", "r2", "r3"].map(spawnRunner))
  client = makeClient(pg)
}, 240_000)

afterAll(async () => {
  for (const runner of runners.values()) runner.child.kill("SIGKILL")
  await Promise.all([...runners.values()].map((r) => r.exited))
  await client?.dispose()
  await pg?.stop()
  console.log("cluster integration measurements:", JSON.stringify(measurements))
  const out = process.env["CLUSTER_MEASUREMENTS"]
  if (out) fs.writeFileSync(out, JSON.stringify(measurements, null, 2) + "\n")
}, 60_000)

describe("ClusterCoalescer across processes, on PostgreSQL", () => {
  it(
    "a burst over 100 keys: nothing lost, bursts collapse, each key's last run covers its latest submit, the bound holds",
    async () => {
      const rate = await burst("burst/", 10)
      const { rows, submits } = await assertInvariants("burst/", 90_000)
      const ended = rows.filter((r) => r.ended !== undefined)
      assert.isBelow(ended.length, submits / 2, `${ended.length} runs for ${submits} submits`)
      measurements["burst"] = {
        submits,
        runs: ended.length,
        submitsPerSecond: Math.round(rate),
        startDelayMs: startDelays(rows)
      }
    },
    120_000
  )

  it("SIGKILL of a runner mid-run: nothing lost, its keys run again elsewhere, no overlap", async () => {
    const prefix = "kill/"
    let killedAt = 0
    let victimKeys: Array<string> = []
    await burst(prefix, 6, {
      during: async () => {
        await inFlightOn("r2", prefix)
        victimKeys = psql(
          pg,
          `SELECT key FROM probe_runs WHERE runner = 'r2' AND ended IS NULL AND key LIKE '${prefix}%'`
        ).split("\n")
        const at = await runners.get("r2")!.signal("SIGKILL")
        killedAt = Number(psql(pg, `SELECT extract(epoch from '${at}'::timestamptz) * 1000`))
        kills.push({ runner: "r2", at: killedAt })
      }
    })
    await burst(prefix, 2, { from: 6 }) // after the kill: stored while r2's shards have no owner yet
    const { rows } = await assertInvariants(prefix, 120_000)
    // the runs cut off by the kill were run again by another runner
    const recoveries = victimKeys.map((key) => {
      const next = rows.filter((r) => r.key === key && r.runner !== "r2" && r.started > killedAt)
      assert.isAbove(next.length, 0, `${key} never ran again after the kill`)
      return Math.min(...next.map((r) => r.started)) - killedAt
    })
    measurements["sigkill"] = {
      cutOffRuns: victimKeys.length,
      recoveryMs: { min: Math.min(...recoveries), p50: percentile(recoveries, 50), max: Math.max(...recoveries) }
    }
  }, 180_000)

  it("SIGTERM of a runner: its runs are interrupted and awaited, its keys move, nothing lost, no overlap", async () => {
    const prefix = "term/"
    let stoppedIn = 0
    await burst(prefix, 6, {
      during: async () => {
        await inFlightOn("r3", prefix)
        const started = Date.now()
        await runners.get("r3")!.signal("SIGTERM")
        const code = await runners.get("r3")!.exited
        stoppedIn = Date.now() - started
        // a run of r3 left without an end was cut off by the exit at the latest
        kills.push({ runner: "r3", at: dbNow(pg) })
        assert.notStrictEqual(code, null, "r3 did not exit by itself")
      }
    })
    const { rows } = await assertInvariants(prefix, 120_000)
    // a graceful stop leaves no run cut off: each either ended or recorded its interruption
    assert.deepStrictEqual(rows.filter((r) => r.runner === "r3" && r.ended === undefined).map((r) => r.key), [])
    measurements["sigterm"] = { stopMs: stoppedIn, interruptedRuns: rows.filter((r) => r.interrupted).length }
  }, 180_000)

  it("runners joining during a burst: shards move to them, nothing lost, no overlap", async () => {
    const prefix = "join/"
    await burst(prefix, 8, {
      during: async () => {
        await inFlightOn("r1", prefix)
        await Promise.all([spawnRunner("r4"), spawnRunner("r5")])
      }
    })
    await burst(prefix, 2, { from: 8 })
    const { rows } = await assertInvariants(prefix, 120_000)
    const joined = rows.filter((r) => r.runner === "r4" || r.runner === "r5").length
    assert.isAbove(joined, 0, "the joining runners ran nothing")
    measurements["join"] = { runsOnJoiners: joined, runs: rows.length }
  }, 180_000)

  it(
    "a runner paused longer than the lease (not promised): its keys run elsewhere, and its stale run's fencing token is no longer current",
    async () => {
      const prefix = "pause/"
      const paused = runners.get("r4")!
      let pausedAt = 0
      let resumedAt = 0
      let stale: Array<{ key: string; token: number }> = []
      let stopped = false
      let fenced = 0
      try {
        await burst(prefix, 4, {
          during: async () => {
            await inFlightOn("r4", prefix)
            paused.child.kill("SIGSTOP")
            pausedAt = dbNow(pg)
            stale = JSON.parse(
              psql(
                pg,
                `SELECT coalesce(json_agg(json_build_object('key', key, 'token', token)), '[]') FROM probe_runs
            WHERE runner = 'r4' AND ended IS NULL AND key LIKE '${prefix}%'`
              )
            )
            await sleep(20_000) // twice the lease: the server drops r4's locks, the others take its keys
            resumedAt = dbNow(pg)
            paused.child.kill("SIGCONT")
          }
        })
        const submitted = submittedWith(prefix)
        await waitFor(
          "every pause/ submit to be covered",
          () => uncovered(runs(pg, prefix), submitted).length === 0,
          120_000,
          500
        )
        const rows = runs(pg, prefix)
        // overlaps happen only with the paused runner's stale runs, never between the others
        for (const overlap of overlaps(rows, kills)) assert.include(overlap, "on r4", overlap)
        // every stale run whose key started elsewhere during the pause found its token superseded
        for (const { key, token } of stale) {
          const newer = rows.some((r) => r.key === key && r.token > token && r.started < resumedAt)
          const row = rows.find((r) => r.key === key && r.token === token)!
          if (newer && row.ended !== undefined) {
            assert.isTrue(row.overlapped, `${key}: the stale run (token ${token}) did not see the newer token`)
            fenced++
          }
        }
        assert.deepStrictEqual(staleLast(rows, submitted), [])
      } finally {
        // Observed, not asserted (the paused runner is outside what is promised):
        // whether it still stops on SIGTERM. In effect 4.1.0 it often does not
        // (docs/scaling.md, "A paused runner may not stop on SIGTERM"). In
        // `finally`, so that a failure above does not leave it to the next test.
        paused.child.kill("SIGCONT")
        paused.child.kill("SIGTERM")
        stopped = await Promise.race([paused.exited.then(() => true), sleep(15_000).then(() => false)])
        if (!stopped) await paused.signal("SIGKILL")
        runners.delete("r4")
      }
      measurements["sigstop"] = {
        pausedMs: Math.round(resumedAt - pausedAt),
        staleRuns: stale.length,
        fenced,
        stoppedOnSigterm: stopped
      }
    },
    180_000
  )

  it(
    "retention deletes processed submits and their replies older than the age, and never an unanswered one",
    async () => {
      // the runners that were never paused stop on SIGTERM by themselves
      for (const runner of runners.values()) runner.child.kill("SIGTERM")
      const stops = await Promise.all(
        [...runners.values()].map((r) =>
          Promise.race([r.exited.then(() => "stopped"), sleep(60_000).then(() => r.name)])
        )
      )
      assert.deepStrictEqual(stops.filter((s) => s !== "stopped"), [], "runners that did not stop on SIGTERM")
      runners.clear()
      // stored while no runner is up: unanswered
      for (let k = 0; k < 5; k++) await client.submit(`retention/${k}`, 0)
      const count = (where: string) => Number(psql(pg, `SELECT count(*) FROM cluster_messages WHERE ${where}`))
      const processedBefore = count("processed AND entity_type = 'Probe'")
      const repliesBefore = Number(psql(pg, "SELECT count(*) FROM cluster_replies"))
      assert.isAbove(processedBefore, 0)
      const none = await client.run(Retention.purge({ olderThan: "1 hour" }))
      assert.deepStrictEqual(none, { messages: 0, replies: 0 })
      await sleep(5)
      const purged = await client.run(Retention.purge({ olderThan: 0 }))
      assert.isAtLeast(purged.messages, processedBefore)
      assert.isAtLeast(purged.replies, 1)
      assert.strictEqual(count("processed"), 0)
      assert.strictEqual(count("NOT processed AND entity_id LIKE 'retention/%'"), 5)
      assert.isBelow(Number(psql(pg, "SELECT count(*) FROM cluster_replies")), repliesBefore)
      measurements["retention"] = { messages: purged.messages, replies: purged.replies, at: dbNow(pg) }
    },
    120_000
  )
})

export { Effect }
