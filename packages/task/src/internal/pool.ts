/**
 * The task pool: registration, exit, `snapshot` and the counters behind
 * `TaskService`. Who gets a slot is decided by `admission.ts`, when granted
 * tasks start by `starter.ts`, how a task's fiber is forked and bound by
 * `taskFiber.ts`, when quiescence holds by `quiescence.ts`, what a run
 * records by `accounting.ts`; the multi-run protocol (coalescer runs,
 * yields) is `runs.ts` and closing is `shutdown.ts`, both on top of this.
 *
 * Every mutation below is plain synchronous JavaScript. A fiber runs one
 * synchronous step at a time on the single JavaScript thread, so each method
 * is one atomic step with respect to every other fiber: a check and the
 * registration that depends on it can never be separated by another fiber's
 * step. That is why this module uses plain fields instead of `Ref`s.
 *
 * Invariants (after every method returns):
 * - `registered` = tasks registered and not yet finished (the live tasks:
 *   parked, granted, started), `active` = `registered` - tasks with
 *   `counted === false` (inside `yieldQuiescent`)
 * - `yielded` = tasks in state `YieldedSlot` or `YieldedQuiescent`
 * - started tasks are exactly those in `live`
 * - `failed` = runs ended with a typed failure or a defect; `interrupted`
 *   here = tasks dropped unstarted or interrupted between coalescer runs
 *   (runs interrupted mid-body are the accounting's)
 * - `closed` never goes back to `false`; once closed nothing registers
 *
 * Waits (`blockTillDone`, `awaitQuiescence`, taking a slot back) check their
 * condition inside `Effect.callback`'s registration function: the check and
 * the registration are one step, whatever the op budget or the scheduler.
 * Completed waiters are resumed at the end of the step that completed them
 * (`wakeups`, `flushWakeups`), once the counters are final: a resumed fiber
 * runs inline and may call back into the pool.
 *
 * Gotcha: `finish` calls the owner's `onExit` before the counters go down;
 * an owner may `register` from there (a coalescer re-run).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Queue from "effect/Queue"
import type * as Scheduler from "effect/Scheduler"
import type { Accounting } from "./accounting.ts"
import { Admission } from "./admission.ts"
import { addService } from "./contextAdd.ts"
import { rethrowLater, SharedDispatchers } from "./dispatch.ts"
import { LiveTasks } from "./liveTasks.ts"
import { DoneWaiters, Subscribers } from "./observers.ts"
import { Quiescence } from "./quiescence.ts"
import type { ParkedRecord } from "./slotQueue.ts"
import { StartQueue } from "./starter.ts"
import { isYielded, State, Task, type TaskOwner } from "./task.ts"
import { TaskStarter } from "./taskFiber.ts"

let nextPoolId = 0

/** @internal */
export class TaskPool {
  registered = 0
  active = 0
  yielded = 0
  failed = 0
  /** tasks dropped unstarted or interrupted between coalescer runs (`poolMetrics.ts` adds the accounting's) */
  interruptedOutsideRuns = 0
  closed = false
  /**
   * Called once, synchronously, when shutdown starts (after `closed` is set,
   * before any task is dropped or interrupted). A `Coalescer` adds one while
   * it has timers (delayed submits, retry waits) and cancels them there;
   * owners add and delete their own hooks.
   */
  readonly shutdownHooks = new Set<() => void>()
  private nextId = 1

  readonly accounting: Accounting
  readonly admission: Admission
  readonly starter: StartQueue
  readonly live = new LiveTasks()
  /**
   * Which task a fiber runs: a reference in the fiber's context, compared
   * with `task.fiber` (forked fibers inherit it). One key per pool, so that
   * a body of another service's task is not mistaken for ours.
   */
  readonly currentTask: Context.Reference<Task | undefined>

  /** waiters completed during the current step, resumed once the step is done */
  private wakeups: Array<(effect: Effect.Effect<void>) => void> = []
  /** `awaitQuiescence` waiters and the `yieldQuiescent` regions */
  readonly quiescence: Quiescence = new Quiescence(
    this,
    (resume) => this.wakeups.push(resume),
    () => this.flushWakeups()
  )
  private readonly doneWaiters = new DoneWaiters()
  private readonly subscribers = new Subscribers()

  /** task fibers share one dispatcher per scheduler (`dispatch.ts`) */
  private readonly dispatchers = new SharedDispatchers()

  /** `scheduler`: the one the service was built under; the drain slices run on its shared dispatcher. */
  constructor(bound: number, scheduler: Scheduler.Scheduler, accounting: Accounting) {
    this.accounting = accounting
    this.starter = new StartQueue(this.dispatchers.of(scheduler), new TaskStarter(this, this.dispatchers).start)
    this.admission = new Admission(bound, this.starter, this.materialize, () => accounting.now())
    this.currentTask = Context.Reference<Task | undefined>(`effect-task/CurrentTask/${nextPoolId++}`, {
      defaultValue: () => undefined
    })
  }

  /** Milliseconds since the pool was made; `TaskInfo` adds `epoch` back. */
  now(): number {
    return this.accounting.now()
  }

  /** `context` with this pool's marker set to `task`: what the task's runs execute in. */
  contextFor(task: Task, context: Context.Context<never>): Context.Context<never> {
    return addService(context, this.currentTask, task) as Context.Context<never>
  }

  /** The task whose body is `fiber`, if any (a child fiber of a body is not). */
  taskOf(fiber: Fiber.Fiber<unknown, unknown>): Task | undefined {
    const task = fiber.getRef(this.currentTask)
    return task !== undefined && task.fiber === fiber ? task : undefined
  }

  // ---------------------------------------------------------------------------
  // registration and start
  // ---------------------------------------------------------------------------

  /**
   * Registers a task; returns it, or `undefined` when the pool is closed (or,
   * for a plain task without `exitHook`, when it parks as a record).
   * `exitHook` (`TaskService.run`) makes a parked task wait as a `Task` entry,
   * so that its caller can drop it (`dropUnstarted`).
   */
  register(
    name: string,
    body: Effect.Effect<unknown, unknown>,
    context: Context.Context<never>,
    owner: TaskOwner | undefined,
    exitHook?: (exit: Exit.Exit<unknown, unknown>) => void
  ): Task | undefined {
    if (this.closed) return undefined
    const now = this.now()
    const id = this.nextId++
    this.registered++
    this.active++
    this.subscribers.publish(this.active)
    if (this.admission.hasFreeSlot()) {
      const task = new Task(id, name, body, context, owner, now)
      task.exitHook = exitHook
      this.admission.admit(task, now)
      return task
    }
    if (owner === undefined && exitHook === undefined) {
      // a plain task waits as a record; its Task is made when it gets a slot
      this.admission.parkRecord(id, name, body, context, now)
      return undefined
    }
    const task = new Task(id, name, body, context, owner, now)
    task.exitHook = exitHook
    this.admission.park(task)
    return task
  }

  /**
   * Drops a registered task whose fiber has not started (parked as a `Task`
   * entry, or granted and waiting to start): it leaves the queue, gives back
   * a slot it was granted and is finished as interrupted, as shutdown drops
   * unstarted tasks. Returns `false`, doing nothing, when its fiber has
   * started (the caller interrupts the fiber) and `true` otherwise (also when
   * it had already finished).
   */
  dropUnstarted(task: Task): boolean {
    if (task.state === State.Done) return true
    if (task.fiber !== undefined) return false
    this.interruptedOutsideRuns++
    this.finish(task, Exit.interrupt())
    return true
  }

  readonly materialize = (record: ParkedRecord): Task =>
    new Task(record.id, record.name, record.body, record.context, undefined, record.registeredAt)

  /** Moves a task to `state`, keeping `yielded` exact. */
  setState(task: Task, state: State, now: number = this.now()): void {
    const was = isYielded(task.state)
    if (was !== isYielded(state)) this.yielded += was ? -1 : 1
    task.state = state
    task.stateSince = now
  }

  /** Every registered task, in registration order. */
  tasks(): Array<Task> {
    const out = this.live.toArray()
    this.admission.forEach((record) => out.push(this.materialize(record)), (task) => {
      if (task.fiber === undefined) out.push(task)
    })
    for (const task of this.starter.unstarted()) out.push(task)
    return out.toSorted((a, b) => a.id - b.id)
  }

  // ---------------------------------------------------------------------------
  // counting and waits
  // ---------------------------------------------------------------------------

  /** The task leaves `active` (entering `yieldQuiescent`). */
  uncount(task: Task): void {
    task.counted = false
    this.active--
    this.subscribers.publish(this.active)
    this.quiescence.enter(task)
    this.flushWakeups()
  }

  /** The task is counted again (leaving `yieldQuiescent`). */
  recount(task: Task): void {
    this.quiescence.leave(task)
    task.counted = true
    this.active++
    this.subscribers.publish(this.active)
  }

  /** Resumes completed waiters; called only where the pool's state is consistent again. */
  private flushWakeups(): void {
    if (this.wakeups.length === 0) return
    const wakeups = this.wakeups
    this.wakeups = []
    for (let i = 0; i < wakeups.length; i++) {
      // A resumed fiber runs inline and may end, and a user's observer of it
      // may throw: that must not cost the other waiters their wake-up. The
      // exception is thrown again from a microtask (still an uncaught one).
      try {
        wakeups[i]!(Effect.void)
      } catch (error) {
        rethrowLater(error)
      }
    }
  }

  private readonly countRegistered = (): number => this.registered

  readonly blockTillDone: Effect.Effect<void> = this.doneWaiters.await(this.countRegistered, 0)

  subscribe(queue: Queue.Queue<number, Cause.Done>): void {
    this.subscribers.add(queue, this.active, this.closed && this.registered === 0)
  }

  unsubscribe(queue: Queue.Queue<number, Cause.Done>): void {
    this.subscribers.remove(queue)
  }

  // ---------------------------------------------------------------------------
  // exit
  // ---------------------------------------------------------------------------

  /** Counts and logs a failed run. Interruption alone is not a failure. */
  recordFailure(name: string, context: Context.Context<never>, cause: Cause.Cause<unknown>): void {
    this.failed++
    Effect.runForkWith(context)(
      Effect.logError(`task "${name}" failed`, cause).pipe(Effect.annotateLogs("task", name))
    )
  }

  /** A task's fiber has exited (its observer, bound by `taskFiber.ts`). */
  onExit(task: Task, exit: Exit.Exit<unknown, unknown>): void {
    const now = this.now() // one clock reading serves the run's end and the grants it makes
    this.live.unlink(task)
    const run = task.run!
    if (run.open) {
      // a plain body, or a coalescer run cut short (a finished run was ended by `endRun`)
      run.open = false
      this.accounting.runEnded(run, exit, now)
    } else if (exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)) {
      this.interruptedOutsideRuns++ // a coalescer task interrupted between runs
    }
    if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
      if (task.exitHook === undefined) this.recordFailure(task.name, task.context, exit.cause)
      else this.failed++ // `run`: counted, not logged; the caller gets the cause
    }
    this.finish(task, exit, now)
    // Bodies that completed synchronously inside a drain already run inside
    // its loop; elsewhere, start the tasks this exit granted right here.
    this.starter.drain()
  }

  /** Unregisters a task (finished, or dropped unstarted). */
  private finish(task: Task, exit: Exit.Exit<unknown, unknown>, now?: number): void {
    this.admission.leave(task)
    if (task.run !== undefined) task.run.resume = undefined
    if (isYielded(task.state)) this.yielded--
    task.state = State.Done
    task.context = undefined as any
    task.body = undefined
    // The owner may register a successor (a coalescer re-run); doing that
    // before this task's decrement keeps `activeCount` from dipping.
    if (task.owner !== undefined) task.owner.onExit(task, exit)
    this.admission.drop(task)
    this.registered--
    if (task.counted) {
      this.active--
      this.subscribers.publish(this.active)
    } else {
      this.quiescence.leave(task) // ended inside `yieldQuiescent`
    }
    this.quiescence.onDecrement()
    this.admission.grantWaiting(now)
    if (task.exitHook !== undefined) {
      // `run`'s caller resumes with the flush below, once the counts are final
      const hook = task.exitHook
      task.exitHook = undefined
      this.wakeups.push(() => hook(exit))
    }
    if (this.registered <= this.doneWaiters.limit) this.doneWaiters.onRegistered(this.registered, this.wake)
    if (this.registered === 0) this.onIdle()
    this.flushWakeups()
  }

  private readonly wake = (resume: (effect: Effect.Effect<void>) => void): void => {
    this.wakeups.push(resume)
  }

  /** Finishes tasks that never started (shutdown), as interrupted. */
  dropAll(tasks: ReadonlyArray<Task>): void {
    const interrupted = Exit.interrupt()
    this.interruptedOutsideRuns += tasks.length
    for (const task of tasks) this.finish(task, interrupted)
  }

  /** Waits until `registered <= limit`. */
  awaitRegistered(limit: number): Effect.Effect<void> {
    return this.doneWaiters.await(this.countRegistered, limit)
  }

  onIdle(): void {
    this.accounting.forget() // no context of a finished task stays reachable
    if (this.closed) this.subscribers.end()
  }
}

/** The key under which a service's shape carries its pool: a symbol no one else holds. */
const poolKey: unique symbol = Symbol("effect-task/TaskPool")

/** Attaches `pool` to the service `shape` it backs (not enumerable, not writable). @internal */
export const attachPool = <S extends object>(shape: S, pool: TaskPool): S =>
  Object.defineProperty(shape, poolKey, { value: pool, enumerable: false, writable: false, configurable: false })

/** The pool behind a service built by `TaskService.make`, if `service` is one. @internal */
export const poolOf = (service: object): TaskPool | undefined => (service as { [poolKey]?: TaskPool })[poolKey]
