/**
 * The command line: `main.js [dir] [options]`, parsed with `node:util`
 * `parseArgs`. Pure: returns the options or a usage error.
 */
import * as path from "node:path"
import { parseArgs } from "node:util"

export const usage = `Usage: pnpm demo [dir] [options]

Builds the Flux clusters of the GitOps repository in dir (default: the bundled
fixtures) as Flux does — from each cluster's root Kustomizations — reconciles
every Kustomization and HelmRelease through effect-task, and prints a summary.

Options:
  --workers N          worker bound (default: the TaskService default; 0 = unbounded)
  --latency <ms>       simulated render latency (default 5ms)
  --out DIR            keep the rendered files there (default: a temp dir, removed at exit)
  --dep-timeout <t>    safety-net cap on dependency waits, e.g. 500ms or 10s (default 10s)
  --json               machine-readable summary on stdout
  --all                list the ready objects too (terminal summary)
  --strict             input problems make the exit status 1 as well
  --watch              keep running: re-render changed objects and their dependents (Ctrl-C to stop)
  --debounce <ms>      watch mode: quiet time before a burst of edits is processed (default 50ms)
  -h, --help           this text

Exit status: 0 when every object of every cluster is ready (input problems
alone do not fail the run unless --strict), 1 otherwise (the bundled fixtures
are broken on purpose, so 1; a dir without Flux objects is 1 too), 2 on bad usage or an unreadable dir, 130 when
interrupted (SIGINT, SIGTERM) outside watch mode. NO_COLOR turns colours off.`

export interface CliOptions {
  readonly dir: string | undefined
  readonly workers: number | undefined
  readonly latencyMs: number | undefined
  readonly outDir: string | undefined
  readonly depTimeoutMs: number | undefined
  readonly debounceMs: number
  readonly json: boolean
  readonly all: boolean
  readonly strict: boolean
  readonly watch: boolean
  readonly help: boolean
}

export type ParsedArgs = { readonly _tag: "Ok"; readonly options: CliOptions } | {
  readonly _tag: "Error"
  readonly message: string
}

/** `"250"`, `"250ms"`, `"1.5s"`, `"1m"` → milliseconds (a bare number is milliseconds). */
export const parseDuration = (text: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text)
  if (match === null) return undefined
  const value = Number(match[1])
  const unit = match[2] ?? "ms"
  return unit === "ms" ? value : unit === "s" ? value * 1000 : value * 60_000
}

/** `undefined` when absent, the milliseconds, or an error message. */
const duration = (name: string, text: string | undefined): number | undefined | string => {
  if (text === undefined) return undefined
  const value = parseDuration(text)
  return value === undefined ? `--${name}: expected a duration like 5, 5ms or 2s, got ${JSON.stringify(text)}` : value
}

export const parseCli = (argv: ReadonlyArray<string>): ParsedArgs => {
  let parsed: ReturnType<typeof parseWith>
  try {
    parsed = parseWith(argv)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // parseArgs refuses a value that looks like an option ("--workers -1") without naming it
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(message)
    if (ambiguous !== null) {
      const value = argv[argv.indexOf(ambiguous[1]!) + 1] ?? ""
      return {
        _tag: "Error",
        message: `${ambiguous[1]}: got ${JSON.stringify(value)}, which looks like an option `
          + `(write ${ambiguous[1]}=${value} if it is meant as the value)`
      }
    }
    return { _tag: "Error", message }
  }
  const { positionals, values } = parsed
  if (positionals.length > 1) {
    return {
      _tag: "Error",
      message: `dir: expected at most one, got ${positionals.map((p) => JSON.stringify(p)).join(", ")}`
    }
  }
  let workers: number | undefined
  if (values.workers !== undefined) {
    workers = Number(values.workers)
    if (!/^\d+$/.test(values.workers.trim()) || !Number.isSafeInteger(workers)) {
      return {
        _tag: "Error",
        message: `--workers: expected a whole number >= 0, got ${JSON.stringify(values.workers)}`
      }
    }
  }
  if (values.out !== undefined && values.out.trim() === "") {
    return { _tag: "Error", message: `--out: expected a directory, got ${JSON.stringify(values.out)}` }
  }
  if (positionals[0] !== undefined && positionals[0].trim() === "") {
    return { _tag: "Error", message: `dir: expected a directory, got ${JSON.stringify(positionals[0])}` }
  }
  const latencyMs = duration("latency", values.latency)
  const depTimeoutMs = duration("dep-timeout", values["dep-timeout"])
  const debounceMs = duration("debounce", values.debounce)
  for (const value of [latencyMs, depTimeoutMs, debounceMs]) {
    if (typeof value === "string") return { _tag: "Error", message: value }
  }
  return {
    _tag: "Ok",
    options: {
      dir: positionals[0],
      workers,
      latencyMs: latencyMs as number | undefined,
      outDir: values.out,
      depTimeoutMs: depTimeoutMs as number | undefined,
      debounceMs: (debounceMs as number | undefined) ?? 50,
      json: values.json ?? false,
      all: values.all ?? false,
      strict: values.strict ?? false,
      watch: values.watch ?? false,
      help: values.help ?? false
    }
  }
}

const parseWith = (argv: ReadonlyArray<string>) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      workers: { type: "string" },
      latency: { type: "string" },
      out: { type: "string" },
      "dep-timeout": { type: "string" },
      debounce: { type: "string" },
      json: { type: "boolean" },
      all: { type: "boolean" },
      strict: { type: "boolean" },
      watch: { type: "boolean" },
      help: { type: "boolean", short: "h" }
    }
  })

/**
 * Why `--out` cannot be used with `dir`, or `undefined`: the dir itself, or
 * a dir that contains it, would mix the renders into the tree being read
 * (and the dir itself would read them back as duplicates on the next run).
 * An `--out` inside `dir` is fine: it is not read.
 */
export const outDirConflict = (dir: string, outDir: string | undefined): string | undefined => {
  if (outDir === undefined) return undefined
  const rel = path.relative(path.resolve(outDir), path.resolve(dir))
  if (rel !== "" && (rel.startsWith("..") || path.isAbsolute(rel))) return undefined
  return `--out: ${JSON.stringify(outDir)} is ${rel === "" ? "the dir being read" : "a parent of the dir being read"}; `
    + "the renders would be written into the tree (choose another directory, or one inside it)"
}
