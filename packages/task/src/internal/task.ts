/**
 * The task model: what the service knows about one unit of work, its states
 * and their public names. Nothing here changes a counter; the modules that
 * own each field are named on it.
 *
 * A task is registered by `go`, `run` or a coalescer, waits for a worker slot
 * (`Parked`), is granted one (`Starting`: its fiber is about to be forked),
 * runs (`Running`), may give its slot back inside a yield (`YieldedSlot`,
 * `YieldedQuiescent`) or to re-run (`Requeued`: waiting in the slot queue to
 * get a slot back), and ends (`Done`).
 *
 * Invariants (for every task, after every step):
 * - `state === Done` exactly when the task is no longer registered
 * - `holdsSlot` implies `state` is `Starting`, `Running`, or
 *   `YieldedQuiescent` (on an unbounded service a yield keeps its slot)
 * - `queued` implies `!holdsSlot` (a task waits for a slot only without one)
 * - `run !== undefined` exactly when the task's fiber has been forked
 *
 * The public vocabulary (`TaskInfo.state`, the gauges, docs/observability.md)
 * has four words: `parked` (waiting for a slot: `Parked`, `Requeued`),
 * `running` (holding a slot: `Starting`, `Running`; the `running` gauge
 * counts the same tasks), `yielded-slot` and `yielded-quiescent`.
 * `stateNames` maps every state to one of them, checked by the compiler.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"

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

/** The states a task is shown in (`TaskInfo.state`). @internal */
export type StateName = "parked" | "running" | "yielded-slot" | "yielded-quiescent"

/** Every state's public name; a state added to `State` without a name here fails to compile. */
const stateNames: { readonly [S in State]: StateName } = {
  [State.Parked]: "parked",
  [State.Starting]: "running",
  [State.Running]: "running",
  [State.YieldedSlot]: "yielded-slot",
  [State.YieldedQuiescent]: "yielded-quiescent",
  [State.Requeued]: "parked",
  // a finished task is never shown; its last public state was running
  [State.Done]: "running"
}

/** @internal */
export const stateName = (state: State): StateName => stateNames[state]

/** Whether `state` is one of the two yield states (counted by `yielded`). @internal */
export const isYielded = (state: State): boolean => state === State.YieldedSlot || state === State.YieldedQuiescent

/**
 * What a multi-run task's owner (a `Coalescer` key) is told, and shows.
 *
 * @internal
 */
export interface TaskOwner {
  readonly key: unknown
  /** consecutive failed runs of the key, shown in `snapshot` */
  readonly retries?: number
  /**
   * Called once, synchronously, when the task's fiber has exited or the task
   * was dropped unstarted. It runs *before* the task's counters go down
   * (`registered`, `active`, its slot): an owner that registers a successor
   * here (a coalescer re-run) keeps `activeCount` from dipping to a value
   * that would let a quiescence waiter through.
   */
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
  /** set while the task waits in the slot queue to get a slot back (owned by the pool's `acquireSlot`) */
  resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  /** when the current run (the body, or one coalescer run) started */
  startedAt = 0
  /**
   * A run has begun and not ended (`runs.ts`): the run is ended by
   * `endRun` when its body ends, or by the task's exit when the fiber ends
   * first (interrupted mid-run). Exactly one of them ends it.
   */
  open = false
  /** links of the pool's list of started tasks (owned by `LiveTasks`) */
  liveNext: Task | undefined = undefined
  livePrev: Task | undefined = undefined
}

/** @internal */
export class Task {
  readonly id: number
  /** the name shown in `snapshot` and on spans; a coalescer run takes its latest submit's */
  name: string
  /** dropped once the fiber takes it, so a finished task keeps no closure alive */
  body: Effect.Effect<unknown, unknown> | undefined
  context: Context.Context<never>
  readonly owner: TaskOwner | undefined
  state: State = State.Parked as State
  /** owned by `Admission` */
  holdsSlot = false
  /** counted in `active`; `false` inside `yieldQuiescent` (owned by the pool's `uncount` / `recount`) */
  counted = true
  /** in the slot queue as a `Task` entry (owned by `SlotQueue`) */
  queued = false
  /** the ticket of its live entry in the slot queue: an older entry of the same task is stale (owned by `SlotQueue`) */
  queueTicket = 0
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
