/**
 * The service's clock: milliseconds since the service was made, read through
 * Effect's `Clock`, for task times (`TaskInfo.registeredAt` / `stateSince`)
 * and the duration histograms.
 *
 * A read of the live clock (`Date.now`) costs 40 ns in a tight loop and over
 * 100 ns between the pool's other work: a tenth or more of what a task with a
 * synchronous no-op body costs. A service reads the clock at three events per
 * task (registration, start, end), so on the live clock a burst of events
 * shares readings, within these bounds.
 *
 * Invariants (live clock only; any other `Clock`, `TestClock` included, is
 * read at every call):
 * - every value returned is a reading taken at the call, or the reading of an
 *   earlier call in the same window that has served fewer than `share` calls
 * - a window is one turn of the event loop: it closes at the next check phase
 *   (`setImmediate`), and until then the loop runs callbacks but never waits,
 *   so time spent idle (timers, I/O) always shows in the next reading
 * - `1 <= share <= maxShare`; every window starts at `share = 1`; `share`
 *   doubles after a reading that found the clock moved by at most 1 ms since
 *   the window's previous reading, and falls back to 1 after one that found it
 *   moved more (so work that takes time is timed at every event)
 *
 * Gotcha: one long synchronous step right after a burst of very short ones
 * (the clock still looks idle) is not seen by up to `maxShare - 1` events
 * after it: they carry the earlier reading. Its time shows in a later event
 * of the turn, or in none when the turn ends first (a running duration then
 * reads 0 ms). The first two events of a turn are always read. A service that
 * needs exact live times is given a `Clock` of its own (read at every call).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"

/** How many calls one reading of the live clock may serve at most. @internal */
export const maxShare = 32

/** What the pool reads: Effect's `Clock`, or a stand-in in tests. @internal */
export interface TimeSource {
  currentTimeMillisUnsafe(): number
}

const settled = Promise.resolve()

/**
 * Runs `f` once the event loop has finished its current turn. In Node that is
 * the next check phase (`setImmediate`): until then the loop runs callbacks
 * but never waits (a pending immediate makes the poll phase return at once),
 * so no idle time passes inside a window. The function is captured when this
 * module loads, so fake timers installed later (a test's) cannot hold a
 * window open. Outside Node (where `setImmediate` may be a polyfill over
 * `setTimeout`, which can wait): the next microtask.
 */
const afterTurn: (f: () => void) => void = (() => {
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node
  const immediate = globalThis.setImmediate
  if (node !== undefined && typeof immediate === "function") {
    return (f) => {
      immediate(f)
    }
  }
  return (f) => {
    void settled.then(f)
  }
})()

/** Effect's default clock (`Date.now`), the one whose readings are shared. */
const liveClock = (): TimeSource => Context.get(Context.empty(), Clock.Clock)

/** @internal */
export class ServiceClock {
  /** epoch millis of the service's creation; the clock's values count from it */
  readonly epoch: number
  private readonly source: TimeSource
  private readonly shared: boolean
  /** the latest reading */
  private last = 0
  /** calls the latest reading may still serve (0 once its window closed) */
  private uses = 0
  private share = 1
  /** a window is open: the latest reading may be shared, and the next one can adapt `share` */
  private open = false
  /** readings taken (for tests and the benchmark) */
  reads = 0

  /**
   * `shared`: whether readings may be shared (default: only for Effect's live
   * clock, whose reads are costly; a `TestClock` is exact at every call).
   */
  constructor(source: TimeSource, shared: boolean = source === liveClock()) {
    this.source = source
    this.shared = shared
    this.epoch = source.currentTimeMillisUnsafe()
  }

  /**
   * Milliseconds since the service was made: a small integer for the first
   * 24.8 days (2^31 ms), so the task's time fields stay unboxed; a plain
   * number after that.
   */
  now(): number {
    if (this.uses > 0) {
      this.uses--
      return this.last
    }
    return this.read()
  }

  private read(): number {
    this.reads++
    const now = this.source.currentTimeMillisUnsafe() - this.epoch
    if (!this.shared) return now
    if (this.open) {
      this.share = now - this.last <= 1 ? Math.min(this.share * 2, maxShare) : 1
    } else {
      this.open = true
      afterTurn(this.close)
    }
    this.last = now
    this.uses = this.share - 1
    return now
  }

  /** The window ends: the next call reads the clock, and sharing starts over. */
  private readonly close = (): void => {
    this.open = false
    this.uses = 0
    this.share = 1
  }
}
