/**
 * The runner side of a coalesced entity: one fiber per resident entity
 * (one key) that takes every submit already delivered as one batch, runs the
 * handler once for the batch as a task of the runner's `TaskService`, and
 * replies to every submit of the batch with that run's exit.
 *
 * **Invariants**
 * - one loop per resident entity, and the loop runs at most one batch at a
 *   time: runs of one key on one runner never overlap;
 * - a batch holds only submits delivered before it was taken, so its run
 *   starts after each of them was stored;
 * - the run is a task of the runner's `TaskService` awaited by the loop
 *   (`run`): when the entity stops, the loop is interrupted, which interrupts
 *   the task and waits for its end, before effect's entity manager reports
 *   the entity closed and the shard's lock can be released;
 * - a submit is answered only with the exit of a run that covered it;
 *   unanswered submits (the loop was interrupted) stay unprocessed in the
 *   message table and are delivered again to the key's next owner.
 *
 * **Gotchas**
 * - The run must not outlive the loop: a run forked elsewhere (a detached
 *   `Coalescer.submit`, `go`) keeps running after the entity closed and the
 *   shard moved, and overlaps with the next owner's run. That was the cause
 *   of the overlaps at handover seen in the prototype; see docs/scaling.md.
 *
 * @internal
 */
import type { TaskService } from "effect-task"
import type * as Envelope from "effect/cluster/Envelope"
import * as Snowflake from "effect/cluster/Snowflake"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"

/** @internal */
export interface Submit<P> {
  readonly id: string
  readonly payload: P
  readonly submittedAt: number
}

/** @internal */
export interface Run<P> {
  readonly key: string
  readonly payload: P
  readonly submits: ReadonlyArray<Submit<P>>
  readonly fence: bigint | undefined
}

/** @internal */
export interface BatchOptions<P, A, E, R> {
  readonly name: string
  readonly key: string
  readonly tasks: TaskService["Service"]
  readonly handler: (run: Run<P>) => Effect.Effect<A, E, R>
  /** Takes the next fencing token of the key, when fencing is on. */
  readonly nextFence: Effect.Effect<bigint, unknown> | undefined
}

/** The request envelope of a submit, as the entity's queue holds it. */
interface Request<P> {
  readonly requestId: Envelope.Request<any>["requestId"]
  readonly payload: P
}

/** The submits of a batch, oldest first (snowflake order: a sender's submits in the order it made them). */
const toSubmits = <P>(batch: ReadonlyArray<Request<P>>): Array<Submit<P>> =>
  batch
    .toSorted((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0))
    .map((request) => ({
      id: String(request.requestId),
      payload: request.payload,
      submittedAt: Snowflake.timestamp(request.requestId)
    }))

/**
 * A fencing token that the store cannot give right now is waited for: the
 * run must not start without one, and the cluster needs the same store to
 * make progress anyway.
 */
const retryFence = Schedule.spaced("500 millis")

/**
 * Runs one batch: the handler as a task of the service, the fencing token
 * (when on) taken inside the task, right before the handler starts.
 *
 * @internal
 */
export const runBatch = <P, A, E, R>(
  options: BatchOptions<P, A, E, R>,
  batch: ReadonlyArray<Request<P>>
): Effect.Effect<Exit.Exit<A, E>, never, R> => {
  const submits = toSubmits(batch)
  const latest = submits[submits.length - 1]!
  const body = Effect.gen(function*() {
    const fence = options.nextFence === undefined
      ? undefined
      : yield* Effect.orDie(Effect.retry(options.nextFence, retryFence))
    return yield* options.handler({ key: options.key, payload: latest.payload, submits, fence })
  })
  return Effect.exit(options.tasks.run(`${options.name} ${options.key}`, body))
}

/**
 * The entity's behaviour for `Entity.toLayerQueue`: forever, take every
 * delivered submit, run once, reply to each.
 *
 * @internal
 */
export const loop = <P, A, E, R>(
  options: BatchOptions<P, A, E, R>,
  queue: Queue.Dequeue<Request<P>>,
  reply: (request: Request<P>, exit: Exit.Exit<A, E>) => Effect.Effect<void>
): Effect.Effect<never, never, R> =>
  Effect.forever(
    Effect.gen(function*() {
      const batch = yield* Queue.takeAll(queue)
      const exit = yield* runBatch(options, batch)
      for (const request of batch) yield* reply(request, exit)
    })
  )
