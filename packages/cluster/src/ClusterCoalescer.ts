/**
 * A cluster-wide per-key coalescer: the `Coalescer` of effect-task, past one
 * process, on `effect/cluster` entities with their messages in PostgreSQL.
 *
 * A coalesced entity (`ClusterCoalescer.make(name, { payload })`) is one
 * cluster entity per key. A client's `submit(key, payload)` stores one
 * message for the key and returns. The runner that owns the key's shard
 * takes every message of the key delivered so far as one batch and calls the
 * handler once for it, as a task of that runner's `TaskService` (so the
 * per-process bound, the counters and the metrics apply), with the key, the
 * latest payload and the batch of submits it covers. Every submit of the
 * batch is answered with that run's result.
 *
 * **What it promises** (each is tested, see docs/scaling.md)
 * - every submit that returned is followed by a run of its key that starts
 *   after it — across a runner crash (SIGKILL), a graceful shutdown
 *   (SIGTERM) and a rebalance (a runner joining or leaving): an unanswered
 *   submit stays in the message table until a run covers it;
 * - bursts collapse: submits that arrive while a key's run is executing are
 *   covered by one next run, so runs per key are far fewer than submits;
 * - each key's last run covers its latest submit (the latest of one sender;
 *   see "ordering" below) and receives it as `run.payload`;
 * - the per-runner bound of its `TaskService` holds: runs are its tasks;
 * - on one runner, runs of one key never overlap, and a run ends before
 *   its runner releases the key's shard, at a rebalance and at a graceful
 *   shutdown alike.
 *
 * **What it does not promise**
 * - exactly-once runs: a run cut off mid-body (its runner died, or was
 *   stopped before the run ended) runs again elsewhere: bodies must be
 *   idempotent;
 * - exclusion while a runner is paused or partitioned longer than the
 *   shard lock's expiration: its run can overlap with the next owner's (use
 *   `Fencing` to reject its writes);
 * - ordering between senders: "latest" is the submit with the highest
 *   snowflake id, which orders one sender's submits, and orders senders only
 *   as well as their clocks agree;
 * - a cluster-wide `blockTillDone` or quiescence: each runner can still
 *   wait on its own `TaskService`.
 *
 * **Gotchas**
 * - The handler receives data, not closures: payloads cross the network
 *   through the schema. Re-read the state the payload names when the run
 *   starts.
 * - A run that is interrupted (its runner is stopping) answers nothing: its
 *   submits are delivered again to the key's next owner. A run that fails
 *   answers every submit it covers with the failure; nothing is retried.
 * - Keys are entity ids: non-empty strings (at most 255 characters).
 *
 * @since 0.1.0
 */
import type { TaskService } from "effect-task"
import type {
  AlreadyProcessingMessage,
  EntityNotAssignedToRunner,
  MailboxFull,
  PersistenceError
} from "effect/cluster/ClusterError"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import type { Sharding } from "effect/cluster/Sharding"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import { checkName, invalid } from "./internal/arguments.ts"
import type * as Batches from "./internal/batches.ts"
import * as ClientImpl from "./internal/client.ts"
import * as RunnerLayer from "./internal/runnerLayer.ts"

const TypeId = "~effect-task-cluster/ClusterCoalescer" as const

/**
 * The one RPC of a coalesced entity: a submit carrying the user's payload.
 *
 * @since 0.1.0
 * @category models
 */
export type SubmitRpc<Payload extends Schema.Top, Success extends Schema.Top, Error extends Schema.Top> = Rpc.Rpc<
  "Submit",
  Payload,
  Success,
  Error
>

/**
 * A coalesced entity: its name, its payload schema and the schemas of its
 * run's result.
 *
 * **Details**
 *
 * Made by `ClusterCoalescer.make`. The same value is used on both sides:
 * runners provide `ClusterCoalescer.layer(entity, handler)`, senders call
 * `ClusterCoalescer.client(entity)`. `entity` is the underlying
 * `effect/cluster` entity (one per key), for the cluster's own tools.
 *
 * **Gotchas**
 *
 * - The name is the entity type in the message table: renaming it orphans
 *   the messages stored under the old name.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ClusterCoalescer } from "effect-task-cluster"
 *
 * export const Reconcile = ClusterCoalescer.make("Reconcile", {
 *   payload: Schema.Struct({ revision: Schema.Int }),
 *   success: Schema.Int
 * })
 * console.log(Reconcile.name) // "Reconcile"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ClusterCoalescer<
  Name extends string,
  Payload extends Schema.Top,
  Success extends Schema.Top,
  Error extends Schema.Top
> {
  /** Marks a coalesced entity. */
  readonly [TypeId]: typeof TypeId
  /** The entity type: one entity of this type per key. */
  readonly name: Name
  /** The schema of a submit's payload. */
  readonly payload: Payload
  /** The `effect/cluster` entity behind it, with its one `Submit` RPC (persisted). */
  readonly entity: Entity.Entity<Name, SubmitRpc<Payload, Success, Error>>
}

/**
 * Types that belong to `ClusterCoalescer`.
 *
 * @since 0.1.0
 * @category models
 */
export declare namespace ClusterCoalescer {
  /**
   * Any coalesced entity.
   *
   * @since 0.1.0
   * @category models
   */
  export type Any = ClusterCoalescer<string, Schema.Top, Schema.Top, Schema.Top>

  /**
   * One submit covered by a run: its id (the message's snowflake id, as a
   * string), its payload and when it was made (epoch millis, from the id).
   *
   * @since 0.1.0
   * @category models
   */
  export type Submit<P> = Batches.Submit<P>

  /**
   * What the handler receives: the key, the latest payload, every submit the
   * run covers (oldest first; `payload` is the last one's) and the fencing
   * token (`undefined` unless the layer was made with `{ fencing: true }`).
   *
   * @since 0.1.0
   * @category models
   */
  export type Run<P> = Batches.Run<P>

  /**
   * The errors of sending a submit, from `effect/cluster`.
   *
   * @since 0.1.0
   * @category errors
   */
  export type SubmitError = MailboxFull | AlreadyProcessingMessage | PersistenceError | EntityNotAssignedToRunner

  /**
   * The options of `ClusterCoalescer.layer`.
   *
   * @since 0.1.0
   * @category models
   */
  export interface LayerOptions {
    /** Take a `Fencing` token before each run (needs a `SqlClient`); default `false`. */
    readonly fencing?: boolean | undefined
    /** How long an idle key's entity stays resident; default effect's `entityMaxIdleTime` (1 minute). */
    readonly maxIdleTime?: Duration.Input | undefined
    /** Submits a resident key buffers; default effect's `entityMailboxCapacity` (4096). */
    readonly mailboxCapacity?: number | "unbounded" | undefined
  }

  /**
   * A sender's handle on a coalesced entity.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Client<P, A, E> {
    /**
     * Stores a submit for `key` and returns once it is stored; the run that
     * covers it happens later, on the runner that owns the key.
     */
    submit(key: string, payload: P): Effect.Effect<void, SubmitError>
    /**
     * Stores a submit for `key` and waits for the run that covers it:
     * returns its value or fails with its error.
     */
    submitAndAwait(key: string, payload: P): Effect.Effect<A, E | SubmitError>
  }
}

const isSchema = (u: unknown): u is Schema.Top => Schema.isSchema(u)

/**
 * Defines a coalesced entity: a name and the schema of its payload.
 *
 * **Details**
 *
 * `success` and `error` are the schemas of a run's value and typed error
 * (default `Schema.Void` and `Schema.Never`): `submitAndAwait` returns or
 * fails with them. The submit RPC is persisted (`ClusterSchema.Persisted`),
 * so every submit is a row in effect's message table until a run answers it.
 *
 * **Gotchas**
 *
 * - A bad `name` (not a non-empty string of at most 150 characters) or a
 *   `payload` that is not a schema throws an `IllegalArgumentError` naming
 *   the argument and the value.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ClusterCoalescer } from "effect-task-cluster"
 *
 * export const Reconcile = ClusterCoalescer.make("Reconcile", {
 *   payload: Schema.Struct({ revision: Schema.Int }),
 *   success: Schema.Int
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const Name extends string,
  Payload extends Schema.Top,
  Success extends Schema.Top = typeof Schema.Void,
  Error extends Schema.Top = typeof Schema.Never
>(name: Name, options: {
  readonly payload: Payload
  readonly success?: Success | undefined
  readonly error?: Error | undefined
}): ClusterCoalescer<Name, Payload, Success, Error> => {
  const nameError = checkName("ClusterCoalescer.make", name)
  if (nameError !== undefined) throw nameError
  if (typeof options !== "object" || options === null || !isSchema(options.payload)) {
    throw invalid("ClusterCoalescer.make", "options.payload", options?.payload, "a Schema")
  }
  for (const field of ["success", "error"] as const) {
    if (options[field] !== undefined && !isSchema(options[field])) {
      throw invalid("ClusterCoalescer.make", `options.${field}`, options[field], "a Schema or undefined")
    }
  }
  const submit = Rpc.make("Submit", {
    payload: options.payload,
    success: (options.success ?? Schema.Void) as Success,
    error: (options.error ?? Schema.Never) as Error
  }).pipe(
    (rpc) => rpc.annotate(ClusterSchema.Persisted, true),
    // a stopping entity interrupts its runs instead of finishing its backlog:
    // the unanswered submits are delivered again to the key's next owner
    (rpc) => rpc.annotate(ClusterSchema.InterruptOnTermination, true)
  )
  const entity = Entity.make(name, [submit]) as unknown as Entity.Entity<Name, SubmitRpc<Payload, Success, Error>>
  return { [TypeId]: TypeId, name, payload: options.payload, entity }
}

/**
 * Whether a value is a coalesced entity made by `ClusterCoalescer.make`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ClusterCoalescer } from "effect-task-cluster"
 *
 * const Reconcile = ClusterCoalescer.make("Reconcile", { payload: Schema.String })
 * console.log(ClusterCoalescer.isClusterCoalescer(Reconcile)) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isClusterCoalescer = (u: unknown): u is ClusterCoalescer.Any =>
  typeof u === "object" && u !== null && (u as Record<string, unknown>)[TypeId] === TypeId

/**
 * The runner side: registers the coalesced entity with this runner, each
 * run calling `handler` as a task of the runner's `TaskService`.
 *
 * **Details**
 *
 * For each key the runner owns, one loop takes every submit delivered so far
 * as one batch, runs `handler` once (`TaskService.run`, so it waits for a
 * worker slot and counts in `activeCount`) and answers every submit of the
 * batch with the run's exit. Submits delivered while the run executes form
 * the next batch. With `{ fencing: true }` each run first takes the key's
 * next `Fencing` token (from the `SqlClient` in context) and passes it as
 * `run.fence`.
 *
 * **Gotchas**
 *
 * - Keep the run inside the handler: work forked out of it (`go`, a
 *   `Coalescer`, `forkDetach`) outlives the entity when the key moves, and
 *   then overlaps with the next owner's run.
 * - Bodies must be interruptible: a stopping runner interrupts its runs and
 *   waits for them before it gives the shard up, so a body that ignores
 *   interruption holds up the rebalance or the shutdown (and keeps its key
 *   from running elsewhere) until it ends or the process is killed.
 * - `{ fencing: true }` without a `SqlClient` fails to build, naming the
 *   option.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { TaskService } from "effect-task"
 * import { ClusterCoalescer } from "effect-task-cluster"
 *
 * const Reconcile = ClusterCoalescer.make("Reconcile", {
 *   payload: Schema.Struct({ revision: Schema.Int }),
 *   success: Schema.Int
 * })
 *
 * export const ReconcileLive = ClusterCoalescer.layer(Reconcile, (run) =>
 *   Effect.gen(function*() {
 *     yield* Effect.log(`${run.key}: ${run.submits.length} submits, latest revision ${run.payload.revision}`)
 *     return run.payload.revision
 *   })).pipe(Layer.provide(TaskService.layerBounded(8)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <
  Name extends string,
  Payload extends Schema.Top,
  Success extends Schema.Top,
  Error extends Schema.Top,
  R = never
>(
  self: ClusterCoalescer<Name, Payload, Success, Error>,
  handler: (run: ClusterCoalescer.Run<Payload["Type"]>) => Effect.Effect<Success["Type"], Error["Type"], R>,
  options?: ClusterCoalescer.LayerOptions
): Layer.Layer<
  never,
  never,
  | TaskService
  | Sharding
  | Exclude<R, Entity.CurrentAddress>
  | Payload["DecodingServices"]
  | Payload["EncodingServices"]
  | Success["EncodingServices"]
  | Success["DecodingServices"]
  | Error["EncodingServices"]
  | Error["DecodingServices"]
> => {
  if (!isClusterCoalescer(self)) {
    return Layer.effectDiscard(Effect.die(invalid("ClusterCoalescer.layer", "self", self, "a ClusterCoalescer")))
  }
  if (typeof handler !== "function") {
    return Layer.effectDiscard(Effect.die(invalid("ClusterCoalescer.layer", "handler", handler, "a function")))
  }
  const fencing = options?.fencing ?? false
  if (typeof fencing !== "boolean") {
    return Layer.effectDiscard(
      Effect.die(invalid("ClusterCoalescer.layer", "options.fencing", fencing, "a boolean or undefined"))
    )
  }
  return RunnerLayer.make(self.entity, self.name, handler, { ...options, fencing }) as any
}

/**
 * The sender side: a client of the coalesced entity.
 *
 * **Details**
 *
 * `submit(key, payload)` stores one message for the key and returns once it
 * is stored (a discarded call: it does not wait for the run).
 * `submitAndAwait(key, payload)` stores it and waits for the run that covers
 * it, returning its value or failing with its error. Works on runners and on
 * client-only processes (`ClusterRunner.layerClient`).
 *
 * **Gotchas**
 *
 * - A bad key (not a non-empty string of at most 255 characters) dies with
 *   an `IllegalArgumentError` naming `key` and the value.
 * - `submitAndAwait` waits across a runner's crash: the run that answers is
 *   the next owner's.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ClusterCoalescer } from "effect-task-cluster"
 *
 * const Reconcile = ClusterCoalescer.make("Reconcile", { payload: Schema.Struct({ revision: Schema.Int }) })
 *
 * export const program = Effect.gen(function*() {
 *   const reconcile = yield* ClusterCoalescer.client(Reconcile)
 *   yield* reconcile.submit("default/app", { revision: 7 }) // stored; runs later
 *   yield* reconcile.submitAndAwait("default/db", { revision: 3 }) // waits for the run
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const client = <
  Name extends string,
  Payload extends Schema.Top,
  Success extends Schema.Top,
  Error extends Schema.Top
>(
  self: ClusterCoalescer<Name, Payload, Success, Error>
): Effect.Effect<
  ClusterCoalescer.Client<Payload["Type"], Success["Type"], Error["Type"]>,
  never,
  Sharding | Payload["EncodingServices"] | Success["DecodingServices"] | Error["DecodingServices"]
> => {
  if (!isClusterCoalescer(self)) {
    return Effect.die(invalid("ClusterCoalescer.client", "self", self, "a ClusterCoalescer"))
  }
  return Effect.map(self.entity.client, (clientFor) => ClientImpl.make(clientFor as any))
}

/**
 * A cluster-wide per-key coalescer on `effect/cluster`.
 *
 * **Details**
 *
 * `make` defines a coalesced entity, `layer` registers its runs on a runner,
 * `client` sends submits to it; `isClusterCoalescer` is the guard.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ClusterCoalescer } from "effect-task-cluster"
 *
 * const Reconcile = ClusterCoalescer.make("Reconcile", { payload: Schema.String })
 * export const RunnerLayer = ClusterCoalescer.layer(Reconcile, (run) => Effect.log(run.key, run.payload))
 * export const send = Effect.flatMap(ClusterCoalescer.client(Reconcile), (c) => c.submit("k", "v"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const ClusterCoalescer: {
  readonly make: typeof make
  readonly layer: typeof layer
  readonly client: typeof client
  readonly isClusterCoalescer: typeof isClusterCoalescer
} = { make, layer, client, isClusterCoalescer }
