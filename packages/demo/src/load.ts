/**
 * Reading the input tree: every `*.yaml` / `*.yml` file under a directory,
 * parsed with `yaml` (multi-document files allowed) into plain documents
 * with their file and line. Malformed files and unreadable files are
 * problems, never fatal; only an unreadable root directory fails the load.
 * What the documents mean (kustomize, Flux) is for `kustomize.ts` and
 * `clusters.ts`.
 */
import { Effect } from "effect"
import type { Dirent } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { LineCounter, parseAllDocuments } from "yaml"
import { DirUnreadable, errorMessage, type Problem } from "./model.ts"

/** One YAML document of a file. */
export interface Doc {
  /** absolute path */
  readonly file: string
  /** 1-based line of the document's content */
  readonly line: number
  readonly docIndex: number
  readonly value: unknown
}

/** A read tree: its files' documents, and its directories (absolute paths). */
export interface Tree {
  readonly root: string
  /** sorted */
  readonly files: ReadonlyArray<string>
  /** the documents of each well-formed file (empty documents dropped) */
  readonly docs: ReadonlyMap<string, ReadonlyArray<Doc>>
  readonly dirs: ReadonlySet<string>
  /** every file, YAML or not (a kustomize resource may be JSON) */
  readonly allFiles: ReadonlySet<string>
  readonly problems: ReadonlyArray<Problem>
}

const isYaml = (name: string): boolean => /\.ya?ml$/i.test(name)

/**
 * Lists the YAML files and the directories under `dir`, recursively, sorted.
 * Directories whose name starts with a dot are skipped, and so is `exclude`
 * (the output dir, when it is inside `dir`). An unreadable
 * subdirectory is a problem; an unreadable root fails with `DirUnreadable`.
 */
export const listTree = (dir: string, exclude?: string): Effect.Effect<
  {
    readonly files: ReadonlyArray<string>
    readonly dirs: ReadonlySet<string>
    readonly allFiles: ReadonlySet<string>
    readonly problems: ReadonlyArray<Problem>
  },
  DirUnreadable
> =>
  Effect.tryPromise({
    try: async () => {
      const root = path.resolve(dir)
      const stat = await fs.stat(root)
      if (!stat.isDirectory()) throw new Error(`${root} is not a directory`)
      const files: Array<string> = []
      const dirs = new Set<string>([root])
      const allFiles = new Set<string>()
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
          const full = path.join(current, entry.name)
          if (entry.name.startsWith(".") || full === exclude) continue
          if (entry.isDirectory()) {
            subdirs.push(full)
            dirs.add(full)
          } else if (entry.isFile()) {
            allFiles.add(full)
            if (isYaml(entry.name)) files.push(full)
          }
        }
        await Promise.all(subdirs.map((subdir) => walk(subdir, false)))
      }
      await walk(root, true)
      files.sort()
      return { files, dirs, allFiles, problems }
    },
    catch: (error) => new DirUnreadable({ dir, message: errorMessage(error) })
  })

/** The documents and problems of one file's text. Pure: no I/O. */
export const parseYamlFile = (
  file: string,
  text: string
): { readonly docs: ReadonlyArray<Doc>; readonly problems: ReadonlyArray<Problem> } => {
  const lineCounter = new LineCounter()
  // `<<` merge keys are expanded, as kustomize and kubectl (YAML 1.1 parsers) do
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true, merge: true })
  const errors = parsed.flatMap((doc) => doc.errors)
  if (errors.length > 0) {
    // a malformed file is skipped as a whole, as `kustomize build` would reject it
    return {
      docs: [],
      problems: errors.map((error) => {
        const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0])
        return {
          kind: "yaml-error" as const,
          file,
          line: pos.line,
          column: pos.col,
          message: `${error.code}: ${error.message.split("\n")[0]}`
        }
      })
    }
  }
  const docs: Array<Doc> = []
  parsed.forEach((doc, docIndex) => {
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return // an empty document
    const line = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]).line
    docs.push({ file, line, docIndex, value })
  })
  return { docs, problems: [] }
}

/** Reads one file; an unreadable file is a problem. */
const readYamlFile = (file: string) =>
  Effect.tryPromise({ try: () => fs.readFile(file, "utf8"), catch: errorMessage }).pipe(
    Effect.map((text) => parseYamlFile(file, text)),
    Effect.catch((message) =>
      Effect.succeed({
        docs: [] as ReadonlyArray<Doc>,
        problems: [{ kind: "unreadable-file" as const, file, line: null, column: null, message }]
      })
    )
  )

/** Reads and parses every YAML file under `dir` (but not under `exclude`). */
export const loadTree = (dir: string, exclude?: string): Effect.Effect<Tree, DirUnreadable> =>
  Effect.gen(function*() {
    const root = path.resolve(dir)
    const listed = yield* listTree(root, exclude === undefined ? undefined : path.resolve(exclude))
    const parsed = yield* Effect.forEach(listed.files, readYamlFile, { concurrency: 16 })
    const docs = new Map<string, ReadonlyArray<Doc>>()
    listed.files.forEach((file, i) => docs.set(file, parsed[i]!.docs))
    return {
      root,
      files: listed.files,
      docs,
      dirs: listed.dirs,
      allFiles: listed.allFiles,
      problems: [...listed.problems, ...parsed.flatMap((p) => p.problems)]
    }
  })
