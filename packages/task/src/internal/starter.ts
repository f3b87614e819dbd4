/**
 * The start queue: granted tasks waiting to be started (their fiber forked)
 * or resumed (a started task that got its slot back), run in grant order in
 * drain slices.
 *
 * A drain runs inline where the pool's state is consistent (after a task's
 * exit, so a run of synchronous bodies costs no scheduler round per task:
 * each body's exit grants and starts the next inside the same loop), and
 * otherwise in a slice scheduled on the service's dispatcher. A slice starts
 * at most `drainBudget` tasks before it hands the thread back.
 *
 * Invariants (after every step):
 * - `ready[readyHead..]` are granted tasks (each `holdsSlot`), in grant order
 * - `draining` exactly while a drain loop (or `hold`) is on the stack: a
 *   nested `drain` returns at once, so tasks start in order, never re-entered
 * - `drainScheduled` exactly while a slice is scheduled and has not run; a
 *   non-empty `ready` outside a drain always has one scheduled or running
 *
 * Gotcha: a task granted and then dropped before its start (shutdown,
 * `TaskService.run`'s caller interrupted) stays in `ready` as `Done`; the
 * start callback skips it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scheduler from "effect/Scheduler"
import type { StartSink } from "./admission.ts"
import { State, type Task } from "./task.ts"

/** how many task starts / resumes one drain runs before it hands the thread back */
const drainBudget = 2048

/** @internal */
export class StartQueue implements StartSink {
  private ready: Array<Task> = []
  private readyHead = 0
  private draining = false
  private drainScheduled = false
  private readonly dispatcher: Scheduler.SchedulerDispatcher
  private readonly start: (task: Task) => void

  /** `start`: forks a granted task's fiber (called in grant order, never re-entered). */
  constructor(dispatcher: Scheduler.SchedulerDispatcher, start: (task: Task) => void) {
    this.dispatcher = dispatcher
    this.start = start
  }

  push(task: Task): void {
    this.ready.push(task)
  }

  schedule(): void {
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
  drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      let budget = drainBudget
      while (this.readyHead < this.ready.length) {
        if (budget-- === 0) break
        const task = this.ready[this.readyHead]!
        this.ready[this.readyHead++] = undefined as any
        if (task.fiber === undefined) {
          if (task.state !== State.Done) this.start(task)
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
      // Out of budget: hand the thread back and go on in a scheduled slice. In
      // `finally`, so that an exception thrown through a start (a user's
      // observer resumed inline) cannot strand the tasks still in `ready`.
      if (this.readyHead < this.ready.length) this.schedule()
    }
  }

  /**
   * Runs `f` with the drain held: tasks granted meanwhile wait until `f`
   * returns (shutdown interrupts every started task before any slot they free
   * is handed on).
   */
  hold(f: () => void): void {
    const draining = this.draining
    this.draining = true
    try {
      f()
    } finally {
      this.draining = draining
    }
  }

  /** Granted tasks whose fiber has not started yet (shutdown drops them). */
  unstarted(): Array<Task> {
    const out: Array<Task> = []
    for (let i = this.readyHead; i < this.ready.length; i++) {
      const task = this.ready[i]!
      if (task.fiber === undefined && task.state !== State.Done) out.push(task)
    }
    return out
  }
}
