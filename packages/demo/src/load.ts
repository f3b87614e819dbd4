/**
 * Reading the input tree: every `*.yaml` / `*.yml` file under a directory,
 * parsed with `yaml` (multi-document files allowed), turned into
 * `ObjectSpec`s. Problems (malformed YAML, objects without kind or name,
 * duplicate ids, unreadable files) are collected, never fatal; only an
 * unreadable root directory fails the load.
 */
import { Effect } from "effect"
import type { Dirent } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { LineCounter, parseAllDocuments } from "yaml"
import {
  DirUnreadable,
  errorMessage,
  failRenderAnnotation,
  type Kind,
  kinds,
  type ObjectSpec,
  type Problem
} from "./model.ts"

/** What a load produced. `objects` has unique ids, in file order. */
export interface LoadResult {
  readonly files: ReadonlyArray<string>
  readonly objects: ReadonlyArray<ObjectSpec>
  readonly problems: ReadonlyArray<Problem>
}

const isYaml = (name: string): boolean => /\.ya?ml$/i.test(name)

/**
 * Lists the YAML files under `dir`, recursively, sorted. Directories whose
 * name starts with a dot are skipped. An unreadable subdirectory is a problem;
 * an unreadable root fails with `DirUnreadable`.
 */
export const listYamlFiles = (dir: string): Effect.Effect<
  { readonly files: ReadonlyArray<string>; readonly problems: ReadonlyArray<Problem> },
  DirUnreadable
> =>
  Effect.tryPromise({
    try: async () => {
      const root = path.resolve(dir)
      const stat = await fs.stat(root)
      if (!stat.isDirectory()) throw new Error(`${root} is not a directory`)
      const files: Array<string> = []
      const problems: Array<Problem> = []
      const walk = async (current: string, isRoot: boolean): Promise<void> => {
        let entries: Array<Dirent>
        try {
          entries = await fs.readdir(current, { withFileTypes: true })
        } catch (error) {
          if (isRoot) throw error
          problems.push({
            kind: "unreadable-file",
            file: current,
            line: null,
            column: null,
            message: errorMessage(error)
          })
          return
        }
        const subdirs: Array<string> = []
        for (const entry of entries) {
          if (entry.name.startsWith(".")) continue
          const full = path.join(current, entry.name)
          if (entry.isDirectory()) subdirs.push(full)
          else if (entry.isFile() && isYaml(entry.name)) files.push(full)
        }
        await Promise.all(subdirs.map((subdir) => walk(subdir, false)))
      }
      await walk(root, true)
      files.sort()
      return { files, problems }
    },
    catch: (error) => new DirUnreadable({ dir, message: errorMessage(error) })
  })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const nonEmptyString = (u: unknown): string | undefined => typeof u === "string" && u.length > 0 ? u : undefined

/** The objects and problems of one file's text. Pure: no I/O. */
export const parseYamlFile = (
  file: string,
  text: string
): { readonly objects: ReadonlyArray<ObjectSpec>; readonly problems: ReadonlyArray<Problem> } => {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true })
  const problems: Array<Problem> = []
  const objects: Array<ObjectSpec> = []
  const errors = docs.flatMap((doc) => doc.errors)
  if (errors.length > 0) {
    // a malformed file is skipped as a whole, as `kustomize build` would reject it
    for (const error of errors) {
      const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0])
      problems.push({
        kind: "yaml-error",
        file,
        line: pos.line,
        column: pos.col,
        message: `${error.code}: ${error.message.split("\n")[0]}`
      })
    }
    return { objects, problems }
  }
  docs.forEach((doc, docIndex) => {
    const line = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]).line
    const problem = (message: string) => {
      problems.push({ kind: "invalid-object", file, line, column: null, message })
    }
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return // an empty document
    if (!isRecord(value)) return problem(`document ${docIndex + 1} is not a mapping`)
    const kind = nonEmptyString(value.kind)
    const metadata = isRecord(value.metadata) ? value.metadata : {}
    const name = nonEmptyString(metadata.name)
    if (kind === undefined) return problem(`document ${docIndex + 1} has no kind; skipped`)
    if (!(kinds as ReadonlyArray<string>).includes(kind)) {
      return problem(`${kind} ${name ?? "(no name)"}: unsupported kind (expected ${kinds.join(" or ")}); skipped`)
    }
    if (name === undefined) return problem(`${kind} without metadata.name; skipped`)
    const namespace = nonEmptyString(metadata.namespace) ?? "default"
    const id = `${namespace}/${name}`
    const spec = isRecord(value.spec) ? value.spec : {}
    const dependsOn: Array<string> = []
    if (spec.dependsOn !== undefined) {
      if (!Array.isArray(spec.dependsOn)) return problem(`${id}: spec.dependsOn is not a list; skipped`)
      for (const dep of spec.dependsOn) {
        const depName = isRecord(dep) ? nonEmptyString(dep.name) : undefined
        if (!isRecord(dep) || depName === undefined) return problem(`${id}: a dependsOn entry has no name; skipped`)
        const depId = `${nonEmptyString(dep.namespace) ?? namespace}/${depName}`
        if (!dependsOn.includes(depId)) dependsOn.push(depId)
      }
    }
    const annotations = isRecord(metadata.annotations) ? metadata.annotations : {}
    const failRender = annotations[failRenderAnnotation]
    objects.push({
      id,
      kind: kind as Kind,
      name,
      namespace,
      dependsOn,
      file,
      line,
      docIndex,
      failRender: failRender === undefined || failRender === null ? undefined : String(failRender),
      value
    })
  })
  return { objects, problems }
}

/** Keeps the first object of each id; later ones are reported. */
export const dedupe = (
  objects: ReadonlyArray<ObjectSpec>
): { readonly objects: ReadonlyArray<ObjectSpec>; readonly problems: ReadonlyArray<Problem> } => {
  const seen = new Map<string, ObjectSpec>()
  const problems: Array<Problem> = []
  for (const object of objects) {
    const first = seen.get(object.id)
    if (first === undefined) seen.set(object.id, object)
    else {
      problems.push({
        kind: "duplicate-id",
        file: object.file,
        line: object.line,
        column: null,
        message: `duplicate id ${object.id} (first defined in ${first.file}:${first.line}); skipped`
      })
    }
  }
  return { objects: [...seen.values()], problems }
}

/** Reads one file; an unreadable file is a problem. */
export const readYamlFile = (
  file: string
): Effect.Effect<{ readonly objects: ReadonlyArray<ObjectSpec>; readonly problems: ReadonlyArray<Problem> }> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (error) => errorMessage(error)
  }).pipe(
    Effect.map((text) => parseYamlFile(file, text)),
    Effect.catch((message) =>
      Effect.succeed({
        objects: [],
        problems: [{ kind: "unreadable-file" as const, file, line: null, column: null, message }]
      })
    )
  )

/** Reads and parses every YAML file under `dir`. */
export const loadTree = (dir: string): Effect.Effect<LoadResult, DirUnreadable> =>
  Effect.gen(function*() {
    const listed = yield* listYamlFiles(dir)
    const parsed = yield* Effect.forEach(listed.files, readYamlFile, { concurrency: 16 })
    const unique = dedupe(parsed.flatMap((p) => p.objects))
    return {
      files: listed.files,
      objects: unique.objects,
      problems: [...listed.problems, ...parsed.flatMap((p) => p.problems), ...unique.problems]
    }
  })
