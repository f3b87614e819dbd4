/**
 * `pnpm demo:cluster`: a cluster-wide coalescer end to end on this machine.
 *
 * Starts a PostgreSQL (installed with apt-get if missing, initialised in a
 * temp dir, on 127.0.0.1), three runner processes and a client; the client
 * submits a burst over 100 keys, one runner is killed (SIGKILL) in the middle
 * of a run, and the demo prints what happened: runs per key, the runs the
 * kill cut off and how long their keys waited for another runner, and
 * whether anything was lost. Exits 0 when every promised invariant held.
 *
 * Usage: pnpm demo:cluster [--keys N] [--rounds N]
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  type Kill,
  makeClient,
  overlaps,
  type Runner,
  runs,
  setupSchema,
  staleLast,
  startRunner,
  uncovered,
  waitFor
} from "./cluster.ts"
import { psql, start } from "./postgres.ts"

const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  if (at === -1) return fallback
  const value = Number(process.argv[at + 1])
  if (!Number.isInteger(value) || value < 1) {
    console.error(`demo:cluster: --${name} must be a positive integer, got ${JSON.stringify(process.argv[at + 1])}`)
    process.exit(2)
  }
  return value
}
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith("--") && arg !== "--keys" && arg !== "--rounds") {
    console.error(`demo:cluster: unknown flag ${arg} (usage: pnpm demo:cluster [--keys N] [--rounds N])`)
    process.exit(2)
  }
}
const keys = flag("keys", 100)
const rounds = flag("rounds", 10)

const say = (line: string) => console.log(line)
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-cluster-demo-"))

say("effect-task-cluster demo: PostgreSQL, three runners, a client, a burst and a SIGKILL")
const pg = await start()
say(`  PostgreSQL ${pg.version} on 127.0.0.1:${pg.port} (data in ${pg.dir})`)
setupSchema(pg)
const runners: Array<Runner> = []
let exitCode = 1
try {
  for (const name of ["runner-1", "runner-2", "runner-3"]) {
    runners.push(await startRunner(pg, name, { workMs: 300, workers: 4, logDir }))
  }
  await Promise.all(runners.map((r) => r.ready))
  say(`  runners up: ${runners.map((r) => `${r.name} (127.0.0.1:${r.port})`).join(", ")}; logs in ${logDir}`)
  const client = makeClient(pg)
  const kills: Array<Kill> = []
  let cutOff: Array<string> = []
  const started = Date.now()
  const victim = runners[1]!
  const killer = (async () => {
    await waitFor(
      `a run in flight on ${victim.name}`,
      () => Number(psql(pg, `SELECT count(*) FROM probe_runs WHERE runner = '${victim.name}' AND ended IS NULL`)) > 0,
      60_000,
      50
    )
    cutOff = psql(pg, `SELECT key FROM probe_runs WHERE runner = '${victim.name}' AND ended IS NULL`).split("\n")
    const at = await victim.signal("SIGKILL")
    kills.push({ runner: victim.name, at: Number(psql(pg, `SELECT extract(epoch from '${at}'::timestamptz) * 1000`)) })
    say(`  SIGKILL ${victim.name} while it ran ${cutOff.length} key(s): ${cutOff.join(", ")}`)
  })()
  for (let seq = 0; seq < rounds; seq++) {
    await Promise.all(Array.from({ length: keys }, (_, k) => client.submit(`demo/${k}`, seq)))
  }
  const submitSeconds = (Date.now() - started) / 1000
  await killer
  say(
    `  submitted ${client.count} times over ${keys} keys in ${submitSeconds.toFixed(1)} s (each returned once stored)`
  )
  await waitFor(
    "every submit to be covered",
    () => uncovered(runs(pg, "demo/"), client.submitted).length === 0,
    180_000,
    500
  )
  const rows = runs(pg, "demo/")
  const ended = rows.filter((r) => r.ended !== undefined && !r.interrupted)
  const perKey = new Map<string, number>()
  for (const row of ended) perKey.set(row.key, (perKey.get(row.key) ?? 0) + 1)
  const counts = [...perKey.values()].toSorted((a, b) => a - b)
  const byRunner = new Map<string, number>()
  for (const row of ended) byRunner.set(row.runner, (byRunner.get(row.runner) ?? 0) + 1)
  say("")
  say(
    `runs per key: ${ended.length} runs for ${client.count} submits (min ${counts[0]}, median ${
      counts[Math.floor(counts.length / 2)]
    }, max ${counts.at(-1)} per key of ${rounds} submits)`
  )
  say(`runs per runner: ${[...byRunner].map(([name, n]) => `${name} ${n}`).join(", ")}`)
  say(`recoveries after the SIGKILL of ${victim.name}:`)
  for (const key of cutOff) {
    const next = ended.filter((r) => r.key === key && r.runner !== victim.name && r.started > kills[0]!.at)
    const first = next.toSorted((a, b) => a.started - b.started)[0]
    say(
      `  ${key}: run again on ${first?.runner ?? "?"} ${
        first ? ((first.started - kills[0]!.at) / 1000).toFixed(1) : "?"
      } s after the kill`
    )
  }
  const lost = uncovered(rows, client.submitted)
  const overlapping = overlaps(rows, kills)
  const stale = staleLast(rows, client.submitted)
  say(
    `nothing lost: ${
      lost.length === 0 ? "yes" : `NO, ${lost.length} submits without a run`
    }, every key's last run covers its latest submit: ${
      stale.length === 0 ? "yes" : `NO (${stale.length})`
    }, overlapping runs of a key: ${overlapping.length === 0 ? "none" : overlapping.length}`
  )
  exitCode = lost.length === 0 && overlapping.length === 0 && stale.length === 0 ? 0 : 1
  await client.dispose()
} finally {
  for (const runner of runners) runner.child.kill("SIGTERM")
  await Promise.all(runners.map((r) => r.exited))
  await pg.stop()
}
process.exit(exitCode)
