/**
 * A coalescer's timers (retry waits and delayed submits): one min-heap of
 * due times over the keys' entries and one fiber sleeping until the
 * earliest, so a scheduled key costs a heap node rather than a sleeping
 * fiber.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** What the heap schedules: an entry that knows its live node. @internal */
export interface Timed<E> {
  /** the entry's live node in the heap, if it has a timer */
  timer: TimerNode<E> | undefined
}

/** A due time in the timer heap; live while `entry.timer` is this node. */
/** @internal */
export interface TimerNode<E> {
  readonly at: number
  /** insertion order: equal due times fire first in, first out */
  readonly seq: number
  readonly entry: E
}

const before = <E>(a: TimerNode<E>, b: TimerNode<E>): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/**
 * The coalescer's timers (retry waits and delayed submits): one min-heap of
 * due times and one fiber sleeping until the earliest, so a scheduled key
 * costs a heap node rather than a sleeping fiber (a periodic resync
 * schedules every key). The fiber is forked in the coalescer's context: it
 * is not a task (neither counted nor bounded), its sleep is on that
 * context's `Clock`, and it starts inside `runForkWith`, so its sleep is
 * registered (with `TestClock` too) before the call that armed it returns.
 *
 * Invariants: `live` = nodes with `node.entry.timer === node`; other nodes
 * are stale, skipped when they reach the top and dropped when they outnumber
 * the live ones; the fiber, if any, is armed for `armedAt`, a time no later
 * than the earliest live node's (an earlier stale time only wakes it early);
 * no fiber when no node is live.
 */
/** @internal */
export class Timers<E extends Timed<E>> {
  private heap: Array<TimerNode<E>> = []
  private seq = 0
  private live = 0
  private fiber: Fiber.Fiber<void> | undefined = undefined
  private armedAt = Infinity
  private firing = false
  private readonly context: Context.Context<never>
  private readonly clock: Clock.Clock
  private readonly fire: (entry: E, at: number) => void

  constructor(context: Context.Context<never>, clock: Clock.Clock, fire: (entry: E, at: number) => void) {
    this.context = context
    this.clock = clock
    this.fire = fire
  }

  /** Arms `entry`'s timer for `at` (`Infinity`: none), replacing the one it had. */
  set(entry: E, at: number): void {
    if (entry.timer !== undefined && entry.timer.at === at) return
    this.clear(entry)
    if (at === Infinity) return
    const node: TimerNode<E> = { at, seq: this.seq++, entry }
    entry.timer = node
    this.live++
    this.push(node)
    if (!this.firing && at < this.armedAt) this.reschedule()
  }

  /** Disarms `entry`'s timer. */
  clear(entry: E): void {
    if (entry.timer === undefined) return
    entry.timer = undefined
    this.live--
    if (this.live === 0) {
      // nothing left to wait for: no sleeping fiber keeps the process alive
      this.heap = []
      this.stop()
    } else if (this.heap.length > 64 && this.heap.length > 2 * this.live) {
      this.heap = this.heap.filter((node) => node.entry.timer === node).toSorted((a, b) => before(a, b) ? -1 : 1)
    }
  }

  /** Shutdown: drops every node (the caller disarms the entries) and stops the fiber. */
  reset(): void {
    this.heap = []
    this.live = 0
    this.stop()
  }

  private stop(): void {
    const fiber = this.fiber
    this.fiber = undefined
    this.armedAt = Infinity
    if (fiber !== undefined) fiber.interruptUnsafe()
  }

  /** Arms the fiber for the earliest live node. */
  private reschedule(): void {
    while (this.heap.length > 0 && this.heap[0]!.entry.timer !== this.heap[0]) this.pop()
    const at = this.heap.length === 0 ? Infinity : this.heap[0]!.at
    if (this.fiber !== undefined && this.armedAt === at) return
    this.stop()
    if (at === Infinity) return
    this.armedAt = at
    const delay = at - this.clock.currentTimeMillisUnsafe()
    // An already-due timer (or one due in less than a microsecond, which a
    // clock's float arithmetic may round to "now") fires on the next scheduler
    // turn, not inline (see `onFire`); should a wait still complete inside
    // `runForkWith`, the fire happens once the fiber is known.
    let fiber: Fiber.Fiber<void> | undefined = undefined
    let firedInline = false
    const started = Effect.runForkWith(this.context)(
      Effect.andThen(
        delay >= 0.001 ? Effect.sleep(delay) : Effect.yieldNow,
        Effect.sync(() => {
          if (fiber === undefined) firedInline = true
          else this.onFire(fiber)
        })
      )
    )
    fiber = started
    this.fiber = started
    if (firedInline) this.onFire(started)
  }

  /**
   * The fiber woke up: every live node due by the time it was armed for
   * fires, in order. Only nodes that existed when it woke: a node armed by a
   * firing one waits for the next turn, so no chain of re-arms can keep this
   * loop (and the thread) busy.
   */
  private onFire(fiber: Fiber.Fiber<void>): void {
    if (this.fiber !== fiber) return // stopped or re-armed meanwhile
    this.fiber = undefined
    const at = this.armedAt
    const firstNew = this.seq
    this.armedAt = Infinity
    this.firing = true
    try {
      while (this.heap.length > 0 && this.heap[0]!.at <= at && this.heap[0]!.seq < firstNew) {
        const node = this.pop()
        if (node.entry.timer !== node) continue
        node.entry.timer = undefined
        this.live--
        this.fire(node.entry, at)
      }
    } finally {
      this.firing = false
    }
    if (this.live === 0) this.heap = []
    this.reschedule()
  }

  private push(node: TimerNode<E>): void {
    const heap = this.heap
    let i = heap.length
    heap.push(node)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(node, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = node
  }

  private pop(): TimerNode<E> {
    const heap = this.heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= heap.length) break
        const right = left + 1
        const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left
        if (!before(heap[child]!, last)) break
        heap[i] = heap[child]!
        i = child
      }
      heap[i] = last
    }
    return top
  }
}
