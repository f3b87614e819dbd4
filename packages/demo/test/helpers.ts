/**
 * Helpers of the end-to-end tests: fixture trees in temp dirs, and running
 * the compiled program (`packages/demo/dist/main.js`, built by `tsc -b`).
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ObjectResult, Summary } from "../src/model.ts"

export const mainJs = fileURLToPath(new URL("../dist/main.js", import.meta.url))

/** Writes `files` (relative path → text) into a fresh temp dir and returns its path. */
export const tree = (files: Record<string, string>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-task-demo-test-"))
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, text)
  }
  return dir
}

const apiVersions = {
  Kustomization: "kustomize.toolkit.fluxcd.io/v1",
  HelmRelease: "helm.toolkit.fluxcd.io/v2"
}

/** One YAML document of a Flux object. */
export const object = (
  kind: "Kustomization" | "HelmRelease",
  name: string,
  options: {
    readonly namespace?: string
    readonly dependsOn?: ReadonlyArray<string | { readonly name: string; readonly namespace: string }>
    readonly failRender?: string
    readonly label?: string
    readonly suspend?: boolean
    /** extra lines under `spec:` (indented by two spaces already) */
    readonly spec?: ReadonlyArray<string>
  } = {}
): string => {
  const lines = [`apiVersion: ${apiVersions[kind]}`, `kind: ${kind}`, "metadata:", `  name: ${name}`]
  if (options.namespace !== undefined) lines.push(`  namespace: ${options.namespace}`)
  if (options.label !== undefined) lines.push("  labels:", `    edit: "${options.label}"`)
  if (options.failRender !== undefined) {
    lines.push("  annotations:", `    demo.effect-task/fail-render: "${options.failRender}"`)
  }
  if (options.dependsOn !== undefined || options.suspend !== undefined || options.spec !== undefined) {
    lines.push("spec:")
    if (options.suspend !== undefined) lines.push(`  suspend: ${options.suspend}`)
    lines.push(...(options.spec ?? []))
  }
  if (options.dependsOn !== undefined) {
    lines.push("  dependsOn:")
    for (const dep of options.dependsOn) {
      if (typeof dep === "string") lines.push(`    - name: ${dep}`)
      else lines.push(`    - name: ${dep.name}`, `      namespace: ${dep.namespace}`)
    }
  }
  return lines.join("\n") + "\n"
}

export const docs = (...documents: ReadonlyArray<string>): string => documents.join("---\n")

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the program to its end. */
export const run = (
  args: ReadonlyArray<string>,
  env?: Record<string, string>,
  /** another command line to run instead (e.g. through `script` for a terminal) */
  command?: ReadonlyArray<string>
): Promise<Run> =>
  new Promise((resolve) => {
    const options = { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } }
    const [file, ...rest] = command ?? [process.execPath, mainJs, ...args]
    execFile(file!, rest, options, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      resolve({ code, stdout, stderr })
    })
  })

/** Runs the program with `--json --latency 1` and parses its summary. */
export const runJson = async (
  dir: string,
  extra: ReadonlyArray<string> = []
): Promise<Run & { readonly summary: Summary; readonly byId: (id: string, cluster?: string) => ObjectResult }> => {
  const result = await run([dir, "--json", "--latency", "1", ...extra])
  let summary: Summary
  try {
    summary = JSON.parse(result.stdout)
  } catch {
    throw new Error(`no JSON summary (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
  const byId = (id: string, cluster = ".") => {
    const found = summary.objects.find((o) => o.id === id && o.cluster === cluster)
    if (found === undefined) {
      throw new Error(`no object ${cluster} ${id} in ${summary.objects.map((o) => `${o.cluster} ${o.id}`).join(", ")}`)
    }
    return found
  }
  return { ...result, summary, byId }
}

/** The totals of a summary with every status. */
export const totals = (
  partial: Partial<Record<"ready" | "failed" | "missing-dependency" | "cycle" | "suspended", number>>
) => ({
  ready: 0,
  failed: 0,
  "missing-dependency": 0,
  cycle: 0,
  suspended: 0,
  ...partial
})

/** A running child (`--watch`, or a run to interrupt) whose stdout is collected line by line. */
export const startWatch = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [mainJs, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  const lines: Array<string> = []
  let stderr = ""
  let buffer = ""
  child.stdout.setEncoding("utf8")
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk
    const parts = buffer.split("\n")
    buffer = parts.pop()!
    lines.push(...parts)
  })
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  /** Resolves once `predicate` holds for the lines so far; rejects after `ms`. */
  const until = (predicate: (lines: ReadonlyArray<string>) => boolean, ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = performance.now()
      const check = () => {
        if (predicate(lines)) return resolve()
        if (performance.now() - started > ms) {
          return reject(new Error(`timed out; stdout so far:\n${lines.join("\n")}\nstderr:\n${stderr}`))
        }
        setTimeout(check, 10)
      }
      check()
    })
  return { child, lines, stderr: () => stderr, exited, until }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
