/**
 * One sample of the cold cell (see `cold.ts`): a fresh process imports the
 * implementations, runs one batch with one of them, checks it and prints one
 * JSON line. Arguments: `--impl=<name> --n=<N> --bound=<8|64|unbounded> --kind=<body>`;
 * `--profile=<file>` writes a CPU profile of the batch alone (started after
 * the imports) to `file` (`profiles.ts`).
 */
import * as fs from "node:fs"
import type { BodyKind } from "./bodies.ts"
import { startProfiler } from "./cpuProfile.ts"

const arg = (name: string): string => {
  const value = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  if (value === undefined) throw new Error(`cold-child: --${name}= is required`)
  return value
}

const main = async (): Promise<void> => {
  const i0 = performance.now()
  const { impls } = await import("./impls.ts")
  const { checkProbe, resetProbe } = await import("./probe.ts")
  const importMs = performance.now() - i0
  const name = arg("impl")
  const n = Number(arg("n"))
  const bound = arg("bound") === "unbounded" ? Infinity : Number(arg("bound"))
  const kind = arg("kind") as BodyKind
  const impl = impls.find((candidate) => candidate.name === name)
  if (impl === undefined) throw new Error(`cold-child: unknown --impl=${name}`)
  const profileFile = process.argv.find((a) => a.startsWith("--profile="))?.slice("--profile=".length)
  const stopProfiler = profileFile === undefined ? undefined : await startProfiler()
  resetProbe()
  const t0 = performance.now()
  const completed = await impl.run(n, bound, kind, 60_000)
  const ms = performance.now() - t0
  if (stopProfiler !== undefined) fs.writeFileSync(profileFile!, JSON.stringify(await stopProfiler()))
  const check = completed ? checkProbe(n, bound) : { ok: false, message: "the run exceeded 60 s" }
  process.stdout.write(
    `${JSON.stringify({ impl: name, node: process.version, importMs, ms, ok: check.ok, message: check.message })}\n`
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 2
})
