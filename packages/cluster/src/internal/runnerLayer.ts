/**
 * The runner-side layer of a coalesced entity, once its arguments are
 * checked: the runner's `TaskService`, the `SqlClient` for fencing (when
 * asked for), and effect's queue-based entity whose behaviour is the batch
 * loop of `batches.ts`.
 *
 * **Invariants**
 * - the services are read once, when the layer is built; the behaviour is
 *   built once per resident key, in the entity's scope, so its loop is
 *   interrupted and awaited when the entity stops;
 * - with fencing, the table exists before the first key starts.
 *
 * **Gotchas**
 * - `disableFatalDefects`: a dying run answers its submits with the defect;
 *   with effect's default the entity would restart and replay them forever.
 *
 * @internal
 */
import { TaskService } from "effect-task"
import * as Entity from "effect/cluster/Entity"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import * as Sql from "effect/sql/SqlClient"
import * as Fencing from "../Fencing.ts"
import { invalid } from "./arguments.ts"
import * as Batches from "./batches.ts"

/** @internal */
export const make = <A, E, R>(
  entity: Entity.Entity<string, any>,
  name: string,
  handler: (run: Batches.Run<any>) => Effect.Effect<A, E, R>,
  options: {
    readonly fencing: boolean
    readonly maxIdleTime?: Duration.Input | undefined
    readonly mailboxCapacity?: number | "unbounded" | undefined
  }
): Layer.Layer<never, never, any> =>
  Layer.unwrap(Effect.gen(function*() {
    const tasks = yield* TaskService
    const sql = yield* Effect.serviceOption(Sql.SqlClient)
    if (options.fencing && Option.isNone(sql)) {
      return yield* Effect.die(
        invalid("ClusterCoalescer.layer", "options.fencing", options.fencing, "false unless a SqlClient is provided")
      )
    }
    const store = options.fencing ? Option.getOrUndefined(sql) : undefined
    if (store !== undefined) yield* Effect.orDie(Effect.provideService(Fencing.migrate, Sql.SqlClient, store))
    const context = yield* Effect.context<R>()
    // built once per resident key, in the entity's scope
    const behaviour = Effect.map(Entity.CurrentAddress, ({ entityId }) => {
      const batchOptions: Batches.BatchOptions<any, A, E, never> = {
        name,
        key: entityId,
        tasks,
        handler: (run) => Effect.provide(handler(run), context),
        nextFence: store === undefined
          ? undefined
          : Effect.provideService(Fencing.next(name, entityId), Sql.SqlClient, store)
      }
      return (queue: Queue.Dequeue<any>, replier: Entity.Replier<any>) =>
        Batches.loop(batchOptions, queue, (request, exit) => replier.complete(request as any, exit as any))
    })
    return entity.toLayerQueue(behaviour, {
      maxIdleTime: options.maxIdleTime,
      mailboxCapacity: options.mailboxCapacity,
      disableFatalDefects: true
    })
  }))
