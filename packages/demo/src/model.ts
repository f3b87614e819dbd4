/**
 * The data model of the demo: the Flux objects found in a tree, the problems
 * found while reading it, the verdicts, and the run summary (what `--json`
 * prints).
 */
import { Data } from "effect"

/** The object kinds the demo reconciles (a small subset of Flux). */
export const kinds = ["Kustomization", "HelmRelease"] as const
export type Kind = (typeof kinds)[number]

/** The API group of each kind: a document is a Flux object only with this group in its `apiVersion`. */
export const kindGroups: Readonly<Record<Kind, string>> = {
  Kustomization: "kustomize.toolkit.fluxcd.io",
  HelmRelease: "helm.toolkit.fluxcd.io"
}

/** The annotation that makes an object's render fail, with its value as the reason. */
export const failRenderAnnotation = "demo.effect-task/fail-render"

/** `"<kind>/<namespace>/<name>"`, for example `"HelmRelease/media/plex"`. */
export const objectId = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`

/** One object to reconcile, as built for its cluster. */
export interface ObjectSpec {
  /** unique over the run: the cluster and the id (see {@link objectKey}) */
  readonly key: string
  /** the cluster's directory, relative to the given dir (`"."` in the fallback) */
  readonly cluster: string
  /** `<kind>/<namespace>/<name>` */
  readonly id: string
  readonly kind: Kind
  readonly name: string
  readonly namespace: string
  /** ids of the dependencies (same kind; namespace defaulted to the object's own) */
  readonly dependsOn: ReadonlyArray<string>
  /** `spec.suspend: true` */
  readonly suspended: boolean
  /** absolute path of the file the object's document is in */
  readonly file: string
  /** 1-based line of the document in the file */
  readonly line: number
  /** the value of the fail-render annotation, when present */
  readonly failRender: string | undefined
  /** the object as the cluster applies it (namespaces and substitutions applied) */
  readonly value: unknown
  /**
   * a Kustomization's build: the documents its `spec.path` builds; `undefined`
   * for a HelmRelease, and for a Kustomization whose source is not this
   * repository (see `sourceNote`)
   */
  readonly build: ReadonlyArray<unknown> | undefined
  /** why the build was not followed, when it was not */
  readonly sourceNote: string | undefined
}

/** The key of an object of a cluster; the orchestrator and the coalescer use it. */
export const objectKey = (cluster: string, id: string): string => `${cluster}\t${id}`

/** The id part of a key. */
export const keyId = (key: string): string => key.slice(key.lastIndexOf("\t") + 1)

export const problemKinds = [
  "yaml-error",
  "unreadable-file",
  "invalid-object",
  "invalid-name",
  "duplicate-id",
  "missing-resource",
  "unresolved-variable"
] as const
export type ProblemKind = (typeof problemKinds)[number]

/** Something wrong with the input that did not stop the run. `file` is absolute inside the program. */
export interface Problem {
  readonly kind: ProblemKind
  readonly file: string
  readonly line: number | null
  readonly column: number | null
  readonly message: string
}

export const statuses = ["ready", "failed", "missing-dependency", "cycle", "suspended"] as const
export type Status = (typeof statuses)[number]

/** The verdict of one reconcile. */
export interface Outcome {
  readonly status: Status
  /** `null` when ready */
  readonly reason: string | null
  /**
   * what a dependent inherits: "missing dependency X", "cycle a → b → a" or
   * "suspended X"; `null` for ready and failed (a dependent of a failed
   * object says "dependency X failed")
   */
  readonly root: string | null
}

/** One object of the summary. Times are milliseconds since the run started. */
export interface ObjectResult {
  readonly cluster: string
  readonly kind: Kind
  readonly namespace: string
  readonly name: string
  readonly id: string
  readonly status: Status
  readonly reason: string | null
  /** relative to the given dir */
  readonly file: string
  readonly line: number
  readonly dependsOn: ReadonlyArray<string>
  /** when its reconcile body started (it had a worker slot) */
  readonly startedMs: number | null
  /** when its reconcile body ended */
  readonly finishedMs: number | null
  /** when its verdict was known */
  readonly verdictMs: number | null
  /** the rendered file, relative to `outDir`, when ready */
  readonly output: string | null
  /** how many reconcile runs it had */
  readonly runs: number
}

export type DecidedBy = "quiescence" | "timeout"

/** One cluster of the tree: the roots' directory and its objects' totals. */
export interface ClusterSummary {
  /** relative to the given dir; `"."` in the fallback */
  readonly cluster: string
  /** the ids of its root Kustomizations (empty in the fallback) */
  readonly roots: ReadonlyArray<string>
  readonly objects: number
  readonly totals: Readonly<Record<Status, number>>
}

/** What was read but is not an object of any cluster. */
export interface Skipped {
  /** documents that are not Flux objects (ConfigMaps, kustomize files, ...) */
  readonly documents: number
  /** documents used only as patches */
  readonly patches: number
  /** Flux objects in the tree that no cluster builds: `{ id, file }` */
  readonly unreached: ReadonlyArray<{ readonly id: string; readonly file: string }>
}

/** The machine-readable result of a run (what `--json` prints). */
export interface Summary {
  readonly dir: string
  /** where rendered files went; removed at exit when `outDirKept` is false */
  readonly outDir: string
  readonly outDirKept: boolean
  /** `"fallback"`: no root Kustomization builds from this tree, every Flux object is one cluster `"."` */
  readonly mode: "clusters" | "fallback"
  readonly clusters: ReadonlyArray<ClusterSummary>
  readonly workers: number | null
  readonly latencyMs: number
  readonly depTimeoutMs: number
  /** `"timeout"` only when the `--dep-timeout` cap fired before quiescence decided the waiters */
  readonly decidedBy: DecidedBy
  readonly wallMs: number
  /** `true` when the run was interrupted (SIGINT / SIGTERM) before every verdict was known */
  readonly interrupted: boolean
  /** every object ready (and, with `--strict`, no input problems): the exit status is then 0 */
  readonly ok: boolean
  readonly totals: Readonly<Record<Status, number>>
  readonly objects: ReadonlyArray<ObjectResult>
  /** `file` relative to the given dir */
  readonly problems: ReadonlyArray<Problem>
  readonly skipped: Skipped
}

/** The directory to read does not exist or cannot be read. */
export class DirUnreadable extends Data.TaggedError("DirUnreadable")<{
  readonly dir: string
  readonly message: string
}> {}

/** The output directory cannot be created. */
export class OutDirUnwritable extends Data.TaggedError("OutDirUnwritable")<{
  readonly dir: string
  readonly message: string
}> {}

/** A render failed: the fail-render annotation, or real I/O. */
export class RenderFailed extends Data.TaggedError("RenderFailed")<{
  readonly id: string
  readonly reason: string
}> {}

export const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

export const nonEmptyString = (u: unknown): string | undefined => typeof u === "string" && u.length > 0 ? u : undefined
