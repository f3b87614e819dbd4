/**
 * The data model of the demo: the objects read from YAML, the problems found
 * while reading them, the verdicts, and the run summary.
 */
import { Data } from "effect"

/** The object kinds the demo reconciles (a small subset of Flux). */
export const kinds = ["Kustomization", "HelmRelease"] as const
export type Kind = (typeof kinds)[number]

/** The annotation that makes an object's render fail, with its value as the reason. */
export const failRenderAnnotation = "demo.effect-task/fail-render"

/** One object to reconcile, as read from its file. */
export interface ObjectSpec {
  /** `namespace/name` */
  readonly id: string
  readonly kind: Kind
  readonly name: string
  readonly namespace: string
  /** ids of the dependencies, namespace defaulted to the object's own */
  readonly dependsOn: ReadonlyArray<string>
  /** absolute path of the source file */
  readonly file: string
  /** 1-based line of the document in the file */
  readonly line: number
  /** index of the document in a multi-document file */
  readonly docIndex: number
  /** the value of the fail-render annotation, when present */
  readonly failRender: string | undefined
  /** the document's plain value, compared in watch mode to detect a change */
  readonly value: unknown
}

/** Something wrong with the input that did not stop the run. */
export interface Problem {
  readonly kind: "yaml-error" | "invalid-object" | "duplicate-id" | "unreadable-file"
  readonly file: string
  readonly line: number | null
  readonly column: number | null
  readonly message: string
}

export const statuses = ["ready", "failed", "missing-dependency", "cycle"] as const
export type Status = (typeof statuses)[number]

/** The verdict of one reconcile. */
export interface Outcome {
  readonly status: Status
  /** `null` when ready */
  readonly reason: string | null
  /**
   * what a dependent inherits: "missing dependency ns/x" or "cycle a → b → a";
   * `null` for ready and failed (a dependent of a failed object says "dependency X failed")
   */
  readonly root: string | null
}

/** One object of the summary. Times are milliseconds since the run started. */
export interface ObjectResult {
  readonly id: string
  readonly kind: Kind
  readonly file: string
  readonly dependsOn: ReadonlyArray<string>
  readonly status: Status
  readonly reason: string | null
  /** when its reconcile body started (it had a worker slot) */
  readonly startedMs: number | null
  /** when its reconcile body ended */
  readonly finishedMs: number | null
  /** when its verdict was known */
  readonly verdictMs: number | null
  /** the rendered file, when ready */
  readonly output: string | null
  /** how many reconcile runs it had */
  readonly runs: number
}

export type DecidedBy = "quiescence" | "timeout"

/** The machine-readable result of a run (what `--json` prints). */
export interface Summary {
  readonly dir: string
  readonly outDir: string
  readonly workers: number | null
  readonly latencyMs: number
  readonly depTimeoutMs: number
  /** `"timeout"` only when the `--dep-timeout` cap fired before quiescence decided the waiters */
  readonly decidedBy: DecidedBy
  readonly wallMs: number
  /** `true` when every object is ready and the input had no problems: the exit status is then 0 */
  readonly ok: boolean
  readonly totals: Readonly<Record<Status, number>>
  readonly objects: ReadonlyArray<ObjectResult>
  readonly problems: ReadonlyArray<Problem>
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
