/**
 * Runs effect-task alone in one cell, for `node --cpu-prof`:
 *
 *   node --cpu-prof --cpu-prof-dir=packages/bench/profiles packages/bench/dist/profile.js --n=1000000 --bound=8 --kind=sync
 *   node packages/bench/dist/summarize-profile.js packages/bench/profiles/<file>.cpuprofile
 *
 * `--gc` (with `node --expose-gc`) collects before every run, as the matrix does.
 */
/* oxlint-disable no-await-in-loop -- runs are sequential on purpose */
import type { BodyKind } from "./bodies.ts"
import { impls } from "./impls.ts"
import { checkProbe, resetProbe } from "./probe.ts"

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback

const n = Number(arg("n", "1000000"))
const boundArg = arg("bound", "8")
const bound = boundArg === "unbounded" ? Infinity : Number(boundArg)
const kind = arg("kind", "sync") as BodyKind
const repeat = Number(arg("repeat", "3"))
const implName = arg("impl", "effect-task")
/** `--gc`: a full collection before every run, as the matrix does (needs `node --expose-gc`) */
const collect = process.argv.includes("--gc")
const impl = impls.find((i) => i.name === implName)

const main = async (): Promise<void> => {
  if (impl === undefined) throw new Error(`unknown --impl=${implName}`)
  for (let i = 0; i < repeat; i++) {
    if (collect) {
      const gc = (globalThis as { gc?: () => void }).gc
      if (gc === undefined) throw new Error("--gc needs node --expose-gc")
      gc()
    }
    resetProbe()
    const t0 = performance.now()
    await impl.run(n, bound, kind, 600_000)
    const ms = performance.now() - t0
    const check = checkProbe(n, bound)
    process.stdout.write(
      `${impl.name} N=${n} bound=${boundArg} body=${kind}: ${ms.toFixed(0)} ms, ${
        (n / ms / 1000).toFixed(2)
      }M/s, ${check.message}\n`
    )
    if (!check.ok) process.exitCode = 1
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 2
})
