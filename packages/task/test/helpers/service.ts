/**
 * Building services for a test: a fresh metric registry, a service in a scope
 * of its own that the test can close, a layer per bound, and a collector of
 * `activeChanges`; not a test file.
 */
import { Context, Effect, Exit, type Fiber, Layer, Metric, Scope, Stream } from "effect"
import { TaskService, type TaskServiceShape } from "effect-task"
import { until } from "./waits.ts"

/** Runs `self` with a fresh metric registry, so the service's metrics start at 0. */
export const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

/** A service built into its own scope, so that a test can shut it down (`close`) at any point. */
export interface OwnedService {
  readonly tasks: TaskServiceShape
  readonly context: Context.Context<TaskService>
  readonly scope: Scope.Closeable
  /** closes `scope`: the service shuts down */
  readonly close: Effect.Effect<void>
}

/** Builds `layer` into an explicit `Scope.make()`; `close` closes that scope. */
export const ownedService = (layer: Layer.Layer<TaskService>): Effect.Effect<OwnedService> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { tasks: Context.get(context, TaskService), context, scope, close: Scope.close(scope, Exit.void) }
  })

/** `bound` for a layer: `0` means unbounded. */
export const layerFor = (bound: number): Layer.Layer<TaskService> =>
  bound === 0 ? TaskService.layerUnbounded : TaskService.layerBounded(bound)

/**
 * Collects `count` values of `activeChanges` in a forked fiber, and returns
 * once the subscriber has its first value (the current count), so every
 * later change reaches it.
 */
export const collectChanges = (
  tasks: TaskServiceShape,
  count: number
): Effect.Effect<Fiber.Fiber<ReadonlyArray<number>>> =>
  Effect.gen(function*() {
    let received = 0
    const fiber = yield* Effect.forkChild(
      Stream.runCollect(Stream.take(tasks.activeChanges, count).pipe(Stream.tap(() => Effect.sync(() => received++))))
    )
    yield* until("the activeChanges subscriber has the current count", () => received > 0)
    return fiber
  })
