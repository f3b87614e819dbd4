/**
 * The state machine behind `TaskService`: counters, the FIFO slot queue, task
 * fibers, `blockTillDone` waiters and change subscribers. Quiescence waiters
 * and the `yieldQuiescent` regions live in `quiescence.ts`; the pool reports
 * every decrement to it.
 *
 * Every mutation below is plain synchronous JavaScript. A fiber runs one
 * synchronous step at a time on the single JavaScript thread, so each method
 * of `Pool` is one atomic step with respect to every other fiber: a check and
 * the registration that depends on it can never be separated by another
 * fiber's step. That is why this module uses plain fields instead of `Ref`s.
 *
 * Invariants (after every method returns):
 * - `running <= bound` unless `resize` lowered the bound below the number of
 *   slots already held (they drain; nothing new starts until `running < bound`)
 * - `running` = number of tasks with `holdsSlot`
 * - `registered` = tasks registered and not yet finished
 * - `active` = `registered` - tasks with `counted === false` (inside `yieldQuiescent`)
 * - `parked` = live entries of the FIFO slot queue (`SlotQueue.size`): records
 *   of plain tasks not started yet, and `Task` entries (coalescer runs not
 *   started yet, started tasks waiting to get their slot back)
 * - queue non-empty implies `running >= bound` (nobody waits for a free slot)
 * - a task is in the slot queue at most once, and only while it holds no slot
 * - `yielded` = started tasks in state `YieldedSlot` or `YieldedQuiescent`
 * - started tasks are exactly those linked from `liveHead`
 * - `doneLimit` = the largest `limit` of `doneWaiters` (`-1` without any), and
 *   `registered > doneLimit`: a waiter is completed in the step that brings
 *   `registered` down to its limit
 *
 * Waits (`blockTillDone`, `awaitQuiescence`, `acquireSlot`) check their
 * condition inside `Effect.callback`'s registration function: the check and
 * the registration are one step, whatever the op budget or the scheduler.
 *
 * Ordering: slots go to the queue's head first; a grant only marks the task
 * and puts it on `ready`, and `drain` starts or resumes `ready` tasks in grant
 * order — inline after a task's exit (so a run of synchronous bodies costs no
 * scheduler round per task), otherwise in a scheduled slice.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scheduler from "effect/Scheduler"
import * as Tracer from "effect/Tracer"
import * as Bookkeeping from "./bookkeeping.ts"
import { ServiceClock, type TimeSource } from "./clock.ts"
import { DurationHistogram } from "./histogram.ts"
import type { MetricSource } from "./metrics.ts"
import { Quiescence } from "./quiescence.ts"
import { type ParkedRecord, SlotQueue } from "./slotQueue.ts"

/**
 * Task states, as small integers for a cheap hot path.
 *
 * @internal
 */
export const State = {
  /** registered, waiting for its first slot; no fiber yet */
  Parked: 0,
  /** slot granted, fiber about to start */
  Starting: 1,
  Running: 2,
  YieldedSlot: 3,
  YieldedQuiescent: 4,
  /** a started task waiting in the slot queue to get a slot back */
  Requeued: 5,
  Done: 6
} as const

/** @internal */
export type State = typeof State[keyof typeof State]

/** @internal */
export type StateName = "parked" | "running" | "yielded-slot" | "yielded-quiescent"

const stateNames: ReadonlyArray<StateName> = [
  "parked",
  "running",
  "running",
  "yielded-slot",
  "yielded-quiescent",
  "parked",
  "running"
]

/** @internal */
export const stateName = (state: State): StateName => stateNames[state]!

/**
 * Hooks a `Coalescer` attaches to its runs.
 *
 * @internal
 */
export interface TaskOwner {
  readonly key: unknown
  /** consecutive failed runs of the key, shown in `snapshot` */
  readonly retries?: number
  /** called once, synchronously, when the task's fiber has exited or the task was dropped unstarted */
  onExit(task: Task, exit: Exit.Exit<unknown, unknown>): void
}

/**
 * What only a started task needs. Kept apart so that a parked task — there
 * may be a million of them — carries only what it needs while it waits.
 *
 * @internal
 */
export class TaskRun {
  fiber: Fiber.Fiber<unknown, unknown> | undefined = undefined
  /** set while the task waits in the slot queue to get a slot back */
  resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  /** when the current body (or coalescer run) started */
  startedAt = 0
  /** a body (or coalescer run) has started and not ended */
  open = false
  /** links of the pool's list of started tasks */
  liveNext: Task | undefined = undefined
  livePrev: Task | undefined = undefined
}

/** @internal */
export class Task {
  readonly id: number
  name: string
  body: Effect.Effect<unknown, unknown> | undefined
  context: Context.Context<never>
  readonly owner: TaskOwner | undefined
  state: State = State.Parked as State
  holdsSlot = false
  counted = true
  /** in the slot queue (as a `Task` entry) */
  queued = false
  readonly registeredAt: number
  stateSince: number
  /** set when the task starts */
  run: TaskRun | undefined = undefined
  /**
   * `TaskService.run`: receives the task's exit once the step that finished
   * the task is consistent (queued with the other wake-ups). A task with a
   * hook is a plain task in every other way, except that its failure is
   * counted but not logged (its caller gets the cause).
   */
  exitHook: ((exit: Exit.Exit<unknown, unknown>) => void) | undefined = undefined

  constructor(
    id: number,
    name: string,
    body: Effect.Effect<unknown, unknown>,
    context: Context.Context<never>,
    owner: TaskOwner | undefined,
    now: number
  ) {
    this.id = id
    this.name = name
    this.body = body
    this.context = context
    this.owner = owner
    this.registeredAt = now
    this.stateSince = now
  }

  /** the task's own fiber, once its body runs */
  get fiber(): Fiber.Fiber<unknown, unknown> | undefined {
    return this.run?.fiber
  }

  get startedAt(): number {
    return this.run?.startedAt ?? 0
  }
}

interface DoneWaiter {
  /** completes when `registered <= limit` */
  readonly limit: number
  readonly resume: (effect: Effect.Effect<void>) => void
}

/** how many task starts / resumes one drain runs before it hands the thread back */
const drainBudget = 2048

/** @internal */
export class Pool implements MetricSource {
  bound: number
  running = 0
  active = 0
  registered = 0
  failures = 0
  /** started tasks inside a yield, without a worker slot */
  yielded = 0
  started = 0
  succeeded = 0
  interrupted = 0
  readonly parkedTime = new DurationHistogram()
  readonly runningTime = new DurationHistogram()
  closed = false
  /**
   * Called once, synchronously, when shutdown starts (after `closed` is set,
   * before any task is dropped or interrupted). A `Coalescer` adds one while
   * it has timers (delayed submits, retry waits) and cancels them there;
   * owners add and delete their own hooks.
   */
  readonly shutdownHooks = new Set<() => void>()
  private nextId = 1

  /** FIFO slot queue: parked tasks and started tasks waiting to get a slot back */
  private readonly queue = new SlotQueue()

  /** tasks waiting for a slot (not started yet, or coming back) */
  get parked(): number {
    return this.queue.size
  }

  /**
   * Started tasks, in an intrusive list (`run.liveNext`/`livePrev`): what shutdown
   * interrupts. Which task a fiber runs is found through `currentTask`, a
   * reference in the fiber's context, compared with `task.fiber`.
   */
  private liveHead: Task | undefined = undefined
  private readonly currentTask: Context.Reference<Task | undefined>
  private static nextPoolId = 0

  /** granted tasks waiting to be started or resumed, run in order by `drain` */
  private ready: Array<Task> = []
  private readyHead = 0
  private draining = false
  private drainScheduled = false

  /** waiters completed during the current step, resumed once the step is done */
  private wakeups: Array<(effect: Effect.Effect<void>) => void> = []
  /** `awaitQuiescence` waiters and the `yieldQuiescent` regions (see `quiescence.ts`) */
  readonly quiescence: Quiescence = new Quiescence(
    this,
    (resume) => this.wakeups.push(resume),
    () => this.flushWakeups()
  )
  private readonly doneWaiters = new Set<DoneWaiter>()
  /** the largest `limit` among `doneWaiters`, `-1` without any: a finish below it completes some */
  private doneLimit = -1
  private readonly subscribers = new Set<Queue.Queue<number, Cause.Done>>()

  private readonly dispatcher: Scheduler.SchedulerDispatcher
  readonly clock: ServiceClock

  constructor(
    bound: number,
    dispatcher: Scheduler.SchedulerDispatcher,
    clock: TimeSource | ServiceClock
  ) {
    this.bound = bound
    this.dispatcher = dispatcher
    this.clock = clock instanceof ServiceClock ? clock : new ServiceClock(clock)
    // one key per pool, so that a body of another service's task is not mistaken for ours
    this.currentTask = Context.Reference<Task | undefined>(`effect-task/CurrentTask/${Pool.nextPoolId++}`, {
      defaultValue: () => undefined
    })
  }

  /**
   * Milliseconds since the pool was made (see `ServiceClock`); `TaskInfo`
   * adds `epoch` back. A task's exit reads it once for its metrics and the
   * grants it makes.
   */
  now(): number {
    return this.clock.now()
  }

  get epoch(): number {
    return this.clock.epoch
  }

  private tracedContext: Context.Context<never> | undefined = undefined
  private tracedResult = false

  /**
   * Whether `context` has a span to parent a task's span: tracing is in use.
   * Tasks registered from one fiber share its context, so the last answer is
   * kept.
   */
  traced(context: Context.Context<never>): boolean {
    if (!Bookkeeping.enabled) return false
    if (context !== this.tracedContext) {
      this.tracedContext = context
      this.tracedResult = Context.getOrUndefined(context, Tracer.ParentSpan) !== undefined
    }
    return this.tracedResult
  }

  /**
   * `context` with this pool's marker set to `task`: what a coalescer run
   * executes its body in, so that the submitter's marker (a submit made from
   * inside another task) does not hide the run's own.
   */
  contextFor(task: Task, context: Context.Context<never>): Context.Context<never> {
    return Context.add(context, this.currentTask, task)
  }

  /** The task whose body is the calling fiber, if any. */
  taskOf(fiber: Fiber.Fiber<unknown, unknown>): Task | undefined {
    // child fibers inherit the reference: only the body's own fiber matches
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
    this.publish()
    if (this.hasFreeSlot()) {
      const task = new Task(id, name, body, context, owner, now)
      task.exitHook = exitHook
      this.grant(task, now)
      this.scheduleDrain()
      return task
    }
    if (owner === undefined && exitHook === undefined) {
      // a plain task waits as a record; its Task is made when it gets a slot
      this.queue.pushRecord(id, name, body, context, now)
      return undefined
    }
    const task = new Task(id, name, body, context, owner, now)
    task.exitHook = exitHook
    this.queue.pushTask(task)
    return task
  }

  /**
   * Drops a registered task whose fiber has not started (parked as a `Task`
   * entry, or granted and waiting in `ready`): it leaves the queue, gives
   * back a slot it was granted and is finished as interrupted, as shutdown
   * drops unstarted tasks. Returns `false`, doing nothing, when its fiber has
   * started (the caller interrupts the fiber) and `true` otherwise (also when
   * it had already finished). Used by `TaskService.run` (its caller is
   * interrupted) and `Coalescer.cancel`.
   */
  dropUnstarted(task: Task): boolean {
    if (task.state === State.Done) return true
    if (task.fiber !== undefined) return false
    this.interrupted++
    this.finish(task, Exit.interrupt())
    return true
  }

  private readonly materialize = (record: ParkedRecord): Task =>
    new Task(record.id, record.name, record.body, record.context, undefined, record.registeredAt)

  /** A slot is free and nobody waits for one: a newcomer takes it without queueing. */
  private hasFreeSlot(): boolean {
    return this.running < this.bound && this.queue.size === 0
  }

  /** Granted tasks whose fiber has not started yet (shutdown drops them). */
  private unstartedReady(): Array<Task> {
    const out: Array<Task> = []
    for (let i = this.readyHead; i < this.ready.length; i++) {
      const task = this.ready[i]!
      if (task.fiber === undefined && task.state !== State.Done) out.push(task)
    }
    return out
  }

  /** Gives `task` a slot and queues it for start (or resume). */
  private grant(task: Task, now: number): void {
    this.running++
    task.holdsSlot = true
    task.state = task.fiber === undefined ? State.Starting : State.Running
    task.stateSince = now
    this.ready.push(task)
  }

  private scheduleDrain(): void {
    if (this.draining || this.drainScheduled) return
    this.drainScheduled = true
    this.dispatcher.scheduleTask(this.scheduledDrain, 0)
  }

  private readonly scheduledDrain = (): void => {
    this.drainScheduled = false
    this.drain()
  }

  /**
   * Starts or resumes granted tasks in grant order. Bodies that finish
   * synchronously grant the next task from inside this loop (their exit
   * observer runs inline), so a run of synchronous bodies costs no scheduler
   * round per task; the budget hands the thread back now and then.
   */
  private drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      let budget = drainBudget
      while (this.readyHead < this.ready.length) {
        if (budget-- === 0) break
        const task = this.ready[this.readyHead]!
        this.ready[this.readyHead++] = undefined as any
        if (task.fiber === undefined) {
          this.start(task)
        } else {
          const run = task.run!
          const resume = run.resume
          run.resume = undefined
          resume?.(Effect.void)
        }
      }
      if (this.readyHead === this.ready.length) {
        this.ready.length = 0
        this.readyHead = 0
      }
    } finally {
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        // a steady flow never empties `ready`: drop the consumed prefix
        this.ready = this.ready.slice(this.readyHead)
        this.readyHead = 0
      }
      this.draining = false
    }
    // out of budget: hand the thread back and go on in a scheduled slice
    if (this.readyHead < this.ready.length) this.scheduleDrain()
  }

  private start(task: Task): void {
    if (task.state === State.Done) return // dropped by shutdown before it started
    task.state = State.Running
    task.run = new TaskRun()
    if (task.owner === undefined) {
      const now = this.now()
      task.stateSince = now
      this.runStarted(task, task.registeredAt, now)
    }
    // `bindTask` usually runs inside `runForkWith`, before it returns, and
    // takes the task from `starting`. Under a scheduler that yields before a
    // fiber's first step it runs later and finds its task through the
    // context's marker, so the fiber is bound here too, whichever comes first.
    this.starting = task
    const fiber = Effect.runForkWith(this.contextFor(task, task.context))(this.bindTask)
    this.starting = undefined
    if (task.run.fiber === undefined) this.bind(task, fiber)
  }

  private starting: Task | undefined = undefined

  /**
   * Links a started task's fiber and observes its exit. Called before the
   * body's first step, so that the service's counters are final before any
   * other observer (`Fiber.await`, `Fiber.interrupt`) of this fiber sees it end.
   */
  private bind(task: Task, fiber: Fiber.Fiber<unknown, unknown>): void {
    task.run!.fiber = fiber
    this.link(task)
    fiber.addObserver((exit) => this.onExit(task, exit))
  }

  private readonly bindTask: Effect.Effect<unknown, unknown> = Effect.withFiber((fiber) => {
    const task = this.starting ?? fiber.getRef(this.currentTask)!
    this.starting = undefined
    if (task.run!.fiber === undefined) this.bind(task, fiber)
    const body = task.body!
    task.body = undefined
    if (task.owner !== undefined || !this.traced(task.context)) return body // coalescer runs open a span per run
    return taskSpan(body, task, { "effect_task.task.parked_ms": task.startedAt - task.registeredAt })
  })

  /** Metrics: a body or coalescer run starts after waiting for a slot since `parkedSince`. */
  runStarted(task: Task, parkedSince: number, now: number = this.now()): void {
    const run = task.run!
    run.open = true
    if (!Bookkeeping.enabled) return
    run.startedAt = now
    this.started++
    this.parkedTime.observeMillis(now - parkedSince)
  }

  /** Metrics: a body or coalescer run ended (its failure, if any, is counted by `recordFailure`). */
  runEnded(task: Task, exit: Exit.Exit<unknown, unknown>, now: number = this.now()): void {
    const run = task.run!
    run.open = false
    if (!Bookkeeping.enabled) return
    this.runningTime.observeMillis(now - run.startedAt)
    if (exit._tag === "Success") this.succeeded++
    else if (Cause.hasInterruptsOnly(exit.cause)) this.interrupted++
  }

  setState(task: Task, state: State, now: number = this.now()): void {
    const wasYielded = task.state === State.YieldedSlot || task.state === State.YieldedQuiescent
    const isYielded = state === State.YieldedSlot || state === State.YieldedQuiescent
    if (wasYielded !== isYielded) this.yielded += isYielded ? 1 : -1
    task.state = state
    task.stateSince = now
  }

  /** Every registered task, in registration order. */
  tasks(): Array<Task> {
    const out: Array<Task> = []
    for (let task = this.liveHead; task !== undefined; task = task.run!.liveNext) out.push(task)
    this.queue.forEach((record) => out.push(this.materialize(record)), (task) => {
      if (task.fiber === undefined) out.push(task)
    })
    for (const task of this.unstartedReady()) out.push(task)
    return out.toSorted((a, b) => a.id - b.id)
  }

  private link(task: Task): void {
    task.run!.liveNext = this.liveHead
    if (this.liveHead !== undefined) this.liveHead.run!.livePrev = task
    this.liveHead = task
  }

  private unlinkLive(task: Task): void {
    const run = task.run!
    if (run.livePrev === undefined) this.liveHead = run.liveNext
    else run.livePrev.run!.liveNext = run.liveNext
    if (run.liveNext !== undefined) run.liveNext.run!.livePrev = run.livePrev
    run.livePrev = run.liveNext = undefined
  }

  // ---------------------------------------------------------------------------
  // the slot queue
  // ---------------------------------------------------------------------------

  /** Hands free slots to the oldest waiters. */
  private grantWaiting(now?: number): void {
    if (this.queue.size === 0 || this.running >= this.bound) return
    if (now === undefined) now = this.now()
    while (this.running < this.bound) {
      const task = this.queue.shift(this.materialize)
      if (task === undefined) break
      this.grant(task, now)
    }
    this.scheduleDrain()
  }

  releaseSlot(task: Task): void {
    task.holdsSlot = false
    this.running--
    this.grantWaiting()
  }

  /**
   * Takes a slot for a started task: at once when one is free and nobody is
   * queued, otherwise at the back of the queue. Interruptible while queued.
   *
   * The check and the queueing are one step: both run inside the callback's
   * registration, so no yield (the op budget, a time-slicing scheduler) can
   * fall between them and strand the task behind a slot freed meanwhile.
   */
  acquireSlot(task: Task, waitingState: State = State.Requeued): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (task.holdsSlot) return resume(Effect.void)
      if (this.hasFreeSlot()) {
        this.running++
        task.holdsSlot = true
        this.setState(task, State.Running)
        return resume(Effect.void)
      }
      task.run!.resume = resume
      task.state = waitingState
      task.stateSince = this.now()
      this.queue.pushTask(task)
      return this.cancelAcquire(task)
    })
  }

  /** What interrupting a queued `acquireSlot` does: leave the queue if still in it. */
  private cancelAcquire(task: Task): Effect.Effect<void> {
    return Effect.sync(() => {
      if (task.queued) {
        this.queue.remove(task)
        task.run!.resume = undefined
      }
    })
  }

  // ---------------------------------------------------------------------------
  // counting
  // ---------------------------------------------------------------------------

  /** The task leaves `active` (entering `yieldQuiescent`). */
  uncount(task: Task): void {
    task.counted = false
    this.active--
    this.publish()
    this.quiescence.enter(task)
    this.flushWakeups()
  }

  /** The task is counted again (leaving `yieldQuiescent`). */
  recount(task: Task): void {
    this.quiescence.leave(task)
    task.counted = true
    this.active++
    this.publish()
  }

  /**
   * Resumes completed waiters. Called only where the pool's state is
   * consistent again: a resumed fiber runs inline and may call back into the
   * pool.
   */
  private flushWakeups(): void {
    if (this.wakeups.length === 0) return
    const wakeups = this.wakeups
    this.wakeups = []
    for (let i = 0; i < wakeups.length; i++) wakeups[i]!(Effect.void)
  }

  /**
   * Waits until `active <= threshold` under the hand-off rule (see
   * `quiescence.ts`). The check and the registration are one step, inside
   * the callback's registration.
   */
  awaitQuiescence(threshold: number): Effect.Effect<void> {
    if (threshold < 0) return Effect.never
    return Effect.callback<void>((resume) => {
      const waiter = this.quiescence.add(threshold, resume)
      if (waiter === undefined) return
      return Effect.sync(() => this.quiescence.remove(waiter))
    })
  }

  /** Waits until `registered <= limit`; the check and the registration are one step. */
  private awaitRegistered(limit: number): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (this.registered <= limit) return resume(Effect.void)
      const waiter: DoneWaiter = { limit, resume }
      this.doneWaiters.add(waiter)
      if (limit > this.doneLimit) this.doneLimit = limit
      return Effect.sync(() => {
        this.doneWaiters.delete(waiter)
        if (this.doneWaiters.size === 0) this.doneLimit = -1
      })
    })
  }

  readonly blockTillDone: Effect.Effect<void> = this.awaitRegistered(0)

  // ---------------------------------------------------------------------------
  // change subscribers
  // ---------------------------------------------------------------------------

  subscribe(queue: Queue.Queue<number, Cause.Done>): void {
    Queue.offerUnsafe(queue, this.active)
    if (this.closed && this.registered === 0) {
      Queue.endUnsafe(queue)
      return
    }
    this.subscribers.add(queue)
  }

  unsubscribe(queue: Queue.Queue<number, Cause.Done>): void {
    this.subscribers.delete(queue)
  }

  private publish(): void {
    if (this.subscribers.size === 0) return
    for (const queue of this.subscribers) Queue.offerUnsafe(queue, this.active)
  }

  // ---------------------------------------------------------------------------
  // exit
  // ---------------------------------------------------------------------------

  /** Counts and logs a failed run. Interruption alone is not a failure. */
  recordFailure(name: string, context: Context.Context<never>, cause: Cause.Cause<unknown>): void {
    this.failures++
    Effect.runForkWith(context)(
      Effect.logError(`task "${name}" failed`, cause).pipe(Effect.annotateLogs("task", name))
    )
  }

  private onExit(task: Task, exit: Exit.Exit<unknown, unknown>): void {
    const now = this.now() // one clock reading serves the run's end and the grants it makes
    this.unlinkLive(task)
    if (task.run?.open === true) {
      // a plain body, or a coalescer run cut short (a finished run ended itself)
      this.runEnded(task, exit, now)
    } else if (exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)) {
      this.interrupted++ // a coalescer task interrupted between runs
    }
    if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
      if (task.exitHook === undefined) this.recordFailure(task.name, task.context, exit.cause)
      else this.failures++ // `run`: counted, not logged; the caller gets the cause
    }
    this.finish(task, exit, now)
    // Bodies that completed synchronously inside `drain` already run inside
    // the loop; elsewhere, start the tasks this exit granted right here.
    this.drain()
  }

  /** Unregisters a task (finished, or dropped unstarted at shutdown). */
  private finish(task: Task, exit: Exit.Exit<unknown, unknown>, now?: number): void {
    this.queue.remove(task)
    if (task.run !== undefined) task.run.resume = undefined
    if (task.state === State.YieldedSlot || task.state === State.YieldedQuiescent) this.yielded--
    task.state = State.Done
    task.context = undefined as any
    task.body = undefined
    // The owner may register a successor (a coalescer re-run); doing that
    // before this task's decrement keeps `activeCount` from dipping.
    if (task.owner !== undefined) task.owner.onExit(task, exit)
    if (task.holdsSlot) {
      task.holdsSlot = false
      this.running--
    }
    this.registered--
    if (task.counted) {
      this.active--
      this.publish()
    } else {
      this.quiescence.leave(task) // ended inside `yieldQuiescent`
    }
    this.quiescence.onDecrement()
    this.grantWaiting(now)
    if (task.exitHook !== undefined) {
      // `run`'s caller resumes with the flush below, once the counts are final
      const hook = task.exitHook
      task.exitHook = undefined
      this.wakeups.push(() => hook(exit))
    }
    if (this.registered <= this.doneLimit) this.completeDoneWaiters()
    if (this.registered === 0) this.onIdle()
    this.flushWakeups()
  }

  private completeDoneWaiters(): void {
    let limit = -1
    for (const waiter of this.doneWaiters) {
      if (this.registered <= waiter.limit) {
        this.doneWaiters.delete(waiter)
        this.wakeups.push(waiter.resume)
      } else if (waiter.limit > limit) {
        limit = waiter.limit
      }
    }
    this.doneLimit = limit
  }

  private onIdle(): void {
    this.tracedContext = undefined // the span check's cache keeps no context of a finished task alive
    if (this.closed) {
      for (const queue of this.subscribers) Queue.endUnsafe(queue)
      this.subscribers.clear()
    }
  }

  // ---------------------------------------------------------------------------
  // resize and shutdown
  // ---------------------------------------------------------------------------

  resize(bound: number): void {
    this.bound = bound
    this.grantWaiting()
  }

  /**
   * Closes the pool: drops unstarted tasks, interrupts every task fiber and
   * waits for them to end.
   *
   * A task that closes its own service's scope — from its body's fiber or
   * from a fiber the body forked (found through the context's marker, which
   * forked fibers inherit) — cannot be waited for: its body may be waiting
   * for the very fiber running this. As `forkIn` does, it is left out of the
   * wait and interrupted once every other task has ended; when the caller is
   * the body itself, the interrupt takes effect as the close returns to it
   * (it is deferred while the finalizers run uninterruptibly).
   */
  shutdown(): Effect.Effect<void> {
    return Effect.withFiber((caller) => {
      const owner = caller.getRef(this.currentTask)
      const self = owner !== undefined && owner.state !== State.Done && owner.fiber !== undefined ? owner : undefined
      this.closed = true
      for (const hook of this.shutdownHooks) hook()
      this.shutdownHooks.clear()
      // tasks that never started: parked ones, and granted ones whose start is pending
      const removed = this.queue.removeAll((task) => task.fiber !== undefined)
      const dropped: Array<Task> = removed.records.map(this.materialize)
      for (const task of removed.tasks) dropped.push(task)
      for (const task of this.unstartedReady()) dropped.push(task)
      const interrupted = Exit.interrupt()
      this.interrupted += dropped.length
      for (const task of dropped) this.finish(task, interrupted)
      // Interrupt every started task, oldest first, before any slot they free is
      // handed on: holding the drain keeps a task waiting for its slot back
      // from being resumed by a neighbour's exit before it is interrupted.
      const live: Array<Task> = []
      for (let task = this.liveHead; task !== undefined; task = task.run!.liveNext) live.push(task)
      const draining = this.draining
      this.draining = true
      try {
        for (let i = live.length - 1; i >= 0; i--) {
          const task = live[i]!
          if (task !== self) task.fiber!.interruptUnsafe()
        }
      } finally {
        this.draining = draining
      }
      this.drain()
      if (this.registered === 0) this.onIdle()
      if (self === undefined) return this.blockTillDone
      return Effect.andThen(
        this.awaitRegistered(1),
        Effect.sync(() => self.fiber!.interruptUnsafe(caller.id))
      )
    })
  }
}

/**
 * Runs `body` in a span named after the task. Called only when the context it
 * was registered from has a span (its parent, see `Pool.traced`); without
 * one, tracing is not in use and no span is made.
 *
 * @internal
 */
export const taskSpan = <A, E>(
  body: Effect.Effect<A, E>,
  task: Task,
  attributes: Record<string, unknown>
): Effect.Effect<A, E> =>
  Effect.withSpan(body, task.name, { attributes: { "effect_task.task.id": task.id, ...attributes } })
