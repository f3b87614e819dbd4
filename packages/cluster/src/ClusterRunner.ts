/**
 * The processes of a cluster: runner and client layers on PostgreSQL, with
 * lease timings chosen for recovery in seconds.
 *
 * A runner (`ClusterRunner.layer`) listens on a TCP port for its peers,
 * registers in effect's runner table, takes its shards with PostgreSQL
 * advisory locks held by one reserved connection, and reads the messages of
 * its shards from effect's message table. A client (`ClusterRunner.layerClient`)
 * owns no shards: it stores submits and reads replies. Both are
 * `NodeClusterSocket.layer({ storage: "sql" })` from `@effect/platform-node`
 * over `PgClient.layer` from `@effect/sql-pg`; the tables are created on
 * first use (effect's migrations).
 *
 * **Invariants**
 * - a runner holds a shard only while it holds the shard's advisory lock;
 *   the lock's session is ended by the server after `shardLockExpiration`
 *   without a refresh (`idle_session_timeout`), so a frozen runner loses its
 *   shards after that long, and a dead one as soon as its connection drops;
 * - a runner that stops no longer counts as a runner after
 *   `shardLockExpiration` without heartbeats; its shards are then assigned
 *   to the others.
 *
 * **Gotchas**
 * - effect's default timings (`shardLockExpiration` 35 s, lock refresh 10 s)
 *   make a crashed runner's keys wait about 35 s; `timings` here trade more
 *   store traffic and a shorter tolerance for pauses for a recovery in a few
 *   seconds. A runner paused (GC, SIGSTOP, an overloaded host) longer than
 *   `shardLockExpiration` loses its lease while it may still be running.
 * - `NodeClusterSocket` reads its defaults from environment variables
 *   (`HOST`, `PORT`, …); every address given here overrides them.
 * - PostgreSQL 14 or newer: older servers have no `idle_session_timeout`.
 *
 * @since 0.1.0
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as MessageStorage from "effect/cluster/MessageStorage"
import { RunnerAddress } from "effect/cluster/RunnerAddress"
import type * as Runners from "effect/cluster/Runners"
import type { Sharding } from "effect/cluster/Sharding"
import type * as ShardingConfig from "effect/cluster/ShardingConfig"
import type * as ConfigError from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as SocketServer from "effect/socket/SocketServer"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { invalid } from "./internal/arguments.ts"

/**
 * The lease and polling timings of runners and clients.
 *
 * **Details**
 *
 * | field | value | what it trades |
 * | --- | --- | --- |
 * | `shardLockRefreshInterval` | 2 s | lock refreshes and heartbeats; at most a third of the expiration |
 * | `shardLockExpiration` | 10 s | recovery after a crash vs. the longest pause a runner survives |
 * | `refreshAssignmentsInterval` | 1 s | how soon a runner sees a join or a departure |
 * | `entityMessagePollInterval` | 1 s | how soon stored submits are found without a notification |
 * | `entityTerminationTimeout` | 5 s | how long a stopping key may take to end its run |
 * | `runnerHealthCheckInterval` | 5 s | how soon a peer that stopped answering is marked unhealthy |
 *
 * These held on a loaded 2-core machine in the integration suite (three
 * runners, a client and PostgreSQL on the same two cores). effect's defaults
 * are 10 s, 35 s, 3 s, 10 s, 15 s and 1 minute.
 *
 * @example
 * ```ts
 * import { ClusterRunner } from "effect-task-cluster"
 *
 * const slower = { ...ClusterRunner.timings, shardLockExpiration: "30 seconds" }
 * console.log(slower.shardLockRefreshInterval) // "2 seconds"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const timings: Readonly<
  Pick<
    ShardingConfig.ShardingConfig["Service"],
    | "shardLockRefreshInterval"
    | "shardLockExpiration"
    | "refreshAssignmentsInterval"
    | "entityMessagePollInterval"
    | "entityTerminationTimeout"
    | "runnerHealthCheckInterval"
  >
> = {
  shardLockRefreshInterval: "2 seconds",
  shardLockExpiration: "10 seconds",
  refreshAssignmentsInterval: "1 second",
  entityMessagePollInterval: "1 second",
  entityTerminationTimeout: "5 seconds",
  runnerHealthCheckInterval: "5 seconds"
}

/**
 * The options of `ClusterRunner.layerClient` (and, with an address, of `ClusterRunner.layer`).
 *
 * @example
 * ```ts
 * import type { ClusterClientOptions } from "effect-task-cluster"
 *
 * export const options: ClusterClientOptions = {
 *   postgres: { host: "127.0.0.1", port: 5432, database: "app", username: "app" },
 *   sharding: { shardLockExpiration: "20 seconds" }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** The PostgreSQL connection (`@effect/sql-pg`'s pool options). */
  readonly postgres: PgClient.PgPoolConfig
  /** Overrides of `timings` and of any other `ShardingConfig` field. */
  readonly sharding?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * The options of `ClusterRunner.layer`: where peers reach this runner.
 *
 * @example
 * ```ts
 * import type { ClusterRunnerOptions } from "effect-task-cluster"
 *
 * export const options: ClusterRunnerOptions = {
 *   host: "10.0.0.5",
 *   port: 34431,
 *   listenHost: "0.0.0.0",
 *   postgres: { host: "db.internal", database: "app" }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunnerOptions extends ClientOptions {
  /** The host other runners and clients connect to (advertised in the runner table). */
  readonly host: string
  /** The TCP port this runner listens on. */
  readonly port: number
  /** The interface to listen on; default `host`. */
  readonly listenHost?: string | undefined
}

const checkPort = (port: unknown): boolean =>
  typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536

const sharding = (options: ClientOptions): Partial<ShardingConfig.ShardingConfig["Service"]> => ({
  ...timings,
  ...options.sharding
})

/**
 * A runner: owns shards, runs the entities registered with it, stores and
 * reads its messages in PostgreSQL.
 *
 * **Details**
 *
 * Provides `Sharding` (for `ClusterCoalescer.layer` and `client`), `Runners`,
 * `MessageStorage` and the `SqlClient` (for `Fencing` and `Retention`).
 * Timings default to `ClusterRunner.timings`.
 *
 * **Gotchas**
 *
 * - A bad `host` or `port` fails the layer with a defect naming the
 *   argument and the value.
 * - Stop a runner with SIGTERM (`NodeRuntime.runMain` closes the layers): it
 *   interrupts its runs, waits for them and hands its shards over. A runner
 *   killed outright is noticed when its locks and heartbeats expire.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer, Schema } from "effect"
 * import { TaskService } from "effect-task"
 * import { ClusterCoalescer, ClusterRunner } from "effect-task-cluster"
 *
 * const Reconcile = ClusterCoalescer.make("Reconcile", { payload: Schema.Struct({ revision: Schema.Int }) })
 *
 * const Runner = ClusterCoalescer.layer(Reconcile, (run) => Effect.log(run.key, run.payload.revision)).pipe(
 *   Layer.provide(TaskService.layerBounded(8)),
 *   Layer.provide(ClusterRunner.layer({ host: "127.0.0.1", port: 34431, postgres: { host: "127.0.0.1", database: "app" } }))
 * )
 * Layer.launch(Runner).pipe(NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RunnerOptions): Layer.Layer<
  Sharding | Runners.Runners | MessageStorage.MessageStorage | SqlClient,
  SqlError | SocketServer.SocketServerError | ConfigError.ConfigError
> => {
  if (typeof options?.host !== "string" || options.host.length === 0) {
    return Layer.effectDiscard(
      Effect.die(invalid("ClusterRunner.layer", "options.host", options?.host, "a non-empty string"))
    ) as any
  }
  if (!checkPort(options.port)) {
    return Layer.effectDiscard(
      Effect.die(invalid("ClusterRunner.layer", "options.port", options.port, "an integer from 1 to 65535"))
    ) as any
  }
  const address = RunnerAddress.make({ host: options.host, port: options.port })
  const listen = RunnerAddress.make({ host: options.listenHost ?? options.host, port: options.port })
  return NodeClusterSocket.layer({
    storage: "sql",
    shardingConfig: {
      ...sharding(options),
      runnerAddress: Option.some(address),
      runnerListenAddress: Option.some(listen)
    }
  }).pipe(Layer.provideMerge(PgClient.layer(options.postgres)))
}

/**
 * A client: sends submits and reads replies, owns no shards and runs
 * nothing.
 *
 * **Details**
 *
 * Provides `Sharding` for `ClusterCoalescer.client`, and the `SqlClient`.
 * It learns where each key lives from the runner table and falls back to
 * storage when a runner is unreachable, so a submit is stored even while
 * the key's runner is down.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ClusterCoalescer, ClusterRunner } from "effect-task-cluster"
 *
 * const Reconcile = ClusterCoalescer.make("Reconcile", { payload: Schema.Struct({ revision: Schema.Int }) })
 *
 * export const send = Effect.gen(function*() {
 *   const reconcile = yield* ClusterCoalescer.client(Reconcile)
 *   yield* reconcile.submit("default/app", { revision: 8 })
 * }).pipe(Effect.provide(ClusterRunner.layerClient({ postgres: { host: "127.0.0.1", database: "app" } })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (options: ClientOptions): Layer.Layer<
  Sharding | Runners.Runners | MessageStorage.MessageStorage | SqlClient,
  SqlError | ConfigError.ConfigError
> =>
  NodeClusterSocket.layer({
    storage: "sql",
    clientOnly: true,
    shardingConfig: { ...sharding(options), runnerAddress: Option.none(), runnerListenAddress: Option.none() }
  }).pipe(Layer.provideMerge(PgClient.layer(options.postgres)))

/**
 * The expiration of `timings`, as a `Duration`: how long a crashed runner's
 * keys wait, at most, before another runner takes them (plus one
 * `refreshAssignmentsInterval`).
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { ClusterRunner } from "effect-task-cluster"
 *
 * console.log(Duration.toSeconds(ClusterRunner.leaseExpiration)) // 10
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const leaseExpiration: Duration.Duration = Duration.fromInputUnsafe(timings.shardLockExpiration)

/**
 * Runs a runner's layer as the process's main program until SIGTERM or
 * SIGINT, then stops it gracefully.
 *
 * **Details**
 *
 * `Layer.launch(layer)` under `NodeRuntime.runMain`: a signal interrupts
 * the program, which closes the layers in reverse order — the coalesced
 * entities first (their runs are interrupted and awaited), then the shards
 * (handed over), then the store. A failure to build (the store is down, the
 * port is taken) is reported and the process exits with status 1.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { TaskService } from "effect-task"
 * import { ClusterCoalescer, ClusterRunner } from "effect-task-cluster"
 *
 * const Reconcile = ClusterCoalescer.make("Reconcile", { payload: Schema.String })
 *
 * ClusterRunner.runMain(
 *   ClusterCoalescer.layer(Reconcile, (run) => Effect.log(run.key, run.payload)).pipe(
 *     Layer.provide(TaskService.layerBounded(8)),
 *     Layer.provide(ClusterRunner.layer({ host: "127.0.0.1", port: 34431, postgres: { database: "app" } }))
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const runMain = <E>(self: Layer.Layer<never, E, never>): void => Layer.launch(self).pipe(NodeRuntime.runMain)

/**
 * Runner and client layers on PostgreSQL.
 *
 * **Details**
 *
 * `layer` starts a runner, `layerClient` a client-only process, `runMain`
 * runs a runner until a signal stops it; `timings` are the lease and
 * polling timings both use by default.
 *
 * @example
 * ```ts
 * import { ClusterRunner } from "effect-task-cluster"
 *
 * export const Store = ClusterRunner.layerClient({ postgres: { host: "127.0.0.1", port: 5432, database: "app" } })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const ClusterRunner: {
  readonly layer: typeof layer
  readonly layerClient: typeof layerClient
  readonly timings: typeof timings
  readonly leaseExpiration: typeof leaseExpiration
  readonly runMain: typeof runMain
} = { layer, layerClient, timings, leaseExpiration, runMain }
