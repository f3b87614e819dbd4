/**
 * Per-key fencing tokens in PostgreSQL: a guard for side effects against a
 * run that outlived its lease.
 *
 * **Invariants**
 * - the table `effect_task_cluster_fences` holds one row per (entity name,
 *   key) with a `token` that only grows;
 * - `next` increments it in one statement (`INSERT … ON CONFLICT DO UPDATE
 *   … RETURNING`), so two runs of a key never get the same token, and the
 *   run that started later (in the store's commit order) has the larger one;
 * - `isCurrent(name, key, token)` is `true` exactly while no run of the key
 *   has taken a token after `token`.
 *
 * A coalesced entity layer made with `{ fencing: true }` takes a token right
 * before each run's handler starts and hands it to the handler as
 * `run.fence`. A handler that writes to the same database makes each write
 * conditional on its token still being current (in the same transaction),
 * so a run that kept going after its runner lost the key — a process paused
 * longer than the lease, a partition — cannot overwrite the newer run's
 * work.
 *
 * **Gotchas**
 * - Fencing does not stop the stale run; it makes its writes fail. Writes
 *   that are not to this database (an HTTP call, a file) are not fenced.
 * - A check and a write in two statements outside a transaction leave a
 *   window between them; use one statement or one transaction.
 * - PostgreSQL only, like the rest of this package.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { SqlClient } from "effect/sql/SqlClient"
import * as Sql from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

const tableName = "effect_task_cluster_fences"
/** The advisory lock key that serializes `migrate` (a fixed 32-bit number: "etcf"). */
const migrationLock = 0x65746366

/**
 * Creates the fencing table if it does not exist.
 *
 * **Details**
 *
 * `CREATE TABLE IF NOT EXISTS effect_task_cluster_fences (entity_type,
 * entity_id, token)`. A layer made with `{ fencing: true }` runs it when it is
 * built; call it yourself to create the table before the first run (for
 * example in a migration job).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fencing } from "effect-task-cluster"
 *
 * // with a SqlClient in context (for example PgClient.layer)
 * const setup = Effect.gen(function*() {
 *   yield* Fencing.migrate
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const migrate: Effect.Effect<void, SqlError, SqlClient> = Effect.gen(function*() {
  const sql = yield* Sql.SqlClient
  // Runners starting together would race on CREATE TABLE IF NOT EXISTS (a
  // unique violation in pg_type): one transaction-scoped advisory lock
  // serializes them.
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${migrationLock})`
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tableName)} (
      entity_type VARCHAR(150) NOT NULL,
      entity_id VARCHAR(255) NOT NULL,
      token BIGINT NOT NULL,
      PRIMARY KEY (entity_type, entity_id)
    )`
  }))
})

/**
 * Takes the next fencing token of a key: increments and returns it.
 *
 * **Details**
 *
 * One statement: `INSERT … VALUES (name, key, 1) ON CONFLICT DO UPDATE SET
 * token = token + 1 RETURNING token`. The first token of a key is `1n`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fencing } from "effect-task-cluster"
 *
 * const program = Effect.gen(function*() {
 *   const token = yield* Fencing.next("Reconcile", "default/app")
 *   console.log(token) // 1n, then 2n, …
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const next = (name: string, key: string): Effect.Effect<bigint, SqlError, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* Sql.SqlClient
    const rows = yield* sql<{ readonly token: string }>`
      INSERT INTO ${sql(tableName)} (entity_type, entity_id, token) VALUES (${name}, ${key}, 1)
      ON CONFLICT (entity_type, entity_id) DO UPDATE SET token = ${sql(tableName)}.token + 1
      RETURNING token::text AS token`
    return BigInt(rows[0]!.token)
  })

/**
 * Whether `token` is still the latest fencing token of the key.
 *
 * **Details**
 *
 * `false` once any run of the key has taken a token after `token`. Inside a
 * write, prefer the same condition in the write's own statement
 * (`… WHERE EXISTS (SELECT 1 FROM effect_task_cluster_fences WHERE
 * entity_type = $1 AND entity_id = $2 AND token = $3)`), so the check and
 * the write are one step.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fencing } from "effect-task-cluster"
 *
 * const program = Effect.gen(function*() {
 *   const token = yield* Fencing.next("Reconcile", "default/app")
 *   console.log(yield* Fencing.isCurrent("Reconcile", "default/app", token)) // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const isCurrent = (name: string, key: string, token: bigint): Effect.Effect<boolean, SqlError, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* Sql.SqlClient
    const rows = yield* sql<{ readonly token: string }>`
      SELECT token::text AS token FROM ${sql(tableName)} WHERE entity_type = ${name} AND entity_id = ${key}`
    return rows.length === 1 && BigInt(rows[0]!.token) === token
  })

/**
 * Per-key fencing tokens in PostgreSQL.
 *
 * **Details**
 *
 * `table` is the table's name; `migrate` creates it; `next` takes a key's
 * next token; `isCurrent` tells whether a token is still the latest.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fencing } from "effect-task-cluster"
 *
 * const stillMine = (key: string, token: bigint) => Fencing.isCurrent("Reconcile", key, token)
 * console.log(Fencing.table) // "effect_task_cluster_fences"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Fencing: {
  readonly table: string
  readonly migrate: typeof migrate
  readonly next: typeof next
  readonly isCurrent: typeof isCurrent
} = { table: tableName, migrate, next, isCurrent }
