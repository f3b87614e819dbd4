/**
 * Admission: who gets a worker slot, and when. This module is the only place
 * that decides it; the rest of the service asks it.
 *
 * **The policy: first come, first served, no barging.** One FIFO
 * (`SlotQueue`) holds everything waiting for a slot — plain tasks not
 * started yet, coalescer runs not started yet, and started tasks waiting to
 * get a slot back after `yieldSlot` / `yieldQuiescent` or before a coalescer
 * re-run. A newcomer takes a slot without queueing only when one is free
 * *and* nobody is queued (`hasFreeSlot`); otherwise it queues at the back. A
 * freed slot goes to the head of the queue in the step that freed it
 * (`release`, `grantWaiting`), so a slot is never idle while someone waits.
 * Changing the policy (priorities, per-key fairness) means changing this
 * file and nothing else: `grantWaiting` picks, `hasFreeSlot` and `takeIfFree` admit.
 *
 * Invariants (after every step; `running` and `bound` are fields here):
 * - `running` = tasks with `holdsSlot`
 * - `running <= bound`, unless `resize` lowered the bound below the slots
 *   held (they drain: nothing is granted until `running < bound`)
 * - the queue is non-empty only while `running >= bound`
 * - a task is in the queue at most once, and only while it holds no slot
 *
 * Ordering: a grant marks the task (`holdsSlot`, `Starting` or `Running`)
 * and hands it to the start queue (`StartSink.push`), which starts or
 * resumes granted tasks in grant order; admission never runs a fiber itself.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { type ParkedRecord, SlotQueue } from "./slotQueue.ts"
import { State, type Task } from "./task.ts"

/** Where granted tasks go: the start queue (`starter.ts`). @internal */
export interface StartSink {
  push(task: Task): void
  /** Called after a batch of grants: start them soon. */
  schedule(): void
}

/** @internal */
export class Admission {
  bound: number
  running = 0
  private readonly queue = new SlotQueue()
  private readonly sink: StartSink
  private readonly materialize: (record: ParkedRecord) => Task
  private readonly clock: () => number

  constructor(
    bound: number,
    sink: StartSink,
    materialize: (record: ParkedRecord) => Task,
    clock: () => number
  ) {
    this.bound = bound
    this.sink = sink
    this.materialize = materialize
    this.clock = clock
  }

  /** Tasks waiting for a slot (not started yet, or coming back). */
  get parked(): number {
    return this.queue.size
  }

  /** The slots of the slot queue's blocks from head to tail (tests: memory follows the backlog once it drained). */
  get capacity(): number {
    return this.queue.capacity
  }

  /** A slot is free and nobody waits for one: a newcomer takes it without queueing. */
  hasFreeSlot(): boolean {
    return this.running < this.bound && this.queue.size === 0
  }

  /** Gives a newcomer (`hasFreeSlot` was true in this step) its slot and hands it on for start. */
  admit(task: Task, now: number): void {
    this.grant(task, now)
    this.sink.schedule()
  }

  /** Queues a plain task that has not started, as a record (no `Task` object until its grant). */
  parkRecord(
    id: number,
    name: string,
    body: Effect.Effect<unknown, unknown>,
    context: Context.Context<never>,
    now: number
  ): void {
    this.queue.pushRecord(id, name, body, context, now)
  }

  /** Queues a `Task` entry: an unstarted task its caller holds, or a started one coming back. */
  park(task: Task): void {
    this.queue.pushTask(task)
  }

  /**
   * Takes a slot for a started task at once when `hasFreeSlot` (returns
   * `true`; the caller sets its state); never queues it (the caller `park`s
   * it, and its grant resumes it through the start queue).
   */
  takeIfFree(task: Task): boolean {
    if (!this.hasFreeSlot()) return false
    this.running++
    task.holdsSlot = true
    return true
  }

  /** Takes a queued `Task` entry out of the queue (interrupted, dropped or finished); a no-op otherwise. */
  leave(task: Task): void {
    this.queue.remove(task)
  }

  /** The task gives its slot back; the head of the queue gets it. */
  release(task: Task): void {
    task.holdsSlot = false
    this.running--
    this.grantWaiting()
  }

  /** A finishing task drops its slot, if it holds one; the caller grants afterwards (`grantWaiting`). */
  drop(task: Task): void {
    if (!task.holdsSlot) return
    task.holdsSlot = false
    this.running--
  }

  /** Hands free slots to the oldest waiters. */
  grantWaiting(now?: number): void {
    if (this.queue.size === 0 || this.running >= this.bound) return
    if (now === undefined) now = this.clock()
    while (this.running < this.bound) {
      const task = this.queue.shift(this.materialize)
      if (task === undefined) break
      this.grant(task, now)
    }
    this.sink.schedule()
  }

  resize(bound: number): void {
    this.bound = bound
    this.grantWaiting()
  }

  /** Every queued entry in order, as records and `Task`s (`snapshot`). */
  forEach(onRecord: (record: ParkedRecord) => void, onTask: (task: Task) => void): void {
    this.queue.forEach(onRecord, onTask)
  }

  /** Shutdown: empties the queue but for the `Task`s `keep` accepts; returns what it removed. */
  removeAll(keep: (task: Task) => boolean): { readonly records: Array<ParkedRecord>; readonly tasks: Array<Task> } {
    return this.queue.removeAll(keep)
  }

  private grant(task: Task, now: number): void {
    this.running++
    task.holdsSlot = true
    task.state = task.fiber === undefined ? State.Starting : State.Running
    task.stateSince = now
    this.sink.push(task)
  }
}
