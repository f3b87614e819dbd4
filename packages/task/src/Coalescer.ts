/**
 * A per-key coalescer on top of `TaskService`: at most one run per key,
 * bursts of submits collapse into one re-run, and no submit is lost.
 *
 * **Invariants** (after every step):
 * - `registered runs per key <= 1`: a key has an entry exactly while one task
 *   of the service is registered for it; `size` = number of entries
 * - an entry is in one of three states: `parked` (registered, its body has not
 *   started), `running` (a body is executing), `requeued` (a re-run gave its
 *   slot back and waits for a new one — it counts as not started)
 * - `pending` is `true` only while `running`
 * - the entry is removed in the same step in which its task ends without a
 *   pending submit, whatever the end: success, failure, defect, interruption,
 *   or dropped unstarted at shutdown
 *
 * **Ordering argument for the guarantee** "every submit is followed by a run
 * of its key that starts after it". A submit is one synchronous step; so is
 * the step in which a run starts (it reads the latest body and clears
 * `pending`), and the step in which a run ends (it checks `pending` and either
 * re-queues or removes the entry). No other fiber's step can fall between a
 * check and its consequence. A submit therefore finds the key in exactly one
 * state: idle (it registers a run, which starts later), parked or requeued (the
 * run starts later and executes this body), or running (it sets `pending`; the
 * end step sees it and re-queues a run, which starts later). A failing or dying
 * run ends through the same step (its cause is counted, then `pending` is
 * honoured). Interruption is the deliberate exception: a run whose fiber is
 * interrupted while its body executes and `pending` is set is replaced by a
 * freshly registered run (unless the service is shutting down); a run
 * interrupted before its body starts (`requeued`) is cancelled together with
 * the submits collapsed into it, and its entry is removed.
 *
 * All state lives in an `Entries` table keyed with `Equal` (a plain `Map`
 * for strings and numbers, where `Equal` is value equality, and a
 * `MutableHashMap` for every other key) and is changed only
 * inside synchronous steps (no `Ref`: the end step runs inside the task's exit
 * observer, which cannot run effects, and one synchronous step is already
 * atomic).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as MutableHashMap from "effect/MutableHashMap"
import * as Option from "effect/Option"
import { checkTask } from "./internal/arguments.ts"
import type { Pool, Task, TaskOwner } from "./internal/pool.ts"
import { State, taskSpan } from "./internal/pool.ts"
import { registrationContext } from "./internal/quiescence.ts"
import { poolOf, TaskService } from "./TaskService.ts"

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
}

interface Entry {
  readonly key: unknown
  name: string
  body: Effect.Effect<unknown, unknown>
  context: Context.Context<never>
  state: "parked" | "running" | "requeued"
  pending: boolean
  task: Task | undefined
  /** runs started so far (the re-run number of the current run) */
  runs: number
}

/**
 * Creates a coalescer that registers its runs with the `TaskService` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Coalescer, TaskService } from "effect-task"
 *
 * const program = Effect.gen(function*() {
 *   const coalescer = yield* Coalescer.make<number>()
 *   yield* coalescer.submit("job", 1, Effect.log("once"))
 *   console.log(yield* coalescer.size) // 1
 * }).pipe(Effect.provide(TaskService.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <K>(): Effect.Effect<Coalescer<K>, never, TaskService> =>
  Effect.map(TaskService, (service) => makeWith<K>(poolOf.get(service)!))

/**
 * The key table: `Equal` semantics, with a plain `Map` for strings and
 * numbers (where `Equal` is value equality) so the common keys skip hashing
 * through `Equal`. The two tables never hold the same key.
 */
/** Keys whose `Equal` is value equality, kept in the plain `Map`. */
const isPrimitive = (key: unknown): key is string | number => typeof key === "string" || typeof key === "number"

class Entries {
  private readonly primitive = new Map<unknown, Entry>()
  private readonly structural = MutableHashMap.empty<unknown, Entry>()

  get(key: unknown): Entry | undefined {
    if (isPrimitive(key)) return this.primitive.get(key)
    return Option.getOrUndefined(MutableHashMap.get(this.structural, key))
  }

  set(key: unknown, entry: Entry): void {
    if (isPrimitive(key)) this.primitive.set(key, entry)
    else MutableHashMap.set(this.structural, key, entry)
  }

  remove(key: unknown): void {
    if (isPrimitive(key)) this.primitive.delete(key)
    else MutableHashMap.remove(this.structural, key)
  }

  get size(): number {
    return this.primitive.size + MutableHashMap.size(this.structural)
  }
}

const makeWith = <K>(pool: Pool): Coalescer<K> => {
  const entries = new Entries()

  const owner = (entry: Entry): TaskOwner => ({
    key: entry.key,
    onExit: (task: Task) => onRunExit(entry, task)
  })

  const remove = (entry: Entry): void => {
    if (entries.get(entry.key) === entry) entries.remove(entry.key)
  }

  /** Registers a task running `entry`'s runs; removes the entry when the service is closed. */
  const registerRun = (entry: Entry): boolean => {
    entry.state = "parked"
    entry.pending = false
    const task = pool.register(entry.name, runLoop(entry), entry.context, owner(entry))
    entry.task = task
    return task !== undefined
  }

  /**
   * The end step of a run's task, whatever the end. A submit that arrived
   * while the run executed (or in the ops between its body's end and this
   * step) is honoured by a freshly registered run.
   */
  const onRunExit = (entry: Entry, task: Task): void => {
    if (entry.task !== task) return
    entry.task = undefined
    if (entry.pending && !pool.closed && registerRun(entry)) return
    remove(entry)
  }

  const runLoop = (entry: Entry): Effect.Effect<void> =>
    Effect.suspend(() => {
      const task = entry.task!
      // the run starts: it takes the latest body, and later submits mark it pending
      const parkedSince = entry.state === "parked" ? task.registeredAt : task.stateSince
      entry.state = "running"
      entry.pending = false
      entry.runs++
      const name = entry.name
      const context = entry.context
      task.name = name
      const now = pool.now()
      if (task.state !== State.Running) pool.setState(task, State.Running, now) // got its slot back at once
      pool.runStarted(task, parkedSince, now)
      const run = pool.traced(context)
        ? taskSpan(entry.body, task, {
          "effect_task.coalescer.key": keyAttribute(entry.key),
          "effect_task.coalescer.run": entry.runs,
          "effect_task.task.parked_ms": task.startedAt - parkedSince
        })
        : entry.body
      return Effect.flatMap(Effect.exit(Effect.provideContext(run, pool.contextFor(task, context))), (exit) => {
        pool.runEnded(task, exit)
        if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
          pool.recordFailure(name, context, exit.cause)
        }
        // without a pending submit the task ends; its end step removes the entry
        if (!entry.pending) return Effect.void
        entry.state = "requeued"
        entry.pending = false
        task.name = entry.name // the re-run waits (and shows in `snapshot`) under the latest submit's name
        pool.setState(task, State.Requeued) // parked time of the re-run counts from here
        if (task.holdsSlot) pool.releaseSlot(task)
        return Effect.andThen(pool.acquireSlot(task, State.Requeued), runLoop(entry))
      })
    })

  return {
    submit<A, E, R>(name: string, key: K, body: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> {
      const error = checkTask("Coalescer.submit", name, body)
      if (error !== undefined) return Effect.die(error)
      return Effect.withFiber((fiber) => {
        if (pool.closed) return Effect.void
        const context = registrationContext(fiber)
        const entry = entries.get(key)
        if (entry === undefined) {
          const fresh: Entry = {
            key,
            name,
            body: body as Effect.Effect<unknown, unknown>,
            context,
            state: "parked",
            pending: false,
            task: undefined,
            runs: 0
          }
          if (registerRun(fresh)) entries.set(key, fresh)
          return Effect.void
        }
        entry.name = name
        entry.body = body as Effect.Effect<unknown, unknown>
        entry.context = context
        if (entry.state === "running") entry.pending = true
        else if (entry.task !== undefined) entry.task.name = name
        return Effect.void
      })
    },
    size: Effect.sync(() => entries.size)
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
