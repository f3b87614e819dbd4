/**
 * Rendering one object: a Kustomization's render writes the documents its
 * path builds (namespaces and substitutions applied) to one file, a
 * HelmRelease's its resolved spec; plus a simulated latency. The
 * orchestrator runs it inside `tasks.yieldSlot`. Every name in the output
 * path has been validated (DNS-1123) before; the path is checked to stay
 * inside the output directory all the same.
 */
import { Duration, Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { stringify } from "yaml"
import { errorMessage, type ObjectSpec, RenderFailed } from "./model.ts"

const code = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(dir, { recursive: true })`
 * never returns where a parent refuses a new directory with ENOENT (under
 * `/proc`, say: `--out /proc/x` spun at full CPU forever); here that is an error.
 */
export const makeDirectory = async (dir: string): Promise<void> => {
  const missing: Array<string> = []
  for (let current = path.resolve(dir);;) {
    try {
      const stat = await fs.stat(current) // oxlint-disable-line no-await-in-loop
      if (!stat.isDirectory()) throw new Error(`${current} is not a directory`)
      break
    } catch (error) {
      const parent = path.dirname(current)
      if (code(error) !== "ENOENT" || parent === current) throw error
      missing.push(current)
      current = parent
    }
  }
  for (const each of missing.toReversed()) {
    try {
      await fs.mkdir(each) // oxlint-disable-line no-await-in-loop
    } catch (error) {
      if (code(error) !== "EEXIST") throw error
    }
  }
}

/** The longest file name most file systems take (bytes; names are ASCII). */
const maxFileName = 255

/**
 * The file name of a render: `<kind>-<name>.yaml`; a name too long for a file
 * name (a DNS-1123 subdomain may have 253 characters) is cut and ends with a
 * hash of the whole name, so that it stays unique.
 */
export const outputFileName = (kind: string, name: string): string => {
  const file = `${kind.toLowerCase()}-${name}.yaml`
  if (file.length <= maxFileName) return file
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 16)
  const keep = maxFileName - `${kind}--${hash}.yaml`.length
  return `${kind.toLowerCase()}-${name.slice(0, keep)}-${hash}.yaml`
}

/** Where the rendered document of `spec` goes, relative to the output dir: `<cluster>/<namespace>/<kind>-<name>.yaml`. */
export const outputPath = (spec: ObjectSpec): string =>
  path.join(spec.cluster === "." ? "" : spec.cluster, spec.namespace, outputFileName(spec.kind, spec.name))

/** The file's text: a comment naming the source, then the documents. */
export const renderedText = (spec: ObjectSpec, dir: string): string => {
  const from = `${path.relative(dir, spec.file)}:${spec.line}`
  const header = `# ${spec.id} (cluster ${spec.cluster}), rendered by the effect-task demo from ${from}\n`
  if (spec.kind === "HelmRelease") return header + stringify(spec.value, { lineWidth: 0 })
  if (spec.build === undefined) return `${header}# ${spec.sourceNote ?? "nothing to build"}\n`
  return header + spec.build.map((doc) => stringify(doc, { lineWidth: 0 })).join("---\n")
}

/**
 * Renders `spec` (read from the tree in `dirs.dir`) into `dirs.outDir` and
 * returns the written path, relative to `outDir`. Fails with `RenderFailed` when the object carries the
 * fail-render annotation, its path does not exist, or the I/O fails.
 */
export const render = (
  spec: ObjectSpec,
  dirs: { readonly dir: string; readonly outDir: string },
  latencyMs: number
): Effect.Effect<string, RenderFailed> =>
  Effect.gen(function*() {
    if (latencyMs > 0) yield* Effect.sleep(Duration.millis(latencyMs))
    if (spec.failRender !== undefined) return yield* new RenderFailed({ id: spec.id, reason: spec.failRender })
    const relative = outputPath(spec)
    const target = path.resolve(dirs.outDir, relative)
    const back = path.relative(dirs.outDir, target)
    if (back.startsWith("..") || path.isAbsolute(back)) {
      return yield* new RenderFailed({ id: spec.id, reason: `output path ${relative} is outside the output dir` })
    }
    const body = renderedText(spec, dirs.dir)
    yield* Effect.tryPromise({
      try: async () => {
        await makeDirectory(path.dirname(target))
        await fs.writeFile(target, body)
      },
      catch: (error) => new RenderFailed({ id: spec.id, reason: `writing ${relative}: ${errorMessage(error)}` })
    })
    return relative
  })
