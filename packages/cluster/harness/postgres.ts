/**
 * A throwaway PostgreSQL for the integration suite and the demo: found on
 * the machine or installed from Debian's packages, initialised in a temp
 * directory, listening on 127.0.0.1 only, on a free port.
 *
 * **Invariants**
 * - the server listens on 127.0.0.1 and a Unix socket in its own directory,
 *   nowhere else (`listen_addresses`), with `trust` authentication for
 *   local connections only (`pg_hba.conf` written here);
 * - `stop()` ends the server and removes its directory.
 *
 * **Gotchas**
 * - initdb and postgres refuse to run as root: as root, they run as the
 *   `postgres` user (created by the Debian package, or here if missing).
 * - When no PostgreSQL is installed, this runs `apt-get update` and
 *   `apt-get install -y postgresql` (root, or passwordless sudo). When that
 *   fails it throws: the integration suite must fail loudly, never skip.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export interface Postgres {
  readonly host: "127.0.0.1"
  readonly port: number
  readonly database: string
  readonly username: string
  readonly version: string
  readonly dir: string
  stop(): Promise<void>
}

const log = (message: string) => process.stderr.write(`postgres: ${message}\n`)

/** The bin directory of the newest installed PostgreSQL, or `undefined`. */
export const findBin = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  const fromRoot = fs.existsSync(root)
    ? fs.readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
      .toSorted((a, b) => Number(b) - Number(a))
      .map((v) => path.join(root, v, "bin"))
    : []
  if (fromRoot.length > 0) return fromRoot[0]
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" })
  return which.status === 0 && which.stdout.trim() !== "" ? path.dirname(which.stdout.trim()) : undefined
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/** Installs PostgreSQL from the distribution's packages, or throws saying why it could not. */
export const install = (): string => {
  log("no PostgreSQL found; installing it with apt-get (apt-get update && apt-get install -y postgresql)")
  const sudo = isRoot() ? [] : ["sudo", "-n"]
  const run = (args: Array<string>) => {
    const [cmd, ...rest] = [...sudo, ...args]
    const result = spawnSync(cmd!, rest, {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    })
    if (result.status !== 0) {
      throw new Error(
        `postgres: \`${[cmd, ...rest].join(" ")}\` failed (status ${result.status}${
          result.error ? `, ${result.error.message}` : ""
        }): PostgreSQL 14 or newer is required for the cluster integration suite; install it (Debian/Ubuntu: apt-get install postgresql)`
      )
    }
  }
  run(["apt-get", "update"])
  run(["apt-get", "install", "-y", "postgresql"])
  const bin = findBin()
  if (bin === undefined) throw new Error("postgres: apt-get install postgresql succeeded but no initdb was found")
  return bin
}

/** The unprivileged user to run the server as, when running as root. */
const serverUser = (): string | undefined => {
  if (!isRoot()) return undefined
  if (spawnSync("id", ["-u", "postgres"]).status !== 0) {
    log("creating the system user postgres (initdb refuses root)")
    execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"])
  }
  return "postgres"
}

const asUser = (user: string | undefined, bin: string, args: Array<string>): [string, Array<string>] =>
  user === undefined ? [bin, args] : ["runuser", ["-u", user, "--", bin, ...args]]

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs SQL through psql as the superuser; returns stdout (unaligned, tuples only). */
export const psql = (pg: Pick<Postgres, "port" | "database" | "username">, sql: string): string => {
  const result = spawnSync("psql", [
    "-h",
    "127.0.0.1",
    "-p",
    String(pg.port),
    "-U",
    pg.username,
    "-d",
    pg.database,
    "-At",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    sql
  ], { encoding: "utf8" })
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`)
  return result.stdout.trim()
}

/**
 * Starts a fresh server. Extra settings are passed as `-c name=value`.
 */
export const start = async (options?: { readonly settings?: Record<string, string> }): Promise<Postgres> => {
  const bin = findBin() ?? install()
  const user = serverUser()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-cluster-pg-"))
  const data = path.join(dir, "data")
  if (user !== undefined) execFileSync("chown", [user, dir])
  const [initCmd, initArgs] = asUser(user, path.join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8"
  ])
  const init = spawnSync(initCmd, initArgs, { encoding: "utf8" })
  if (init.status !== 0) throw new Error(`postgres: initdb failed: ${init.stderr || init.stdout}`)
  // local connections only
  fs.writeFileSync(
    path.join(data, "pg_hba.conf"),
    "local all all trust\nhost all all 127.0.0.1/32 trust\n"
  )
  const port = await freePort()
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    max_connections: "300",
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    shared_buffers: "64MB",
    ...options?.settings
  }
  const [cmd, args] = asUser(user, path.join(bin, "postgres"), [
    "-D",
    data,
    "-p",
    String(port),
    ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])
  ])
  const server = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  server.stderr.on("data", (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4000)
  })
  let exited = false
  server.once("exit", () => {
    exited = true
  })
  const deadline = Date.now() + 30_000
  while (true) {
    if (exited) throw new Error(`postgres: the server exited during startup:\n${stderr}`)
    const ready = spawnSync("pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"])
    if (ready.status === 0) break
    if (Date.now() > deadline) {
      server.kill("SIGKILL")
      throw new Error(`postgres: not ready after 30 s:\n${stderr}`)
    }
    await sleep(100)
  }
  const pg = { port, database: "cluster", username: "postgres" }
  psql({ ...pg, database: "postgres" }, "CREATE DATABASE cluster")
  const version = psql(pg, "SHOW server_version")
  return {
    host: "127.0.0.1",
    ...pg,
    version,
    dir,
    stop: async () => {
      if (!exited) {
        const done = new Promise((resolve) => server.once("exit", resolve))
        server.kill("SIGINT") // fast shutdown
        const timer = setTimeout(() => server.kill("SIGKILL"), 10_000)
        await done
        clearTimeout(timer)
      }
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
