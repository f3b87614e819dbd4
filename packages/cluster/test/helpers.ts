/**
 * A coalesced entity on an in-memory cluster (`TestRunner.layer`) and a
 * recording handler whose runs can be held at a gate.
 */
import { Effect, Layer, Schema } from "effect"
import { TaskService } from "effect-task"
import { TestRunner } from "effect/cluster"
import { ClusterCoalescer } from "../src/index.ts"

export class Boom extends Schema.TaggedError<Boom>()("Boom", { value: Schema.Int }) {}

export const Echo = ClusterCoalescer.make("Echo", {
  payload: Schema.Struct({ value: Schema.Int }),
  success: Schema.Int,
  error: Boom
})

export interface Recorded {
  readonly key: string
  readonly payload: number
  readonly covered: ReadonlyArray<number>
}

/** What the handler saw, and how many runs were in flight at most (per key and overall). */
export class Recorder {
  readonly runs: Array<Recorded> = []
  inFlight = 0
  highWater = 0
  readonly perKey = new Map<string, number>()
  keyHighWater = 0
  finalized = 0
}

export const makeHandler =
  (recorder: Recorder, body: (run: ClusterCoalescer.Run<{ value: number }>) => Effect.Effect<number, Boom>) =>
  (run: ClusterCoalescer.Run<{ value: number }>) =>
    Effect.gen(function*() {
      recorder.runs.push({ key: run.key, payload: run.payload.value, covered: run.submits.map((s) => s.payload.value) })
      recorder.inFlight++
      recorder.highWater = Math.max(recorder.highWater, recorder.inFlight)
      const n = (recorder.perKey.get(run.key) ?? 0) + 1
      recorder.perKey.set(run.key, n)
      recorder.keyHighWater = Math.max(recorder.keyHighWater, n)
      return yield* body(run)
    }).pipe(Effect.ensuring(Effect.sync(() => {
      recorder.inFlight--
      recorder.perKey.set(run.key, recorder.perKey.get(run.key)! - 1)
      recorder.finalized++
    })))

/** The entity's runner layer on an in-memory cluster, with a bounded `TaskService`, and the cluster services. */
export const cluster = (
  handler: (run: ClusterCoalescer.Run<{ value: number }>) => Effect.Effect<number, Boom>,
  workers = 4
) =>
  ClusterCoalescer.layer(Echo, handler).pipe(
    Layer.provideMerge(TaskService.layerBounded(workers)),
    Layer.provideMerge(TestRunner.layer)
  )

/** The entity's runner layer on an in-memory cluster, using the `TaskService` of the context (it outlives the cluster). */
export const clusterOnly = (handler: (run: ClusterCoalescer.Run<{ value: number }>) => Effect.Effect<number, Boom>) =>
  ClusterCoalescer.layer(Echo, handler).pipe(Layer.provideMerge(TestRunner.layer))
