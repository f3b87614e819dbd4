/**
 * The FIFO of work waiting for a worker slot.
 *
 * Two kinds of entries share one order (first come, first served):
 * - a *record* of a plain task that has not started: its id, name, body,
 *   context and registration time, stored in parallel arrays — no object per
 *   task, so a backlog of a million parked tasks costs about 40 bytes each
 *   and gives the garbage collector no objects to trace or copy;
 * - a `Task` object: a coalescer run (its owner holds the handle) or a
 *   started task waiting to get its slot back. Such an entry can leave the
 *   queue early (interruption): it is marked (`task.queued = false`) and
 *   skipped when it reaches the head. Each push of a `Task` gets a ticket
 *   (kept in `ids`, unused by `Task` entries, and in `task.queueTicket`): an
 *   entry is live only while its ticket is the task's latest, so a task
 *   removed early and pushed again before its old entry reached the head is
 *   taken at its new place, once, and pushing a task that is still queued
 *   moves it to the back. (No caller does either today: a task leaves the
 *   queue early when it finishes or when its wait is interrupted, and then
 *   its fiber ends. The ticket keeps the queue right should one.)
 *
 * The entries live in fixed-size blocks (`blockSize` entries, five parallel
 * arrays each) linked from the oldest to the newest: a push writes at the
 * tail block's next index and appends a block when it is full; a shift reads
 * at the head block's index and unlinks the block once it has passed its
 * last entry. Past the first block (whose arrays grow as it fills, up to
 * 2,048 entries) nothing is copied or reallocated as the backlog grows or
 * drains. (It replaced a ring that doubled and halved: on a backlog of 200k
 * tasks its regrowth, arrays of up to 262,144 slots allocated and filled
 * afresh, took 4–5% of a run's time in a profile.)
 *
 * Invariants:
 * - `size` = records + `Task` entries that are live (`task.queued` and
 *   `task.queueTicket` is the entry's ticket)
 * - the live part runs from (`head`, `headIndex`) to (`tail`, `tailIndex`)
 *   along `next`; `0 <= headIndex <= blockSize`, `0 <= tailIndex <=
 *   blockSize`; `head === tail` implies `headIndex <= tailIndex`
 * - every slot outside the live part holds `undefined` in `names`, `bodies`
 *   and `contexts` (a consumed entry keeps nothing reachable)
 * - memory follows the backlog: blocks the head has passed are dropped but
 *   one (`spare`, reused by the next append), so a drained backlog of a
 *   million tasks keeps two blocks, and a steady flow that crosses a block
 *   boundary every turn allocates nothing
 * - when the queue empties, both indices go back to 0 in the head block
 *
 * @internal
 */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { Task } from "./task.ts"

/** @internal */
export interface ParkedRecord {
  readonly id: number
  readonly name: string
  readonly body: Effect.Effect<unknown, unknown>
  readonly context: Context.Context<never>
  readonly registeredAt: number
}

/** entries per block: five arrays of at most 16 KB each (young-generation objects) */
const blockSize = 2048

/**
 * `n` empty slots, allocated at once (setting `length` on an empty array
 * allocates exactly `n`; `Array.from({ length: n })` walks them one by one).
 */
const slots = <A>(n: number): Array<A> => {
  const array: Array<A> = []
  array.length = n
  return array
}

/**
 * One block of entries, in parallel arrays. The first block of a queue
 * starts empty and grows as entries are written, always at the next index:
 * a service whose backlog stays short never allocates 2,048 slots. A block
 * appended behind it (a real backlog) is allocated at its full size at once:
 * grown one write at a time its arrays would end with a third more slots
 * than entries (V8 grows an array by half), a third more memory per parked
 * task. A reused block (the spare, the head block after the queue emptied)
 * keeps what it has.
 */
class Block {
  /** `undefined` marks a `Task` entry (kept in `bodies`) */
  readonly names: Array<string | undefined>
  readonly bodies: Array<Effect.Effect<unknown, unknown> | Task | undefined>
  readonly contexts: Array<Context.Context<never> | undefined>
  readonly ids: Array<number>
  readonly times: Array<number>
  next: Block | undefined = undefined

  /** `size`: the slots to allocate now (0: grow as entries come) */
  constructor(size: number) {
    this.names = slots(size)
    this.bodies = slots(size)
    this.contexts = slots(size)
    this.ids = slots(size)
    this.times = slots(size)
  }
}

/** The record stored at `block[i]` (a record entry: its name is set). */
const recordAt = (block: Block, i: number): ParkedRecord => ({
  id: block.ids[i]!,
  name: block.names[i]!,
  body: block.bodies[i] as Effect.Effect<unknown, unknown>,
  context: block.contexts[i]!,
  registeredAt: block.times[i]!
})

/** The task of the `Task` entry at `block[i]` if the entry is live (its ticket is the task's latest), else `undefined`. */
const liveTask = (block: Block, i: number): Task | undefined => {
  const task = block.bodies[i] as Task
  return task.queued && task.queueTicket === block.ids[i] ? task : undefined
}

/** @internal */
export class SlotQueue {
  private head = new Block(0)
  private headIndex = 0
  private tail = this.head
  private tailIndex = 0
  /** a block the head has passed, kept for the next append */
  private spare: Block | undefined = undefined
  /** the last ticket given to a `Task` entry */
  private tickets = 0
  /** live entries */
  size = 0

  pushRecord(
    id: number,
    name: string,
    body: Effect.Effect<unknown, unknown>,
    context: Context.Context<never>,
    registeredAt: number
  ): void {
    this.push(name, body, context, id, registeredAt)
  }

  /** Queues `task` at the back; a task already queued moves there (its older entry goes stale). */
  pushTask(task: Task): void {
    if (task.queued) this.size--
    this.push(undefined, task, undefined, task.queueTicket = ++this.tickets, 0)
    task.queued = true
  }

  /**
   * Writes an entry at the tail. Every array gets the slot, so that a
   * growing block's arrays grow together (a write far past an array's end
   * would turn it into a slow dictionary).
   */
  private push(
    name: string | undefined,
    body: Effect.Effect<unknown, unknown> | Task,
    context: Context.Context<never> | undefined,
    id: number,
    time: number
  ): void {
    if (this.tailIndex === blockSize) this.append()
    const block = this.tail
    const i = this.tailIndex++
    block.names[i] = name
    block.bodies[i] = body
    block.contexts[i] = context
    block.ids[i] = id
    block.times[i] = time
    this.size++
  }

  /** Takes a `Task` entry out of the queue early; it is skipped when it reaches the head. */
  remove(task: Task): void {
    if (!task.queued) return
    task.queued = false
    this.size--
    if (this.size === 0) this.rewind()
  }

  /**
   * Takes the oldest live entry: a `Task`, or a record turned into one by
   * `materialize`. `undefined` when the queue is empty.
   */
  shift(materialize: (record: ParkedRecord) => Task): Task | undefined {
    while (true) {
      if (this.headIndex === blockSize) {
        if (this.head === this.tail) break
        this.advance()
      }
      if (this.head === this.tail && this.headIndex === this.tailIndex) break
      const block = this.head
      const i = this.headIndex++
      const record = block.names[i] !== undefined ? recordAt(block, i) : undefined
      const live = record === undefined ? liveTask(block, i) : undefined
      block.names[i] = undefined
      block.bodies[i] = undefined
      block.contexts[i] = undefined
      if (live === undefined && record === undefined) continue // removed early (and maybe pushed again)
      if (live !== undefined) live.queued = false
      this.size--
      if (this.size === 0) this.rewind()
      return live ?? materialize(record!)
    }
    this.rewind()
    return undefined
  }

  /** Visits every live entry in order. */
  forEach(onRecord: (record: ParkedRecord) => void, onTask: (task: Task) => void): void {
    for (let block: Block | undefined = this.head; block !== undefined; block = block.next) {
      const end = block === this.tail ? this.tailIndex : blockSize
      for (let i = block === this.head ? this.headIndex : 0; i < end; i++) {
        if (block.names[i] !== undefined) onRecord(recordAt(block, i))
        else {
          const task = liveTask(block, i)
          if (task !== undefined) onTask(task)
        }
      }
      if (block === this.tail) break
    }
  }

  /**
   * Removes every entry for which `keep` is false (records are never kept);
   * returns the removed `Task` entries and records, in order.
   */
  removeAll(keep: (task: Task) => boolean): { readonly records: Array<ParkedRecord>; readonly tasks: Array<Task> } {
    const records: Array<ParkedRecord> = []
    const tasks: Array<Task> = []
    const kept: Array<Task> = []
    this.forEach((record) => records.push(record), (task) => (keep(task) ? kept : tasks).push(task))
    this.head = this.tail = new Block(0)
    this.headIndex = this.tailIndex = this.size = 0
    this.spare = undefined
    for (const task of tasks) task.queued = false
    for (const task of kept) {
      task.queued = false // its entry went with the old blocks
      this.pushTask(task)
    }
    return { records, tasks }
  }

  /** The slots of the blocks from head to tail, at 2,048 a block; the spare is not counted (tests: memory follows the backlog). */
  get capacity(): number {
    let blocks = 1
    for (let block = this.head; block !== this.tail; block = block.next!) blocks++
    return blocks * blockSize
  }

  /** The tail block is full: link a new one (the spare, if there is one). */
  private append(): void {
    const block = this.spare ?? new Block(blockSize)
    this.spare = undefined
    this.tail.next = block
    this.tail = block
    this.tailIndex = 0
  }

  /** The head has passed its block's last entry: unlink it (it becomes the spare, its slots already cleared). */
  private advance(): void {
    const block = this.head
    this.head = block.next!
    this.headIndex = 0
    block.next = undefined
    this.spare = block
  }

  /** Empty: write from the head block's first slot again. */
  private rewind(): void {
    if (this.size !== 0) return
    // every entry left between head and tail was removed early: clear them, keeping nothing reachable
    while (this.head !== this.tail) {
      this.clearFrom(this.head, this.headIndex, blockSize)
      this.advance()
    }
    this.clearFrom(this.head, this.headIndex, this.tailIndex)
    this.headIndex = this.tailIndex = 0
  }

  private clearFrom(block: Block, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      block.names[i] = undefined
      block.bodies[i] = undefined
      block.contexts[i] = undefined
    }
  }
}
