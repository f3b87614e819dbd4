/**
 * Retention: deletes processed submits and their replies older than an
 * age from effect's message tables, which effect itself never prunes.
 *
 * **Invariants**
 * - only requests marked `processed` (their run's exit is stored) are
 *   deleted, together with their replies and their control envelopes (acks,
 *   interrupts); an unanswered submit is never deleted, whatever its age, so
 *   "every submit that returned is followed by a run" still holds;
 * - age is read from the request's snowflake id (the time it was made, on
 *   the sender's clock) against the `Clock` of the caller;
 * - one statement: the deletes of a purge commit together.
 *
 * **Gotchas**
 * - A deleted request can no longer be found by `submitAndAwait`'s reply
 *   lookup: keep `olderThan` well above the longest time a sender waits.
 * - Deduplication by primary key (effect's `message_id`) forgets deleted
 *   messages; coalesced submits carry no primary key, so nothing changes for
 *   them, but other persisted RPCs in the same tables are affected too.
 * - The table prefix must match the one the runners use (`cluster` by
 *   default).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as MachineId from "effect/cluster/MachineId"
import * as Snowflake from "effect/cluster/Snowflake"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Sql from "effect/sql/SqlClient"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { checkMillis, invalid } from "./internal/arguments.ts"

/**
 * The options of `Retention.purge`.
 *
 * @example
 * ```ts
 * import type { RetentionOptions } from "effect-task-cluster"
 *
 * export const weekly: RetentionOptions = { olderThan: "7 days", prefix: "cluster" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PurgeOptions {
  /** Delete processed requests made longer ago than this. */
  readonly olderThan: Duration.Input
  /** effect's table prefix; default `"cluster"`. */
  readonly prefix?: string | undefined
}

/**
 * What a purge deleted.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Retention, type RetentionPurged } from "effect-task-cluster"
 *
 * export const report = Effect.map(Retention.purge({ olderThan: "1 day" }), (purged: RetentionPurged) =>
 *   `${purged.messages} messages, ${purged.replies} replies`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Purged {
  /** Rows deleted from the messages table (requests and their envelopes). */
  readonly messages: number
  /** Rows deleted from the replies table. */
  readonly replies: number
}

const millisOf = (input: unknown): number | undefined => {
  try {
    return Duration.toMillis(Duration.fromInputUnsafe(input as Duration.Input))
  } catch {
    return undefined
  }
}

const checkPrefix = (method: string, prefix: unknown) =>
  prefix === undefined || (typeof prefix === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix))
    ? undefined
    : invalid(method, "options.prefix", prefix, "an SQL identifier (letters, digits, _) or undefined")

/**
 * Deletes processed requests older than `olderThan`, their envelopes and
 * their replies.
 *
 * **Details**
 *
 * One PostgreSQL statement over `<prefix>_messages` and `<prefix>_replies`.
 * Returns the number of rows deleted from each.
 *
 * **Gotchas**
 *
 * - A bad `olderThan` (negative, infinite, not a duration) or `prefix`
 *   dies with an `IllegalArgumentError` naming the option and the value.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Retention } from "effect-task-cluster"
 *
 * // with the runners' SqlClient in context
 * export const prune = Effect.gen(function*() {
 *   const { messages, replies } = yield* Retention.purge({ olderThan: "7 days" })
 *   yield* Effect.log(`deleted ${messages} messages, ${replies} replies`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const purge = (options: PurgeOptions): Effect.Effect<Purged, SqlError, SqlClient> => {
  const olderThan = millisOf(options?.olderThan)
  const error = checkMillis("Retention.purge", "options.olderThan", options?.olderThan, olderThan) ??
    checkPrefix("Retention.purge", options?.prefix)
  if (error !== undefined) return Effect.die(error)
  const prefix = options.prefix ?? "cluster"
  return Effect.gen(function*() {
    const sql = yield* Sql.SqlClient
    const now = yield* Clock.currentTimeMillis
    const cutoff = Snowflake.make({
      timestamp: Math.max(Snowflake.constEpochMillis, now - olderThan!),
      machineId: MachineId.make(0),
      sequence: 0
    })
    const messages = sql(`${prefix}_messages`)
    const replies = sql(`${prefix}_replies`)
    const rows = yield* sql<{ readonly messages: string; readonly replies: string }>`
      WITH done AS (
        SELECT request_id FROM ${messages}
        WHERE kind = 0 AND processed = TRUE AND request_id < ${String(cutoff)}::bigint
      ),
      deleted_replies AS (
        DELETE FROM ${replies} WHERE request_id IN (SELECT request_id FROM done) RETURNING 1
      ),
      deleted_messages AS (
        DELETE FROM ${messages} WHERE request_id IN (SELECT request_id FROM done) RETURNING 1
      )
      SELECT (SELECT count(*) FROM deleted_messages)::text AS messages,
             (SELECT count(*) FROM deleted_replies)::text AS replies`
    return { messages: Number(rows[0]!.messages), replies: Number(rows[0]!.replies) }
  })
}

/**
 * A background job: `purge({ olderThan })` now and then every `every`, for
 * as long as the layer lives; a failed purge is logged and retried at the
 * next tick.
 *
 * **Details**
 *
 * Run it on one process (a runner or a maintenance job): purges from several
 * processes are safe (each deletes what the others left) but redundant.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ClusterRunner, Retention } from "effect-task-cluster"
 *
 * export const Maintenance = Retention.layer({ olderThan: "7 days", every: "1 hour" }).pipe(
 *   Layer.provide(ClusterRunner.layerClient({ postgres: { host: "127.0.0.1", database: "app" } }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: PurgeOptions & { readonly every: Duration.Input }
): Layer.Layer<never, never, SqlClient> => {
  const every = millisOf(options?.every)
  const error = checkMillis("Retention.layer", "options.every", options?.every, every)
  if (error !== undefined) return Layer.effectDiscard(Effect.die(error))
  const once = purge(options).pipe(
    Effect.tap((purged) => Effect.logDebug("Retention: purged", purged)),
    Effect.catchCause((cause) => Effect.logWarning("Retention: purge failed", cause))
  )
  return Layer.effectDiscard(Effect.forkScoped(Effect.repeat(once, Schedule.spaced(every!))))
}

/**
 * Deletes processed submits and replies older than an age.
 *
 * **Details**
 *
 * `purge` deletes once; `layer` purges periodically.
 *
 * @example
 * ```ts
 * import { Retention } from "effect-task-cluster"
 *
 * export const prune = Retention.purge({ olderThan: "1 day" })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const Retention: {
  readonly purge: typeof purge
  readonly layer: typeof layer
} = { purge, layer }
