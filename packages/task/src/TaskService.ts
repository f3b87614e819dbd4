/**
 * A bounded, quiescence-aware task service: registers units of work, runs each
 * on its own fiber under a worker bound, counts them exactly, and tells you
 * when nothing else is running.
 *
 * **Invariants** (over the counters of `internal/pool.ts` and
 * `internal/admission.ts`, after every step; `registered` counts the tasks
 * registered and not finished):
 * - `running <= workers` — `running` counts tasks holding a worker slot
 *   (shown as `running` in `snapshot`); it can exceed the bound only right
 *   after `resize` lowered it, and then no body starts until `running < workers`
 * - `activeCount = registered - insideYieldQuiescent`
 * - `parked` tasks (waiting for a slot) are registered and counted
 * - the slot queue is non-empty only while `running >= workers`
 * - `failures` = bodies (or coalescer runs) that ended with a typed failure or
 *   a defect (the `effect_task.tasks.failed` counter); interruption alone
 *   never counts
 *
 * **Ordering.** Every state change is one synchronous step on the JavaScript
 * thread, so checks and the registrations that depend on them are atomic.
 * Slots are handed out strictly first come, first served: one FIFO queue holds
 * both parked tasks and started tasks waiting to get their slot back
 * (`yieldSlot`, coalescer re-runs); a newcomer never overtakes it. Every wait
 * (`blockTillDone`, `awaitQuiescence`, taking a slot back) checks its
 * condition inside its callback registration, so no yield can fall between
 * the check and the registration. Quiescence waiters complete only when no
 * fiber inside `yieldQuiescent` is runnable (the exact hand-off rule of
 * `internal/quiescence.ts`).
 *
 * **What it is built on, and why not more.** Parked tasks are records in
 * blocks of parallel arrays, not fibers parked on a `Semaphore`: a fiber costs
 * about 2 KB and `Semaphore` scans its waiters on every release, which made
 * 40,000 parked tasks take 30 s. A fiber is forked only when a slot is granted.
 * Started tasks are kept in an intrusive list (`internal/liveTasks.ts`; `FiberSet` keeps a
 * `Set` and one `Deferred` for the set). Quiescence waiters are completed directly on the
 * decrement path instead of subscribing to a `SubscriptionRef`, and
 * `activeChanges` keeps no subscription while nobody listens.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import { type Accounting, ExactAccounting } from "./internal/accounting.ts"
import { anchorShapes } from "./internal/anchor.ts"
import { checkTask, invalid, withName, withWorkers } from "./internal/arguments.ts"
import * as Metrics from "./internal/metrics.ts"
import { attachPool, TaskPool } from "./internal/pool.ts"
import { metricSourceOf } from "./internal/poolMetrics.ts"
import { registrationContext } from "./internal/region.ts"
import { yieldWith } from "./internal/runs.ts"
import { shutdown } from "./internal/shutdown.ts"
import { stateName, type Task } from "./internal/task.ts"

/**
 * What `snapshot` reports for one registered task.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskService } from "effect-task"
 *
 * const program = Effect.gen(function*() {
 *   const tasks = yield* TaskService
 *   yield* tasks.go("render", Effect.never)
 *   const [info] = yield* tasks.snapshot
 *   console.log(info?.name, info?.state) // render running (it holds a slot)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskInfo {
  /** unique per service, increasing in registration order */
  readonly id: number
  /** the name given to `go` (or to the latest `submit` of a coalescer run) */
  readonly name: string
  /** waiting for a slot, holding one, or inside `yieldSlot` / `yieldQuiescent` */
  readonly state: "parked" | "running" | "yielded-slot" | "yielded-quiescent"
  /**
   * epoch millis, read from `Clock` (on the live clock a reading may be shared
   * by up to 32 events of one event-loop turn: see "How times are read" in
   * docs/observability.md)
   */
  readonly registeredAt: number
  /** epoch millis, read from `Clock` as `registeredAt` is, when the task entered `state` */
  readonly stateSince: number
  /** the coalescer key, for coalescer runs */
  readonly key?: unknown
  /**
   * for coalescer runs: the key's consecutive failed runs so far (0 for a
   * first run or a run after a success; `n` for the `n`-th retry)
   *
   * @since 0.2.0
   */
  readonly retries?: number
}

/**
 * The operations of a `TaskService`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskService } from "effect-task"
 *
 * const program = Effect.gen(function*() {
 *   const tasks: TaskService.Shape = yield* TaskService
 *   yield* tasks.go("hello", Effect.log("hello"))
 *   yield* tasks.blockTillDone
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Shape {
  /**
   * Registers a task and returns at once; the body runs on its own fiber once
   * a worker slot is free.
   */
  go<A, E, R>(name: string, body: Effect.Effect<A, E, R>): Effect.Effect<void, never, R>
  /**
   * Registers a task exactly as `go` does and waits for its exit: returns the
   * body's value or fails with its cause.
   *
   * **When to use**
   *
   * When the caller needs the task's result (p-limit's `limit(fn)`), while the
   * work still counts in `activeCount`, waits for a worker slot in the same
   * FIFO as `go` and is shut down with the service.
   *
   * **Details**
   *
   * The task is counted, bounded and first come, first served like a `go`
   * task, and inherits the caller's context and span. A failure (typed
   * error or defect) adds one to `failures` but is not logged by the service:
   * the caller has it. Interrupting the caller interrupts the task (a parked
   * one is dropped) and waits for it to end; a task interrupted by the
   * service's shutdown interrupts its caller. After shutdown the caller is
   * interrupted at once and nothing is registered.
   *
   * **Gotchas**
   *
   * - A task body that calls `run` holds its own worker slot while it waits:
   *   on a full bounded service that can deadlock. Wait inside
   *   `yieldSlot` (or `yieldQuiescent`, for a dependency wait).
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const program = Effect.gen(function*() {
   *   const tasks = yield* TaskService
   *   const size = yield* tasks.run("measure", Effect.succeed(42))
   *   console.log(size) // 42
   * }).pipe(Effect.provide(TaskService.layerBounded(4)))
   * ```
   *
   * @since 0.2.0
   * @category combinators
   */
  run<A, E, R>(name: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
  /** Registered tasks that have not finished, parked ones included, minus those inside `yieldQuiescent`. */
  readonly activeCount: Effect.Effect<number>
  /** Tasks (and coalescer runs) that ended with a typed failure or a defect. */
  readonly failures: Effect.Effect<number>
  /** Completes when every registered task has finished, including tasks registered while it waits. */
  readonly blockTillDone: Effect.Effect<void>
  /**
   * Completes when `activeCount <= threshold` and no fiber inside
   * `yieldQuiescent` is runnable (the exact hand-off rule; CONTRACT.md). At
   * once when the threshold holds and no task is inside `yieldQuiescent`,
   * and for `Infinity`; otherwise after a scheduler round in which nothing
   * inside `yieldQuiescent` ran. A negative threshold never completes.
   */
  awaitQuiescence(threshold: number): Effect.Effect<void>
  /** The current `activeCount`, then every change. */
  readonly activeChanges: Stream.Stream<number>
  /**
   * Gives the calling task's worker slot back while `self` runs, and takes a
   * slot again (first come, first served) before it returns.
   *
   * **Details**
   *
   * The task stays counted in `activeCount`. However `self` ends the slot
   * accounting stays exact; waiting to get the slot back is interruptible
   * (an interrupted wait ends the task with the interruption alone, whatever
   * `self` returned: it counts as interrupted, not as failed).
   * Outside a task body, on a fiber the body forked, inside an enclosing
   * yield that already gave the slot back, or on an unbounded service,
   * `self` runs unchanged. A non-Effect `self` dies with an
   * `IllegalArgumentError`.
   *
   * **Gotchas**
   *
   * - The yield acts on the fiber that runs it. Combinators that run their
   *   argument on a forked fiber — `Effect.timeout`, `Effect.race`,
   *   `Effect.forkChild` — make it a no-op:
   *   `Effect.timeout(tasks.yieldSlot(io), "5 seconds")` keeps the slot.
   *   Put the combinator inside: `tasks.yieldSlot(Effect.timeout(io, "5 seconds"))`.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const program = Effect.gen(function*() {
   *   const tasks = yield* TaskService
   *   yield* tasks.go("fetch", tasks.yieldSlot(Effect.timeout(Effect.sleep("10 millis"), "5 seconds")))
   *   yield* tasks.blockTillDone
   * }).pipe(Effect.provide(TaskService.layerBounded(1)))
   * ```
   *
   * @since 0.1.0
   * @category combinators
   */
  yieldSlot<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
  /**
   * As `yieldSlot`, and the task also leaves `activeCount` while `self` runs:
   * the way to wait for work that other tasks must produce.
   *
   * **Details**
   *
   * The task is counted again as soon as `self` ends, before it waits for
   * its slot. While `self` runs, its fiber (and every fiber it forks) runs
   * under a scheduler of the service's own that lets `awaitQuiescence` see
   * whether it is runnable (docs/quiescence.md, "What counts as blocked").
   * A task registered from inside `self` is not part of the wait.
   *
   * **Gotchas**
   *
   * - As with `yieldSlot`, `Effect.timeout(tasks.yieldQuiescent(wait), d)`
   *   runs the yield on a forked fiber, where it does nothing: the task keeps
   *   its slot and stays counted. Write `tasks.yieldQuiescent(Effect.timeout(wait, d))`.
   * - Busy-polling inside it (a loop of `yieldNow`s checking a flag) is a
   *   runnable fiber and holds quiescence off for as long as it polls.
   *
   * @example
   * ```ts
   * import { Deferred, Effect } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const program = Effect.gen(function*() {
   *   const tasks = yield* TaskService
   *   const config = yield* Deferred.make<string>()
   *   yield* tasks.go("app", tasks.yieldQuiescent(Effect.timeout(Deferred.await(config), "1 minute")))
   *   yield* tasks.go("config", Deferred.succeed(config, "rendered"))
   *   yield* tasks.blockTillDone
   * }).pipe(Effect.provide(TaskService.layerBounded(1)))
   * ```
   *
   * @since 0.1.0
   * @category combinators
   */
  yieldQuiescent<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
  /** Every registered task with its state, consistent with `activeCount`. */
  readonly snapshot: Effect.Effect<ReadonlyArray<TaskInfo>>
  /** Changes the bound; same argument rules as `layerBounded`. */
  resize(workers: number): Effect.Effect<void>
  /** The current bound; `undefined` when unbounded. */
  readonly workers: Effect.Effect<number | undefined>
}

/**
 * Options of `make`.
 *
 * @example
 * ```ts
 * import type { TaskServiceOptions } from "effect-task"
 *
 * const options: TaskServiceOptions = { name: "renders", workers: 8 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * A name for this service, added as the attribute `effect_task.service` to
   * its metrics so that several services in one registry stay apart. Services
   * without a name (their series carry no attributes) and services of the
   * same name count together in one registry: gauges add up, counters and
   * histograms add the final values of closed services to those of running
   * ones. Use a fixed set of names: each is a set of series for as long as
   * the registry exists.
   */
  readonly name?: string | undefined
  /**
   * The bound on concurrently running bodies. `<= 0` or `Infinity` means
   * unbounded; default `os.availableParallelism() * 4`.
   */
  readonly workers?: number | undefined
}

/**
 * The default bound: `os.availableParallelism() * 4`.
 *
 * @example
 * ```ts
 * import { TaskService } from "effect-task"
 *
 * console.log(TaskService.defaultWorkers()) // 8 on a 2-core machine
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultWorkers = (): number => os.availableParallelism() * 4

const toInfo = (epoch: number) => (task: Task): TaskInfo => {
  const info = {
    id: task.id,
    name: task.name,
    state: stateName(task.state),
    registeredAt: epoch + task.registeredAt,
    stateSince: epoch + task.stateSince
  }
  return task.owner === undefined ? info : { ...info, key: task.owner.key, retries: task.owner.retries ?? 0 }
}

/**
 * Builds a task service in the current scope; closing the scope interrupts
 * and awaits every registered task.
 *
 * **Details**
 *
 * `workers` follows the rules of {@link TaskService.layerBounded}. An invalid
 * value dies with an `IllegalArgumentError` naming the argument and the value.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskService } from "effect-task"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const tasks = yield* TaskService.make({ workers: 2 })
 *   yield* tasks.go("a", Effect.log("a"))
 *   yield* tasks.blockTillDone
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Shape, never, Scope.Scope> =>
  Effect.suspend(() =>
    withWorkers(
      "TaskService.make",
      options?.workers === undefined ? defaultWorkers() : options.workers,
      (bound) => withName("TaskService.make", options?.name, (name) => makeWithBound(bound, name))
    )
  )

/**
 * Builds a service with the bound already checked. `accounting` chooses the
 * bookkeeping strategy (`internal/accounting.ts`): exact by default; the
 * benchmark passes `NoAccounting` through `effect-task/internal`.
 *
 * @internal
 */
export const makeWithBound = (
  bound: number,
  serviceName?: string,
  accounting?: (clock: Clock.Clock) => Accounting
): Effect.Effect<Shape, never, Scope.Scope> =>
  Effect.gen(function*() {
    anchorShapes()
    const scheduler = yield* Scheduler.Scheduler
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const pool = new TaskPool(
      bound,
      scheduler,
      accounting === undefined ? new ExactAccounting(clock) : accounting(clock)
    )
    // The series outlive the service: closing folds its final values into
    // them and leaves them registered, for an exporter's last flush.
    const retireMetrics = Metrics.register(context, metricSourceOf(pool), serviceName)
    yield* Effect.addFinalizer(() => Effect.ensuring(shutdown(pool), Effect.sync(retireMetrics)))

    const activeCount = Effect.sync(() => pool.active)
    const failures = Effect.sync(() => pool.failed)
    const workers = Effect.sync(() => (pool.admission.bound === Infinity ? undefined : pool.admission.bound))
    const snapshot = Effect.sync(() => pool.tasks().map(toInfo(pool.accounting.epoch)))
    const activeChanges = Stream.callback<number>((queue) =>
      Effect.acquireRelease(
        Effect.sync(() => pool.subscribe(queue)),
        () => Effect.sync(() => pool.unsubscribe(queue))
      )
    )

    const shape: Shape = {
      go<A, E, R>(name: string, body: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> {
        const error = checkTask("TaskService.go", name, body)
        if (error !== undefined) return Effect.die(error)
        return Effect.withFiber((fiber) => {
          pool.register(name, body as Effect.Effect<unknown, unknown>, registrationContext(fiber), undefined)
          return Effect.void
        })
      },
      run<A, E, R>(name: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
        const error = checkTask("TaskService.run", name, body)
        if (error !== undefined) return Effect.die(error)
        return Effect.withFiber((fiber) => {
          const registeredFrom = registrationContext(fiber)
          // The registration and the exit hook are one step, inside the
          // callback's registration: the exit cannot be missed.
          return Effect.callback<A, E, R>((resume) => {
            const task = pool.register(
              name,
              body as Effect.Effect<unknown, unknown>,
              registeredFrom,
              undefined,
              (exit) => resume(exit as Exit.Exit<A, E>)
            )
            if (task === undefined) return resume(Effect.interrupt) // shut down: nothing registered
            return Effect.suspend(() => {
              // the caller is interrupted: drop the task if it has not started, else interrupt it and wait
              if (pool.dropUnstarted(task)) return Effect.void
              return Fiber.interrupt(task.fiber!)
            })
          })
        })
      },
      activeCount,
      failures,
      blockTillDone: pool.blockTillDone,
      awaitQuiescence(threshold: number): Effect.Effect<void> {
        if (typeof threshold !== "number" || Number.isNaN(threshold)) {
          return Effect.die(invalid("TaskService.awaitQuiescence", "threshold", threshold, "a number"))
        }
        return pool.quiescence.await(threshold)
      },
      activeChanges,
      yieldSlot: (self) => yieldWith(pool, self, false),
      yieldQuiescent: (self) => yieldWith(pool, self, true),
      snapshot,
      resize(newWorkers: number): Effect.Effect<void> {
        return withWorkers("TaskService.resize", newWorkers, (newBound) =>
          Effect.sync(() =>
            pool.admission.resize(newBound)
          ))
      },
      workers
    }
    return attachPool(shape, pool)
  })

/**
 * The task service: a bounded worker pool that counts its tasks exactly and
 * tells when nothing else is running.
 *
 * **When to use**
 *
 * Fan out many units of work (renders, fetches, reconciles) that must be
 * bounded, counted, waited on and shut down with their owner.
 *
 * **Details**
 *
 * Provide it with {@link TaskService.layer} (bound `os.availableParallelism() * 4`),
 * {@link TaskService.layerBounded} or {@link TaskService.layerUnbounded}. The
 * service lives as long as the layer's scope; when the scope closes, every task
 * still registered is interrupted and awaited, and the counters end at 0.
 *
 * **Gotchas**
 *
 * - A task body that reads `activeCount` counts itself: "nobody else" is
 *   `awaitQuiescence(1)` from inside a task, `awaitQuiescence(0)` from outside
 *   (or inside `yieldQuiescent`).
 * - A body that waits for another task's result while holding its slot can
 *   deadlock a full pool: wait inside `yieldQuiescent` (or `yieldSlot`).
 * - Shutdown waits for every task fiber to end; a body that is uninterruptible
 *   forever keeps the scope from closing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskService } from "effect-task"
 *
 * const program = Effect.gen(function*() {
 *   const tasks = yield* TaskService
 *   for (let i = 0; i < 100; i++) {
 *     yield* tasks.go(`job-${i}`, Effect.sleep("10 millis"))
 *   }
 *   yield* tasks.blockTillDone
 * }).pipe(Effect.provide(TaskService.layerBounded(8)))
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class TaskService extends Context.Service<TaskService, Shape>()("effect-task/TaskService") {
  /**
   * Builds the service in the current scope, with options; closing the scope
   * shuts it down. The layers are made from it.
   *
   * @example
   * ```ts
   * import { Effect, Layer } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const RendererTasks = Layer.effect(TaskService, TaskService.make({ workers: 16, name: "renderer" }))
   * ```
   *
   * @since 0.1.0
   * @category constructors
   */
  static readonly make: (options?: Options) => Effect.Effect<Shape, never, Scope.Scope> = make

  /**
   * The default bound, `os.availableParallelism() * 4`, read at each call.
   *
   * @example
   * ```ts
   * import { TaskService } from "effect-task"
   *
   * console.log(TaskService.defaultWorkers()) // 8 on a 2-core machine
   * ```
   *
   * @since 0.1.0
   * @category constructors
   */
  static readonly defaultWorkers: () => number = defaultWorkers

  /**
   * The service's metrics, read through Effect's metric APIs.
   *
   * **Details**
   *
   * Gauges `effect_task.tasks.registered`, `.running`, `.parked`, `.yielded`;
   * counters `effect_task.tasks.started`, `.succeeded`, `.failed`,
   * `.interrupted`; histograms (seconds) `effect_task.task.parked.duration`
   * and `effect_task.task.running.duration`. Coalescer runs count one start
   * and one outcome per run. The series are registered in the
   * `Metric.MetricRegistry` of the context the layer is built in and read
   * the service's counters when read: per task the service adds two counter
   * increments and two histogram observations to its own counting, and no
   * Effect metric is updated on the hot path. Durations are read from `Clock`
   * like `TaskInfo`'s times. A service with a `name` (`make`, `layerWith`,
   * `layerBounded(workers, { name })`) adds the attribute
   * `effect_task.service`; services of one name (or without one) in one
   * registry share their series and count together.
   *
   * **Gotchas**
   *
   * The series outlive the service: when it closes, its final values stay
   * in them (counters and histograms keep counting across services, gauges
   * drop to what is still running) so that an exporter's last flush after
   * shutdown still reports them.
   *
   * @example
   * ```ts
   * import { Effect, Metric } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const program = Effect.gen(function*() {
   *   const tasks = yield* TaskService
   *   yield* tasks.go("job", Effect.void)
   *   yield* tasks.blockTillDone
   *   const started = yield* Metric.value(TaskService.metrics.started)
   *   console.log(started.count) // 1
   * }).pipe(Effect.provide(TaskService.layer))
   * ```
   *
   * @since 0.1.0
   * @category metrics
   */
  static readonly metrics = Metrics.definitions

  /**
   * The service with the default bound, `os.availableParallelism() * 4`.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const main = Effect.gen(function*() {
   *   const tasks = yield* TaskService
   *   yield* tasks.go("job", Effect.log("hi"))
   *   yield* tasks.blockTillDone
   * }).pipe(Effect.provide(TaskService.layer))
   * ```
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layer: Layer.Layer<TaskService> = Layer.effect(
    TaskService,
    Effect.suspend(() => makeWithBound(defaultWorkers()))
  )

  /**
   * The service with options: `name` for its metrics, and `workers` (default
   * `os.availableParallelism() * 4`, the bound of {@link TaskService.layer}).
   *
   * **Details**
   *
   * `TaskService.layerWith({ name })` is `TaskService.layer` with a name;
   * `workers` follows the rules of {@link TaskService.layerBounded}. Same as
   * `Layer.effect(TaskService, TaskService.make(options))`.
   *
   * @example
   * ```ts
   * import { TaskService } from "effect-task"
   *
   * const Renders = TaskService.layerWith({ name: "renders" })
   * const Fetches = TaskService.layerWith({ name: "fetches", workers: 64 })
   * ```
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layerWith = (options: Options): Layer.Layer<TaskService> =>
    Layer.effect(
      TaskService,
      Effect.suspend(() =>
        withWorkers(
          "TaskService.layerWith",
          options.workers === undefined ? defaultWorkers() : options.workers,
          (bound) => withName("TaskService.layerWith", options.name, (name) => makeWithBound(bound, name))
        )
      )
    )

  /**
   * The service with at most `workers` bodies running at once.
   *
   * **Details**
   *
   * `workers <= 0` or `Infinity` means unbounded. `NaN`, a positive
   * non-integer or a non-number fails to build with a defect
   * (`IllegalArgumentError`) whose message names the argument and the value.
   * `options.name` names the service in its metrics (see `TaskServiceOptions`).
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const main = Effect.gen(function*() {
   *   const tasks = yield* TaskService
   *   yield* tasks.go("job", Effect.log("hi"))
   *   yield* tasks.blockTillDone
   * }).pipe(Effect.provide(TaskService.layerBounded(4)))
   *
   * const Renders = TaskService.layerBounded(4, { name: "renders" })
   * ```
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layerBounded = (
    workers: number,
    options?: { readonly name?: string | undefined }
  ): Layer.Layer<TaskService> =>
    Layer.effect(
      TaskService,
      Effect.suspend(() =>
        withWorkers(
          "TaskService.layerBounded",
          workers,
          (bound) => withName("TaskService.layerBounded", options?.name, (name) => makeWithBound(bound, name))
        )
      )
    )

  /**
   * The service without a bound: every body starts as soon as it is registered.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { TaskService } from "effect-task"
   *
   * const main = Effect.gen(function*() {
   *   const tasks = yield* TaskService
   *   yield* tasks.go("job", Effect.log("hi"))
   *   yield* tasks.blockTillDone
   * }).pipe(Effect.provide(TaskService.layerUnbounded))
   * ```
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layerUnbounded: Layer.Layer<TaskService> = Layer.effect(
    TaskService,
    Effect.suspend(() => makeWithBound(Infinity))
  )
}

/**
 * Types that belong to {@link TaskService}.
 *
 * @since 0.1.0
 * @category models
 */
export declare namespace TaskService {
  /**
   * The operations of a `TaskService` (same as the module's `Shape`).
   *
   * @since 0.1.0
   * @category models
   */
  // oxlint-disable-next-line no-shadow
  export type Shape = ServiceShape
}

type ServiceShape = Shape
