/**
 * A per-key coalescer on top of `TaskService`: at most one run per key,
 * bursts of submits collapse into one re-run, and no submit is lost. For
 * reconcilers it also retries failed runs per key with a `Schedule`, delays
 * submits (`submitAfter`) and cancels keys.
 *
 * **Invariants** (after every step):
 * - `registered runs per key <= 1`: a key has a registered run exactly while
 *   its entry's `task` is set; `size` = entries with a `task` (`withRun`)
 * - an entry is in one of four states: `parked` (registered, its body has not
 *   started), `running` (a body is executing), `requeued` (a re-run gave its
 *   slot back and waits for a new one — it counts as not started), or
 *   `scheduled` (no registered run: it waits on a retry or a delayed submit)
 * - `pending` is `true` only while `running` (or `cancelling`)
 * - `retryAt` is set only while `scheduled` (no task); `delayed` in any state
 * - `scheduled` = entries in `waiting` = entries with `retryAt` or `delayed`;
 *   each has exactly one live node in the timer heap, due at the earlier of
 *   the two (none for an infinite delay); one timer fiber per coalescer
 *   sleeps until the earliest, and it is inside no task (`internal/timers.ts`)
 * - an entry exists exactly while it has a task, a retry wait or a delayed
 *   submit: it is removed in the same step in which the last of them ends,
 *   whatever the end: success, failure, defect, interruption, cancel, or
 *   dropped unstarted at shutdown
 * - `waiting` is non-empty exactly while the pool's shutdown hook is added
 *
 * **Ordering argument for the guarantee** "every submit is followed by a run
 * of its key that starts after it". A submit is one synchronous step; so is
 * the step in which a run starts (it reads the latest body and clears
 * `pending`), and the step in which a run ends (it checks `pending` and either
 * re-queues or removes the entry). No other fiber's step can fall between a
 * check and its consequence. A submit therefore finds the key in exactly one
 * state: idle (it registers a run, which starts later), parked or requeued (the
 * run starts later and executes this body), running (it sets `pending`; the
 * end step sees it and re-queues a run, which starts later), or scheduled (it
 * registers a run at once and drops the retry wait). A failing or dying run
 * ends through the same step (its cause is counted, then `pending` is
 * honoured before any retry). A delayed submit is a submit made by its timer.
 * Interruption is the deliberate exception: a run whose fiber is interrupted
 * while its body executes and `pending` is set is replaced by a freshly
 * registered run (unless the service is shutting down); a run interrupted
 * before its body starts (`requeued`) is cancelled together with the submits
 * collapsed into it, and its entry is removed. `cancel` removes every submit
 * made before it; one made while the cancelled run is still ending sets
 * `pending` (whatever the run's state) and gets a fresh run. The start step
 * checks `cancelling` first: a run whose fiber was forked (or granted its slot
 * back) before the cancel but had not taken its start step, and which the
 * cancel's interruption has not reached yet (it yielded uninterruptibly, or
 * the cancel's fiber yielded before interrupting), does not start. It ends its
 * task instead, so it never executes a body submitted after the cancel nor
 * clears that submit's `pending`: the end step registers the fresh run.
 *
 * A key's runs are one multi-run task of the service (`internal/runs.ts`:
 * `beginRun`, `endRun`, `requeue`): this module never touches a slot or a
 * counter, and the task's owner hook (`onRunExit`) runs in the task's end
 * step, before the service's counters go down, so a re-run registered there
 * keeps `activeCount` from dipping.
 *
 * All state lives in a `KeyTable` keyed with `Equal` (`internal/keyTable.ts`)
 * and is changed only
 * inside synchronous steps (no `Ref`: the end step runs inside the task's exit
 * observer, which cannot run effects, and one synchronous step is already
 * atomic). Times (retry waits, delays) are epoch milliseconds read from the
 * `Clock` of the context the coalescer was made in; its timers sleep on that
 * clock, so `TestClock` drives them.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Pull from "effect/Pull"
import * as Schedule from "effect/Schedule"
import { checkTask, invalid } from "./internal/arguments.ts"
import { KeyTable } from "./internal/keyTable.ts"
import { poolOf, type TaskPool } from "./internal/pool.ts"
import { registrationContext } from "./internal/region.ts"
import { beginRun, endRun, rename, requeue, type RunSpec } from "./internal/runs.ts"
import type { Task, TaskOwner } from "./internal/task.ts"
import { type TimerNode, Timers } from "./internal/timers.ts"
import { TaskService } from "./TaskService.ts"

/**
 * A key as a span attribute. `String(key)` throws for a null-prototype
 * object or a throwing `toString`; a key that cannot be printed is shown as
 * `[unprintable <type>]` instead of failing the run.
 */
const keyAttribute = (key: unknown): string => {
  try {
    return String(key)
  } catch {
    return `[unprintable ${typeof key}]`
  }
}

/**
 * A per-key coalescer: at most one run per key, bursts collapse into one re-run.
 *
 * **Details**
 *
 * `submit(name, key, body)` never waits. When the key is idle it registers a
 * run of `body` as a task of the service. When the key's run is registered but
 * has not started, the submit collapses into it and the run executes this
 * latest body. When the key's run is executing, the submit marks it pending;
 * however many submits arrive, one re-run follows, executing the latest body
 * under its name. The re-run stays the same registered task (so `activeCount`
 * does not dip) but queues again for a worker slot.
 *
 * For reconcilers (client-go's workqueue): a coalescer made with
 * `{ retry: schedule }` runs a key's latest body again after the schedule's
 * next delay when a run fails; `submitAfter` submits once a delay has passed
 * (`AddAfter`); `cancel` drops a key wherever it is (an object was deleted);
 * `retries` reads a key's consecutive failures (`NumRequeues`).
 *
 * **Gotchas**
 *
 * - A body must re-read its inputs: a re-run exists because the earlier
 *   submit's inputs went stale, and only the latest body is kept.
 * - Keys are compared with Effect's `Equal`: primitives by value, `Data`
 *   values and (in effect 4) plain objects and arrays by structure. Wrap a
 *   key with `Equal.byReference` to compare it by identity. Mutating a key
 *   after submitting it corrupts its hash.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Coalescer, TaskService } from "effect-task"
 *
 * const program = Effect.gen(function*() {
 *   const tasks = yield* TaskService
 *   const coalescer = yield* Coalescer.make<string>()
 *   for (let i = 0; i < 3; i++) {
 *     yield* coalescer.submit(`reconcile-${i}`, "default/app", Effect.log(`run ${i}`))
 *   }
 *   yield* tasks.blockTillDone // one run, executing the latest body: "run 2"
 * }).pipe(Effect.provide(TaskService.layerBounded(4)))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Coalescer<in K> {
  /** Registers, collapses into, or marks pending the run of `key`; never waits. */
  submit<A, E, R>(name: string, key: K, body: Effect.Effect<A, E, R>): Effect.Effect<void, never, R>
  /** The number of keys with a registered run. */
  readonly size: Effect.Effect<number>
  /**
   * Acts as `submit(name, key, body)` once `delay` has passed; never waits.
   *
   * **Details**
   *
   * A key keeps at most one delayed submit: a second `submitAfter` before the
   * first fired keeps the earlier due time and the later name and body
   * (workqueue's `AddAfter`). A delay of 0 submits at once. While it waits
   * the delayed submit is not counted in `activeCount`, holds no slot and is
   * counted in `scheduled`; ordinary submits meanwhile run as usual, and the
   * delayed one still fires. `cancel` and the service's shutdown drop it.
   * `delay` is a `Duration.Input`; an invalid or negative one dies with an
   * `IllegalArgumentError`. `Infinity` never fires.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Coalescer } from "effect-task"
   *
   * // a periodic resync: each run schedules the next one
   * const resync = (coalescer: Coalescer<string>, key: string): Effect.Effect<void> =>
   *   Effect.andThen(
   *     Effect.log(`reconcile ${key}`),
   *     coalescer.submitAfter(`resync ${key}`, key, Effect.suspend(() => resync(coalescer, key)), "30 seconds")
   *   )
   * ```
   *
   * @since 0.2.0
   * @category combinators
   */
  submitAfter<A, E, R>(
    name: string,
    key: K,
    body: Effect.Effect<A, E, R>,
    delay: Duration.Input
  ): Effect.Effect<void, never, R>
  /**
   * Interrupts the key's run wherever it is (parked, executing, requeued),
   * drops its pending re-run, delayed submit and retry wait, and removes its
   * entry; `true` when there was anything to cancel.
   *
   * **Details**
   *
   * Returns once the interrupted run has ended (a parked run never starts).
   * The submits made before the cancel get no run; a submit made while the
   * cancelled run is still ending gets a fresh one. Called from the key's own
   * run, it interrupts the caller.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import type { Coalescer } from "effect-task"
   *
   * // the object behind the key was deleted: stop reconciling it
   * const onDelete = (coalescer: Coalescer<string>, key: string) =>
   *   Effect.flatMap(coalescer.cancel(key), (found) => Effect.log(found ? "cancelled" : "idle"))
   * ```
   *
   * @since 0.2.0
   * @category combinators
   */
  cancel(key: K): Effect.Effect<boolean>
  /**
   * The key's consecutive failed runs (typed failures and defects); 0 after
   * a success, for an idle key, and once a retry schedule gave up.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import type { Coalescer } from "effect-task"
   *
   * const report = (coalescer: Coalescer<string>, key: string) =>
   *   Effect.flatMap(coalescer.retries(key), (n) => Effect.log(`${key} failed ${n} times in a row`))
   * ```
   *
   * @since 0.2.0
   * @category getters
   */
  retries(key: K): Effect.Effect<number>
  /**
   * The number of keys waiting on a delayed submit or a retry. A key with a
   * registered run and a delayed submit counts in both `size` and `scheduled`.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import type { Coalescer } from "effect-task"
   *
   * const idle = (coalescer: Coalescer<string>) =>
   *   Effect.map(Effect.all([coalescer.size, coalescer.scheduled]), ([size, scheduled]) => size + scheduled === 0)
   * ```
   *
   * @since 0.2.0
   * @category getters
   */
  readonly scheduled: Effect.Effect<number>
}

/**
 * Options of `Coalescer.make`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import type { CoalescerOptions } from "effect-task"
 *
 * const options: CoalescerOptions = {
 *   retry: Schedule.exponential("100 millis").pipe(Schedule.upTo({ times: 5 }))
 * }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * Per-key retry after a failed run (typed failure or defect, not
   * interruption): the key runs its latest body again after the schedule's
   * next delay. The schedule's input is the failed run's `Cause`; each key
   * steps its own copy, from the start again after a success. When the
   * schedule is done the key gives up and its entry is removed. Without it
   * a failed run is counted and logged, and that is all.
   */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
}

interface Delayed {
  readonly name: string
  readonly body: Effect.Effect<unknown, unknown>
  readonly context: Context.Context<never>
  /** due time, epoch millis */
  readonly at: number
}

type Step = (now: number, input: unknown) => Pull.Pull<[unknown, Duration.Duration], unknown, unknown>

interface Entry {
  readonly key: unknown
  /** the latest submitted name, body and context: what the next run executes */
  name: string
  body: Effect.Effect<unknown, unknown>
  context: Context.Context<never>
  state: "parked" | "running" | "requeued" | "scheduled"
  pending: boolean
  task: Task | undefined
  /** runs started so far (the re-run number of the current run) */
  runs: number
  /** consecutive failed runs */
  retries: number
  /** this key's copy of the retry schedule; `undefined` = from the start */
  step: Step | undefined
  /** due time of the retry wait (state `scheduled`), epoch millis */
  retryAt: number | undefined
  delayed: Delayed | undefined
  /** the entry's live node in the timer heap, due at the earlier of `retryAt` and `delayed.at` */
  timer: TimerNode<Entry> | undefined
  /** `cancel` interrupted the run, which has not ended yet */
  cancelling: boolean
}

/**
 * Creates a coalescer that registers its runs with the `TaskService` in context.
 *
 * **Details**
 *
 * With `{ retry }`, a failed run of a key (typed failure or defect) is run
 * again, with the key's latest body, after the schedule's next delay, unless
 * a submit is pending (the re-run follows at once). The wait holds no worker
 * slot and is not counted in `activeCount` (the run's task ends; the key
 * counts in `scheduled`). A submit during the wait runs at once with its
 * body; a success resets the key's schedule; when the schedule is done the
 * key gives up and its entry is removed. Each failed run still counts in
 * `failures` and is logged. The coalescer's times are read from the `Clock`
 * of the context it is made in, and its timers are interrupted when the
 * service shuts down. `retry` that is not a `Schedule` dies with an
 * `IllegalArgumentError`.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { Coalescer, TaskService } from "effect-task"
 *
 * const program = Effect.gen(function*() {
 *   const coalescer = yield* Coalescer.make<number>({
 *     retry: Schedule.exponential("100 millis").pipe(Schedule.upTo({ times: 5 }))
 *   })
 *   yield* coalescer.submit("job", 1, Effect.log("once"))
 *   console.log(yield* coalescer.size) // 1
 * }).pipe(Effect.provide(TaskService.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <K>(options?: Options): Effect.Effect<Coalescer<K>, never, TaskService> => {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    return Effect.die(invalid("Coalescer.make", "options", options, "an object"))
  }
  const retry = options?.retry
  if (retry !== undefined && !Schedule.isSchedule(retry)) {
    return Effect.die(invalid("Coalescer.make", "retry", retry, "a Schedule"))
  }
  return Effect.withFiber((fiber) =>
    Effect.flatMap(TaskService, (service) => {
      const pool = poolOf(service)
      if (pool === undefined) {
        return Effect.die(
          invalid("Coalescer.make", "the TaskService in context", service, "built by TaskService.make or its layers")
        )
      }
      return Effect.succeed(makeWith<K>(pool, registrationContext(fiber), retry))
    })
  )
}

/**
 * `delay` as milliseconds (`Infinity` allowed), or the error naming it: a
 * `Duration`, a number of millis, a bigint of nanos, a `[seconds, nanos]`
 * tuple or a `"<n> <unit>"` string, not `NaN` and not negative.
 */
const delayMillis = (method: string, delay: unknown): number | Cause.IllegalArgumentError => {
  const expected = "a non-negative Duration.Input"
  const valid = Duration.isDuration(delay) || (typeof delay === "number" && !Number.isNaN(delay)) ||
    typeof delay === "bigint" || typeof delay === "string" ||
    (Array.isArray(delay) && delay.length === 2 && delay.every((n) => typeof n === "number" && Number.isFinite(n)))
  if (!valid) return invalid(method, "delay", delay, expected)
  const duration = Duration.fromInput(delay as Duration.Input)
  if (Option.isNone(duration) || Duration.isNegative(duration.value)) return invalid(method, "delay", delay, expected)
  return Duration.toMillis(duration.value)
}

/** A key's entry before its first run (or delayed submit) is registered. */
const newEntry = (
  key: unknown,
  name: string,
  body: Effect.Effect<unknown, unknown>,
  context: Context.Context<never>
): Entry => ({
  key,
  name,
  body,
  context,
  state: "scheduled",
  pending: false,
  task: undefined,
  runs: 0,
  retries: 0,
  step: undefined,
  retryAt: undefined,
  delayed: undefined,
  timer: undefined,
  cancelling: false
})

const makeWith = <K>(
  pool: TaskPool,
  /** the context the coalescer was made in: its timers run in it */
  timerContext: Context.Context<never>,
  retry: Schedule.Schedule<unknown, unknown> | undefined
): Coalescer<K> => {
  const entries = new KeyTable<Entry>()
  const clock = Context.get(timerContext, Clock.Clock)
  /** entries with a registered run: `size` */
  let withRun = 0
  /** entries with a retry wait or a delayed submit: `scheduled` */
  const waiting = new Set<Entry>()

  const owner = (entry: Entry): TaskOwner => ({
    key: entry.key,
    get retries() {
      return entry.retries
    },
    onExit: (task: Task) => onRunExit(entry, task)
  })

  const setTask = (entry: Entry, task: Task | undefined): void => {
    if (entry.task === undefined && task !== undefined) withRun++
    else if (entry.task !== undefined && task === undefined) withRun--
    entry.task = task
  }

  const remove = (entry: Entry): void => {
    disarm(entry)
    entry.delayed = undefined
    entry.retryAt = undefined
    updateWaiting(entry)
    if (entries.get(entry.key) === entry) entries.remove(entry.key)
  }

  // ---------------------------------------------------------------------------
  // timers: retry waits and delayed submits
  // ---------------------------------------------------------------------------

  /** Cancels every timer when the service shuts down: nothing fires after its scope has closed. */
  const onShutdown = (): void => {
    for (const entry of Array.from(waiting)) {
      entry.timer = undefined
      entry.delayed = undefined
      entry.retryAt = undefined
      // a key with a registered run is removed when the shutdown ends that run
      if (entry.task === undefined) remove(entry)
    }
    waiting.clear()
    timers.reset()
  }

  const updateWaiting = (entry: Entry): void => {
    if (entry.delayed !== undefined || entry.retryAt !== undefined) {
      if (waiting.size === 0) pool.shutdownHooks.add(onShutdown)
      waiting.add(entry)
    } else if (waiting.delete(entry) && waiting.size === 0) {
      pool.shutdownHooks.delete(onShutdown)
    }
  }

  const disarm = (entry: Entry): void => timers.clear(entry)

  /**
   * Keeps the entry's timer armed for the earlier of its retry wait and
   * delayed submit, and `waiting` up to date. A retry wait starts only once
   * the failed run's task has ended (`retryAt` is set a few steps earlier, at
   * the run's end, and a timer of the same key may fire in between): before
   * that it arms nothing, or a due retry would re-arm itself in the firing
   * loop for as long as the task is there.
   */
  const arm = (entry: Entry): void => {
    updateWaiting(entry)
    const retryAt = entry.task === undefined ? entry.retryAt : undefined
    timers.set(entry, Math.min(retryAt ?? Infinity, entry.delayed?.at ?? Infinity))
  }

  /** A timer fired: the retry and the delayed submit due by `at` go ahead. */
  const onTimer = (entry: Entry, at: number): void => {
    if (pool.closed || entries.get(entry.key) !== entry) return
    const delayed = entry.delayed
    if (delayed !== undefined && delayed.at <= at) {
      entry.delayed = undefined
      submitTo(entry.key, delayed.name, delayed.body, delayed.context) // also ends a retry wait
    }
    if (entry.retryAt !== undefined && entry.retryAt <= at && entry.task === undefined) {
      entry.retryAt = undefined
      if (!registerRun(entry)) {
        remove(entry)
        return
      }
    }
    if (entries.get(entry.key) === entry) arm(entry)
  }

  const timers = new Timers<Entry>(timerContext, clock, onTimer)

  // ---------------------------------------------------------------------------
  // runs
  // ---------------------------------------------------------------------------

  /** Registers a task running `entry`'s runs; `false` when the service is closed. */
  const registerRun = (entry: Entry): boolean => {
    entry.state = "parked"
    entry.pending = false
    entry.cancelling = false
    setTask(entry, pool.register(entry.name, runLoop(entry), entry.context, owner(entry)))
    return entry.task !== undefined
  }

  /**
   * The end step of a run's task, whatever the end. A submit that arrived
   * while the run executed (or in the ops between its body's end and this
   * step) is honoured by a freshly registered run, before any retry.
   */
  const onRunExit = (entry: Entry, task: Task): void => {
    if (entry.task !== task) return
    setTask(entry, undefined)
    const cancelled = entry.cancelling
    entry.cancelling = false
    if (pool.closed) {
      remove(entry)
      return
    }
    if (entry.pending && registerRun(entry)) {
      entry.retryAt = undefined
      arm(entry)
      return
    }
    entry.pending = false
    if (cancelled) entry.retryAt = undefined
    if (entry.retryAt !== undefined || entry.delayed !== undefined) {
      entry.state = "scheduled"
      arm(entry)
      return
    }
    remove(entry)
  }

  /**
   * After a failed run without a pending submit: when the key's schedule
   * runs again (epoch millis), or `undefined` when it is done. The schedule
   * is stepped at the run's end, on the run's fiber, with the failure's cause.
   */
  const nextRetry = (entry: Entry, cause: Cause.Cause<unknown>): Effect.Effect<number | undefined> =>
    Effect.suspend(() => {
      const stepping: Effect.Effect<Step> = entry.step !== undefined
        ? Effect.succeed(entry.step)
        : Schedule.toStep(retry!) as Effect.Effect<Step>
      return Effect.flatMap(stepping, (step) => {
        entry.step = step
        const now = clock.currentTimeMillisUnsafe()
        return Effect.matchCause(step(now, cause), {
          onFailure: () => undefined, // done (or the schedule failed): give up
          onSuccess: ([, delay]) => now + Math.max(0, Duration.toMillis(delay))
        })
      })
    })

  const runLoop = (entry: Entry): Effect.Effect<void> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        // Cancelled before this step (the cancel's interruption has not reached the fiber
        // yet): the run never begins. It must not execute a body submitted since, nor clear
        // that submit's `pending`: the task's end step honours it with a fresh run.
        if (entry.cancelling) return Effect.interrupt
        const task = entry.task!
        // the run starts: it takes the latest body, and later submits mark it pending
        const run = entry.runs + 1
        const retries = entry.retries
        const spec: RunSpec = {
          name: entry.name,
          body: entry.body,
          context: entry.context,
          parkedSince: entry.state === "parked" ? task.registeredAt : task.stateSince,
          // read only when tracing is in use: a key's `toString` runs for spans only
          attributes: () => ({
            "effect_task.coalescer.key": keyAttribute(entry.key),
            "effect_task.coalescer.run": run,
            "effect_task.coalescer.retries": retries
          })
        }
        entry.state = "running"
        entry.pending = false
        entry.runs = run
        const body = beginRun(pool, task, spec)
        /** A pending submit re-runs at once, as the same task; otherwise the task ends. */
        const next = (): Effect.Effect<void> => {
          // the task's end step removes the entry, waits for a retry, or (cancelled
          // meanwhile) registers a fresh run for a submit made since
          if (!entry.pending || entry.cancelling) return Effect.void
          entry.retryAt = undefined
          entry.state = "requeued"
          entry.pending = false
          // the re-run waits (and shows in `snapshot`) under the latest submit's name
          return restore(Effect.andThen(requeue(pool, task, entry.name), runLoop(entry)))
        }
        // Only the body (and the wait for a slot back) is interruptible: an interruption that
        // arrives once the body has ended must not skip its accounting (a failure counted once,
        // a pending submit honoured).
        return Effect.flatMap(Effect.exit(restore(body)), (exit) => {
          // interrupted while the body ran: the fiber ends with it, and its end step honours a pending submit
          if (exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)) {
            return Effect.failCause(exit.cause as Cause.Cause<never>)
          }
          const failed = endRun(pool, task, spec, exit)
          if (failed) {
            entry.retries++
          } else {
            entry.retries = 0 // a success resets the key's schedule
            entry.step = undefined
          }
          if (!failed || retry === undefined || entry.pending || entry.cancelling) return next()
          return Effect.flatMap(nextRetry(entry, (exit as Exit.Failure<unknown, unknown>).cause), (at) => {
            if (at === undefined) {
              // the schedule is done: the key gives up
              entry.retries = 0
              entry.step = undefined
            } else if (!entry.pending && !entry.cancelling) {
              entry.retryAt = at // the task's end step starts the wait
            }
            return next()
          })
        })
      })
    )

  // ---------------------------------------------------------------------------
  // submits
  // ---------------------------------------------------------------------------

  /** The step of a submit (also made by a delayed submit's timer). */
  const submitTo = (
    key: unknown,
    name: string,
    body: Effect.Effect<unknown, unknown>,
    context: Context.Context<never>
  ): void => {
    const entry = entries.get(key)
    if (entry === undefined) {
      const fresh = newEntry(key, name, body, context)
      if (registerRun(fresh)) entries.set(key, fresh)
      return
    }
    entry.name = name
    entry.body = body
    entry.context = context
    if (entry.task === undefined) {
      // scheduled: a submit during a retry wait (or beside a delayed submit) runs at once
      entry.retryAt = undefined
      if (registerRun(entry)) arm(entry)
      else remove(entry)
      return
    }
    if (entry.state === "running" || entry.cancelling) entry.pending = true
    else rename(entry.task, name)
  }

  return {
    submit<A, E, R>(name: string, key: K, body: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> {
      const error = checkTask("Coalescer.submit", name, body)
      if (error !== undefined) return Effect.die(error)
      return Effect.withFiber((fiber) => {
        if (pool.closed) return Effect.void
        submitTo(key, name, body as Effect.Effect<unknown, unknown>, registrationContext(fiber))
        return Effect.void
      })
    },
    submitAfter<A, E, R>(
      name: string,
      key: K,
      body: Effect.Effect<A, E, R>,
      delay: Duration.Input
    ): Effect.Effect<void, never, R> {
      const error = checkTask("Coalescer.submitAfter", name, body)
      if (error !== undefined) return Effect.die(error)
      const millis = delayMillis("Coalescer.submitAfter", delay)
      if (typeof millis !== "number") return Effect.die(millis)
      return Effect.withFiber((fiber) => {
        if (pool.closed) return Effect.void
        const context = registrationContext(fiber)
        const now = clock.currentTimeMillisUnsafe()
        let entry = entries.get(key)
        const previous = entry?.delayed
        const at = previous === undefined ? now + millis : Math.min(previous.at, now + millis)
        if (at <= now) {
          // due at once: the (merged) delayed submit is this submit
          if (entry !== undefined) {
            entry.delayed = undefined
            arm(entry)
          }
          submitTo(key, name, body as Effect.Effect<unknown, unknown>, context)
          return Effect.void
        }
        if (entry === undefined) {
          entry = newEntry(key, name, body as Effect.Effect<unknown, unknown>, context)
          entries.set(key, entry)
        }
        // earliest due time, latest name and body
        entry.delayed = { name, body: body as Effect.Effect<unknown, unknown>, context, at }
        arm(entry)
        return Effect.void
      })
    },
    cancel(key: K): Effect.Effect<boolean> {
      return Effect.withFiber((fiber) => {
        const entry = entries.get(key)
        if (entry === undefined) return Effect.succeed(false)
        const task = entry.task
        // a second cancel while the first one's run ends finds only submits made since
        const found = !entry.cancelling || entry.pending || entry.delayed !== undefined
        disarm(entry)
        entry.delayed = undefined
        entry.retryAt = undefined
        entry.pending = false
        entry.retries = 0
        entry.step = undefined
        updateWaiting(entry)
        if (task === undefined) {
          remove(entry)
          return Effect.succeed(found)
        }
        entry.cancelling = true
        // not started: dropped now (its end step removes the entry)
        if (pool.dropUnstarted(task)) return Effect.succeed(found)
        const run = task.fiber!
        if (run === fiber) return Effect.interrupt // cancelled from its own run
        return Effect.as(Fiber.interrupt(run), found)
      })
    },
    retries(key: K): Effect.Effect<number> {
      return Effect.sync(() => entries.get(key)?.retries ?? 0)
    },
    size: Effect.sync(() => withRun),
    scheduled: Effect.sync(() => waiting.size)
  }
}

/**
 * The coalescer module as a value, so that `Coalescer` names both the type
 * and its constructor: `Coalescer.make<K>()` returns a `Coalescer<K>`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Coalescer } from "effect-task"
 *
 * const make: Effect.Effect<Coalescer<string>, never, any> = Coalescer.make<string>()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const Coalescer: { readonly make: typeof make } = { make }
