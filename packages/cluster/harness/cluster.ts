/**
 * Process management and invariant checks shared by the integration suite
 * and the demo: runner processes (dist-harness/runner.js) on 127.0.0.1, a
 * client runtime in this process, and the checks over `probe_runs`.
 */
import { Effect, Exit, ManagedRuntime } from "effect"
import { ClusterCoalescer, ClusterRunner } from "effect-task-cluster"
import type { SqlClient } from "effect/sql/SqlClient"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, type Postgres, psql } from "./postgres.ts"
import { Probe, schema } from "./probe.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
/** The compiled runner: this file's directory in dist-harness, or dist-harness next to harness/. */
const runnerScript = fs.existsSync(path.join(here, "runner.js"))
  ? path.join(here, "runner.js")
  : path.join(here, "..", "dist-harness", "runner.js")

export interface Runner {
  readonly name: string
  readonly port: number
  readonly child: ChildProcess
  readonly ready: Promise<void>
  readonly exited: Promise<number | null>
  readonly logFile: string
  /** Sends a signal; resolves to the database's clock_timestamp() right after it was sent (for SIGKILL: after exit). */
  signal(signal: NodeJS.Signals): Promise<string>
}

export const setupSchema = (pg: Postgres) => psql(pg, schema)

export const startRunner = async (
  pg: Postgres,
  name: string,
  options: { readonly workMs: number; readonly workers: number; readonly logDir: string }
): Promise<Runner> => {
  const port = await freePort()
  const logFile = path.join(options.logDir, `${name}.log`)
  const log = fs.openSync(logFile, "a")
  const child = spawn(process.execPath, [runnerScript], {
    env: {
      ...process.env,
      PG_PORT: String(pg.port),
      RUNNER_PORT: String(port),
      RUNNER_NAME: name,
      WORK_MS: String(options.workMs),
      WORKERS: String(options.workers)
    },
    stdio: ["ignore", "pipe", log]
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const ready = new Promise<void>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (chunk) => {
      out += String(chunk)
      fs.appendFileSync(logFile, String(chunk))
      if (out.includes(`ready ${name}`)) resolve()
    })
    void exited.then((code) => reject(new Error(`runner ${name} exited (${code}) before it was ready; see ${logFile}`)))
  })
  return {
    name,
    port,
    child,
    ready,
    exited,
    logFile,
    signal: async (signal) => {
      child.kill(signal)
      if (signal === "SIGKILL") await exited
      return psql(pg, "SELECT clock_timestamp()")
    }
  }
}

/** A client-only cluster process inside this one: submits through `ClusterRunner.layerClient`. */
export const makeClient = (pg: Postgres) => {
  const runtime = ManagedRuntime.make(
    ClusterRunner.layerClient({
      postgres: { host: "127.0.0.1", port: pg.port, database: "cluster", username: "postgres" }
    })
  )
  const client = runtime.runPromise(ClusterCoalescer.client(Probe))
  /** The highest sequence number whose submit returned, per key. */
  const submitted = new Map<string, number>()
  let count = 0
  return {
    submitted,
    get count() {
      return count
    },
    /** Submits seq to key; records it once the submit returned (stored). */
    submit: async (key: string, seq: number) => {
      const probe = await client
      const exit = await runtime.runPromiseExit(probe.submit(key, seq === undefined ? { seq: 0 } : { seq }))
      if (Exit.isFailure(exit)) throw new Error(`submit ${key} ${seq} failed`)
      count++
      if ((submitted.get(key) ?? -1) < seq) submitted.set(key, seq)
    },
    submitAndAwait: async (key: string, seq: number) => {
      const probe = await client
      return runtime.runPromise(probe.submitAndAwait(key, { seq }))
    },
    dispose: () => runtime.dispose(),
    run: <A, E>(effect: Effect.Effect<A, E, SqlClient>) => runtime.runPromise(effect)
  }
}

export interface RunRow {
  readonly key: string
  readonly runner: string
  readonly token: number
  readonly covered: ReadonlyArray<number>
  readonly latest: number
  readonly started: number
  readonly ended: number | undefined
  readonly interrupted: boolean
  readonly overlapped: boolean | undefined
}

export const runs = (pg: Postgres, prefix: string): Array<RunRow> => {
  const out = psql(
    pg,
    `SELECT json_agg(json_build_object('key', key, 'runner', runner, 'token', token, 'covered', covered,
       'latest', latest, 'started', extract(epoch from started) * 1000, 'ended', extract(epoch from ended) * 1000,
       'interrupted', interrupted, 'overlapped', overlapped) ORDER BY token)
     FROM probe_runs WHERE key LIKE '${prefix}%'`
  )
  if (out === "") return []
  const rows = JSON.parse(out) as Array<any>
  for (const row of rows) {
    row.ended ??= undefined
    row.overlapped ??= undefined
  }
  return rows
}

/** Seconds since the epoch of the database's clock, in millis. */
export const dbNow = (pg: Postgres): number => Number(psql(pg, "SELECT extract(epoch from clock_timestamp()) * 1000"))

export const highWater = (pg: Postgres): Array<{ runner: string; workers: number; high: number }> => {
  const out = psql(
    pg,
    `SELECT json_agg(json_build_object('runner', runner, 'workers', workers, 'high', high_water)) FROM probe_runners`
  )
  return out === "" ? [] : JSON.parse(out)
}

/** Keys whose submits are not all covered by a run that ended (not interrupted, not cut off). */
export const uncovered = (rows: ReadonlyArray<RunRow>, submitted: ReadonlyMap<string, number>): Array<string> => {
  const done = new Map<string, Set<number>>()
  for (const row of rows) {
    if (row.ended === undefined || row.interrupted) continue
    let set = done.get(row.key)
    if (set === undefined) done.set(row.key, set = new Set())
    for (const seq of row.covered) set.add(seq)
  }
  const missing: Array<string> = []
  for (const [key, max] of submitted) {
    const set = done.get(key)
    for (let seq = 0; seq <= max; seq++) {
      if (set === undefined || !set.has(seq)) {
        missing.push(`${key}#${seq}`)
      }
    }
  }
  return missing
}

export interface Kill {
  readonly runner: string
  readonly at: number
}

/**
 * Pairs of runs of one key that overlapped in time: flagged by the fencing
 * check (the earlier run saw a newer token when it ended), or a run of a
 * killed runner, cut off, whose key started elsewhere before the kill.
 */
export const overlaps = (rows: ReadonlyArray<RunRow>, kills: ReadonlyArray<Kill>): Array<string> => {
  const found: Array<string> = []
  for (const row of rows) {
    if (row.overlapped === true) {
      // name the run that superseded it too: either side may be the runner at fault
      const next = rows
        .filter((other) => other.key === row.key && other.token > row.token)
        .toSorted((a, b) => a.token - b.token)[0]
      const by = next === undefined ? "" : `, superseded by token ${next.token} on ${next.runner}`
      found.push(`${row.key} token ${row.token} on ${row.runner} (fencing${by})`)
    }
    if (row.ended === undefined) {
      const kill = kills.find((k) => k.runner === row.runner)
      const end = kill?.at ?? Infinity
      for (const other of rows) {
        if (other.key === row.key && other.token > row.token && other.started < end) {
          found.push(
            `${row.key} token ${row.token} on ${row.runner} cut off at ${end}, token ${other.token} started at ${other.started}`
          )
        }
      }
    }
  }
  return found
}

/** Keys whose last ended run (highest token) does not cover the key's latest submit. */
export const staleLast = (rows: ReadonlyArray<RunRow>, submitted: ReadonlyMap<string, number>): Array<string> => {
  const last = new Map<string, RunRow>()
  for (const row of rows) {
    if (row.ended === undefined || row.interrupted) continue
    const prev = last.get(row.key)
    if (prev === undefined || prev.token < row.token) last.set(row.key, row)
  }
  const stale: Array<string> = []
  for (const [key, max] of submitted) {
    const row = last.get(key)
    if (row === undefined || row.latest !== max || !row.covered.includes(max)) {
      stale.push(`${key}: last run latest ${row?.latest}, submitted ${max}`)
    }
  }
  return stale
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until `check` returns true, polling every `every` ms, or throws after `timeoutMs`. */
export const waitFor = async (what: string, check: () => boolean, timeoutMs: number, every = 250) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(every)
  }
}

export { Effect }
