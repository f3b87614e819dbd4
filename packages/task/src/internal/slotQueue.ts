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
 *   skipped when it reaches the head.
 *
 * Invariants:
 * - `size` = records + `Task` entries with `queued === true`
 * - `used` (ring entries between head and tail, skipped ones included)
 *   `< capacity`; the capacity is a power of two `>= minCapacity`
 * - memory follows the backlog: the ring doubles when full and, above
 *   `shrinkFloor`, halves when `used < capacity / 8`, so a drained backlog of
 *   a million tasks does not keep its arrays for the service's lifetime
 *   (copying stays O(1) amortised). Below the floor it keeps its size: a
 *   steady flow that fills and drains a few thousand entries per scheduler
 *   turn would otherwise grow and shrink the ring every turn
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

/**
 * A ring of `n` empty slots. Setting `length` on an empty array allocates
 * the slots at once; `Array.from({ length: n })` walks them one by one, which
 * made ring growth (and shrinking) take a third of the time of a 200k
 * backlog in a profile.
 */
const slots = <A>(n: number): Array<A> => {
  const ring: Array<A> = []
  ring.length = n
  return ring
}

const minCapacity = 16
/** the ring never shrinks below this many slots (about 160 KB for the five arrays) */
const shrinkFloor = 4096

/** @internal */
export class SlotQueue {
  /** `undefined` marks a `Task` entry (kept in `bodies`) */
  private names: Array<string | undefined> = slots(minCapacity)
  private bodies: Array<Effect.Effect<unknown, unknown> | Task | undefined> = slots(minCapacity)
  private contexts: Array<Context.Context<never> | undefined> = slots(minCapacity)
  private ids: Array<number> = slots(minCapacity)
  private times: Array<number> = slots(minCapacity)
  private mask = minCapacity - 1
  private head = 0
  private tail = 0
  /** live entries */
  size = 0

  pushRecord(
    id: number,
    name: string,
    body: Effect.Effect<unknown, unknown>,
    context: Context.Context<never>,
    registeredAt: number
  ): void {
    const i = this.slot()
    this.names[i] = name
    this.bodies[i] = body
    this.contexts[i] = context
    this.ids[i] = id
    this.times[i] = registeredAt
    this.size++
  }

  pushTask(task: Task): void {
    const i = this.slot()
    this.names[i] = undefined
    this.bodies[i] = task
    task.queued = true
    this.size++
  }

  /** Takes a `Task` entry out of the queue early; it is skipped when it reaches the head. */
  remove(task: Task): void {
    if (!task.queued) return
    task.queued = false
    this.size--
  }

  /**
   * Takes the oldest live entry: a `Task`, or a record turned into one by
   * `materialize`. `undefined` when the queue is empty.
   */
  shift(materialize: (record: ParkedRecord) => Task): Task | undefined {
    while (this.head !== this.tail) {
      const i = this.head
      const name = this.names[i]
      const body = this.bodies[i]!
      const context = this.contexts[i]
      this.names[i] = undefined
      this.bodies[i] = undefined
      this.contexts[i] = undefined
      this.head = (i + 1) & this.mask
      if (this.mask >= shrinkFloor && ((this.tail - this.head) & this.mask) * 8 < this.mask + 1) {
        this.resize((this.mask + 1) / 2)
      }
      if (name === undefined) {
        const task = body as Task
        if (!task.queued) continue // removed early
        task.queued = false
        this.size--
        return task
      }
      this.size--
      return materialize({
        id: this.ids[i]!,
        name,
        body: body as Effect.Effect<unknown, unknown>,
        context: context!,
        registeredAt: this.times[i]!
      })
    }
    return undefined
  }

  /** Visits every live entry in order. */
  forEach(onRecord: (record: ParkedRecord) => void, onTask: (task: Task) => void): void {
    for (let i = this.head; i !== this.tail; i = (i + 1) & this.mask) {
      const name = this.names[i]
      if (name === undefined) {
        const task = this.bodies[i] as Task
        if (task.queued) onTask(task)
      } else {
        onRecord({
          id: this.ids[i]!,
          name,
          body: this.bodies[i] as Effect.Effect<unknown, unknown>,
          context: this.contexts[i]!,
          registeredAt: this.times[i]!
        })
      }
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
    this.names = slots(minCapacity)
    this.bodies = slots(minCapacity)
    this.contexts = slots(minCapacity)
    this.ids = slots(minCapacity)
    this.times = slots(minCapacity)
    this.mask = minCapacity - 1
    this.head = this.tail = this.size = 0
    for (const task of tasks) task.queued = false
    for (const task of kept) this.pushTask(task)
    return { records, tasks }
  }

  /** The index of a new tail slot, growing the ring when it is full. */
  private slot(): number {
    const i = this.tail
    const next = (i + 1) & this.mask
    if (next === this.head) {
      this.resize((this.mask + 1) * 2)
      return this.slot()
    }
    this.tail = next
    return i
  }

  /** The ring's length (a power of two); `used` is always below it. */
  get capacity(): number {
    return this.mask + 1
  }

  /** Moves the live part of the ring, in order, into arrays of `capacity` slots. */
  private resize(capacity: number): void {
    const names: Array<string | undefined> = slots(capacity)
    const bodies: Array<Effect.Effect<unknown, unknown> | Task | undefined> = slots(capacity)
    const contexts: Array<Context.Context<never> | undefined> = slots(capacity)
    const ids: Array<number> = slots(capacity)
    const times: Array<number> = slots(capacity)
    let n = 0
    for (let i = this.head; i !== this.tail; i = (i + 1) & this.mask, n++) {
      names[n] = this.names[i]
      bodies[n] = this.bodies[i]
      contexts[n] = this.contexts[i]
      ids[n] = this.ids[i]!
      times[n] = this.times[i]!
    }
    this.names = names
    this.bodies = bodies
    this.contexts = contexts
    this.ids = ids
    this.times = times
    this.mask = capacity - 1
    this.head = 0
    this.tail = n
  }
}
