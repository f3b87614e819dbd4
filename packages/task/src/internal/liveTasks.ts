/**
 * The started tasks: an intrusive doubly linked list through each task's
 * `run.liveNext` / `run.livePrev` (what `FiberSet` keeps in a `Set`), so that
 * linking and unlinking allocate nothing. Shutdown interrupts what it holds;
 * `snapshot` lists it.
 *
 * Invariants (after every step):
 * - a task is linked exactly while its fiber has been bound and has not
 *   exited: from `bind` (before the body's first step) to its exit observer
 * - `head` is the most recently started task; following `liveNext` visits
 *   the rest, newest first
 *
 * @internal
 */
import type { Task } from "./task.ts"

/** @internal */
export class LiveTasks {
  private head: Task | undefined = undefined

  link(task: Task): void {
    task.run!.liveNext = this.head
    if (this.head !== undefined) this.head.run!.livePrev = task
    this.head = task
  }

  unlink(task: Task): void {
    const run = task.run!
    if (run.livePrev === undefined) this.head = run.liveNext
    else run.livePrev.run!.liveNext = run.liveNext
    if (run.liveNext !== undefined) run.liveNext.run!.livePrev = run.livePrev
    run.livePrev = run.liveNext = undefined
  }

  /** The started tasks, newest first. */
  toArray(): Array<Task> {
    const out: Array<Task> = []
    for (let task = this.head; task !== undefined; task = task.run!.liveNext) out.push(task)
    return out
  }
}
