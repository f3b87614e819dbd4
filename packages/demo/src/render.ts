/**
 * Rendering one object: real I/O (read its source file again, write the
 * rendered document under the output directory) plus a simulated latency.
 * The orchestrator runs it inside `tasks.yieldSlot`.
 */
import { Duration, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { parseAllDocuments, stringify } from "yaml"
import { errorMessage, type ObjectSpec, RenderFailed } from "./model.ts"

/** Where the rendered document of `spec` goes. */
export const outputPath = (outDir: string, spec: ObjectSpec): string =>
  path.join(outDir, spec.namespace, `${spec.kind.toLowerCase()}-${spec.name}.yaml`)

const io = <A>(id: string, what: string, f: () => Promise<A>): Effect.Effect<A, RenderFailed> =>
  Effect.tryPromise({ try: f, catch: (error) => new RenderFailed({ id, reason: `${what}: ${errorMessage(error)}` }) })

/** The document of `spec` in the freshly read `text`, or `spec.value` when the file no longer has it there. */
const currentValue = (spec: ObjectSpec, text: string): unknown => {
  const doc = parseAllDocuments(text)[spec.docIndex]
  if (doc === undefined || doc.errors.length > 0) return spec.value
  const value: any = doc.toJS()
  const sameObject = value?.kind === spec.kind && value?.metadata?.name === spec.name
    && (value?.metadata?.namespace ?? "default") === spec.namespace
  return sameObject ? value : spec.value
}

/**
 * Renders `spec` into `outDir` and returns the written path. Fails with
 * `RenderFailed` when the object carries the fail-render annotation or the
 * I/O fails.
 */
export const render = (spec: ObjectSpec, outDir: string, latencyMs: number): Effect.Effect<string, RenderFailed> =>
  Effect.gen(function*() {
    const text = yield* io(spec.id, `reading ${spec.file}`, () => fs.readFile(spec.file, "utf8"))
    const value = currentValue(spec, text)
    if (latencyMs > 0) yield* Effect.sleep(Duration.millis(latencyMs))
    if (spec.failRender !== undefined) return yield* new RenderFailed({ id: spec.id, reason: spec.failRender })
    const target = outputPath(outDir, spec)
    const body = `# rendered by the effect-task demo from ${spec.file}:${spec.line}\n${stringify(value)}`
    yield* io(spec.id, `writing ${target}`, async () => {
      await fs.mkdir(path.dirname(target), { recursive: true })
      await fs.writeFile(target, body)
    })
    return target
  })
