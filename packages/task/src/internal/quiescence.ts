/**
 * Quiescence: when `awaitQuiescence(t)` may complete. This module owns the
 * waiters, the scheduler that watches fibers inside `yieldQuiescent`, and the
 * barrier that decides; the pool only reports its counts and decrements.
 *
 * **The rule** (CONTRACT.md, "Quiescence hand-off"): a waiter completes only
 * at a moment when `active <= t` and no fiber inside `yieldQuiescent` is
 * runnable — each has suspended on something other than its own yield, and
 * every wake-up issued before the count last went down (or before the call),
 * or issued by a fiber inside `yieldQuiescent`, has reached its fiber.
 *
 * **Counters** (the pool's, read through `Counts`):
 * - `registered` = tasks registered and not finished
 * - `active` = `registered` - `regions.size`
 * - `regions` = tasks whose body is inside `yieldQuiescent` (uncounted)
 * - `pending` = tasks scheduled through a `TrackedScheduler` and not yet run
 * - `armed` = a barrier is scheduled; `dirty` = something happened since it
 *   was armed (a decrement, a new waiter, a tracked fiber ran or scheduled)
 *
 * **Invariants** (after every step):
 * - every waiter has `0 <= threshold < Infinity`, and `threshold < active`
 *   or `regions.size > 0` (without regions the count is exact, and a waiter
 *   whose threshold holds is completed in the same step)
 * - `maxThreshold` = the largest waiter threshold, `-Infinity` without waiters
 * - `maxThreshold >= active` and `regions.size > 0` imply `armed`, or the last
 *   barrier found an opaque region (see below) and no tracked fiber has run,
 *   no decrement and no new waiter happened since
 *
 * **Why it is exact.** Inside `yieldQuiescent` the task's fiber runs under a
 * `TrackedScheduler` (provided as `Scheduler` for the region, so forked
 * children inherit it). Effect 4.1 consults the fiber's own scheduler at every
 * operation (`shouldYield`) and for every yield (`yieldNow`, auto-yield), and
 * a wake-up issued by a tracked fiber through its own dispatcher (`Latch.open`,
 * a Semaphore release, `Queue.offer` to a queue it made) is a tracked task.
 * So every step a tracked fiber takes is seen (`dirty`), and every task
 * scheduled for one through its own dispatcher is counted (`pending`).
 * What the tracker cannot see is a wake-up for a tracked fiber issued through
 * somebody else's dispatcher (a counted task opening a `Latch`, a `Queue`
 * made outside the region) or resumed inline (`Deferred`, promises, timers).
 * Inline resumes run inside the waker's step, before its decrement. The
 * others sit in a scheduler queue: the barrier runs on `setImmediate`, which
 * comes after every microtask and every `setImmediate` queued before it, and
 * Effect's `MixedScheduler` dispatchers run on exactly those, first in, first
 * out. A barrier armed after the last decrement and after the waiter's call
 * therefore runs after every such wake-up has reached its fiber; if that
 * fiber then ran, it did so under the tracked scheduler, which marked the
 * barrier `dirty`. The barrier completes waiters only when it finds nothing
 * `dirty` and nothing `pending`: at that moment every fiber inside a region
 * has suspended on something other than its own yield.
 *
 * **Where it cannot see, it waits.** A region whose fiber, or a child it
 * forked inside the region (`forkChild`, found through effect's
 * `FiberImpl._children`), is at the barrier under another scheduler (one the
 * user provided) or under `PreventSchedulerYield` (its steps skip
 * `shouldYield`) is opaque: the barrier counts that task as active, so a
 * waiter it could affect waits until the task leaves the region, ends, or
 * runs under the tracked scheduler again; while it waits the barrier looks
 * again every millisecond, since an opaque child can end without a step
 * this tracker sees. Daemons (`forkDetach`, `forkIn`, `forkScoped`,
 * `FiberSet`, and the fibers `Effect.all`/`forEach` with concurrency,
 * `race`, `timeout` and `Stream` fork) are not kept by any fiber: under a
 * scheduler of the user's own or `PreventSchedulerYield` they are not seen
 * (docs/quiescence.md says so).
 *
 * **Not a shortcut: `registered <= t`.** While a region exists, a woken
 * region fiber may register tasks before it suspends, so even a threshold no
 * hand-off could exceed by coming back is decided by the barrier; only
 * `Infinity`, or no region at all, completes at once.
 *
 * **Gotchas**
 * - The ordering argument needs the ambient scheduler to run what was
 *   scheduled before the barrier no later than the next `setImmediate` turn:
 *   Effect's `MixedScheduler`, `TestClock`'s wrapper of it, and any scheduler
 *   that runs each turn's tasks on `setImmediate` or a microtask, in any
 *   order. One that delays tasks further (`setTimeout`) can deliver a
 *   wake-up after the barrier unless a fiber inside an open region issued
 *   it (those are counted by `pending`).
 * - Busy-polling inside `yieldQuiescent` (a loop of `yieldNow` checking a
 *   flag) is a runnable fiber: it holds quiescence off for as long as it polls.
 * - A dispatcher outlives its region (a `Queue` keeps the dispatcher of the
 *   fiber that made it), so a tracked dispatcher counts only what fibers
 *   inside a region schedule through it (`Fiber.getCurrent()`).
 * - Every region entry gets a scheduler of its own (`TrackedScheduler`,
 *   `open` while the region lasts): fibers forked inside a region that
 *   outlive it keep it, and are part of no wait once it is closed.
 * - Under churn the barrier starts over after every decrement, so a waiter
 *   whose threshold is below `registered` completes at the first
 *   `setImmediate` round in which nothing was decremented and no tracked
 *   fiber ran.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Scheduler from "effect/Scheduler"

/** The pool's counters this module reads. @internal */
export interface Counts {
  readonly active: number
  readonly registered: number
}

/** A region's task, as far as this module needs it. @internal */
export interface RegionTask {
  readonly fiber: Fiber.Fiber<unknown, unknown> | undefined
}

/** A waiting `awaitQuiescence` call. @internal */
export interface Waiter {
  readonly threshold: number
  readonly resume: (effect: Effect.Effect<void>) => void
}

/**
 * The scheduler of one `yieldQuiescent` region (one per entry): delegates to
 * the scheduler the region was entered with and, while the region is open,
 * tells its `Quiescence` about every step and every scheduled task. Fibers
 * forked in the region keep it for life; once the region has ended (`open`
 * false) they are part of no wait.
 *
 * @internal
 */
export class TrackedScheduler implements Scheduler.Scheduler {
  readonly executionMode: "sync" | "async"
  readonly inner: Scheduler.Scheduler
  readonly quiescence: Quiescence
  open = true
  private dispatcher: TrackedDispatcher | undefined = undefined

  constructor(inner: Scheduler.Scheduler, quiescence: Quiescence) {
    this.inner = inner
    this.quiescence = quiescence
    this.executionMode = inner.executionMode
  }

  shouldYield(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    if (this.open) this.quiescence.onTrackedStep()
    return this.inner.shouldYield(fiber)
  }

  /**
   * One dispatcher for every fiber of the region: tasks keep their order. It
   * wraps one dispatcher of the inner scheduler shared by every region
   * entered from it, so entering a region allocates little.
   */
  makeDispatcher(): Scheduler.SchedulerDispatcher {
    return (this.dispatcher ??= new TrackedDispatcher(this.quiescence.dispatcherOf(this.inner), this))
  }
}

class TrackedDispatcher implements Scheduler.SchedulerDispatcher {
  private readonly inner: Scheduler.SchedulerDispatcher
  private readonly scheduler: TrackedScheduler

  constructor(inner: Scheduler.SchedulerDispatcher, scheduler: TrackedScheduler) {
    this.inner = inner
    this.scheduler = scheduler
  }

  scheduleTask(task: () => void, priority: number): void {
    const quiescence = this.scheduler.quiescence
    // A dispatcher outlives the region it was taken in (a `Queue` keeps its
    // maker's): only what a fiber inside an open region schedules counts.
    const current = Fiber.getCurrent()
    if (!this.scheduler.open || current === undefined || !quiescence.tracks(current)) {
      return this.inner.scheduleTask(task, priority)
    }
    quiescence.pending++
    quiescence.onTrackedStep()
    this.inner.scheduleTask(() => {
      quiescence.pending--
      quiescence.onTrackedStep()
      task()
    }, priority)
  }

  flush(): void {
    this.inner.flush()
  }
}

/**
 * `fiber`'s context as a task registered from it should inherit it: without
 * the scheduler of a region the fiber may be in, since a task registered
 * from inside `yieldQuiescent` is not part of that wait.
 *
 * @internal
 */
export const registrationContext = (fiber: Fiber.Fiber<unknown, unknown>): Context.Context<never> => {
  const scheduler = fiber.cache.scheduler
  return scheduler instanceof TrackedScheduler
    ? Context.add(fiber.context, Scheduler.Scheduler, scheduler.inner)
    : fiber.context
}

interface Region {
  readonly scheduler: TrackedScheduler
  /** children the task's fiber had forked before it entered */
  readonly before: ReadonlySet<Fiber.Fiber<unknown, unknown>> | undefined
}

/**
 * The children a fiber forked (`forkChild`), as effect keeps them
 * (`FiberImpl._children`, not part of the `Fiber` interface); daemons are not
 * kept anywhere.
 */
const childrenOf = (
  fiber: Fiber.Fiber<unknown, unknown> | undefined
): ReadonlySet<Fiber.Fiber<unknown, unknown>> | undefined => (fiber as any)?._children

/** @internal */
export class Quiescence {
  /** tasks scheduled through a tracked dispatcher and not yet run */
  pending = 0
  private readonly waiters = new Set<Waiter>()
  private maxThreshold = -Infinity
  /**
   * tasks inside `yieldQuiescent`, each with its region's scheduler and the
   * children its fiber had forked before it entered (not part of the wait)
   */
  private readonly regions = new Map<RegionTask, Region>()
  private armed = false
  private dirty = false
  /** a poll is scheduled: the last barrier found an opaque region, which may end without a step */
  private polling = false
  private readonly barrierDispatcher = new Scheduler.MixedScheduler("async").makeDispatcher()

  private readonly counts: Counts
  /** queues a completed waiter's resumption until the pool's step is consistent */
  private readonly wake: (resume: (effect: Effect.Effect<void>) => void) => void
  /** resumes the queued waiters (the barrier runs outside any pool step) */
  private readonly flush: () => void

  constructor(
    counts: Counts,
    wake: (resume: (effect: Effect.Effect<void>) => void) => void,
    flush: () => void
  ) {
    this.counts = counts
    this.wake = wake
    this.flush = flush
  }

  private readonly innerDispatchers = new WeakMap<Scheduler.Scheduler, Scheduler.SchedulerDispatcher>()

  /** The dispatcher of `scheduler` that every region entered from it schedules through. */
  dispatcherOf(scheduler: Scheduler.Scheduler): Scheduler.SchedulerDispatcher {
    let dispatcher = this.innerDispatchers.get(scheduler)
    if (dispatcher === undefined) {
      dispatcher = scheduler.makeDispatcher()
      this.innerDispatchers.set(scheduler, dispatcher)
    }
    return dispatcher
  }

  /** The scheduler `task`'s region runs under (made by `enter`). */
  schedulerOf(task: RegionTask): TrackedScheduler {
    return this.regions.get(task)!.scheduler
  }

  /** Whether `fiber` runs under the scheduler of one of this tracker's open regions. */
  tracks(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    const scheduler = fiber.cache.scheduler
    return scheduler instanceof TrackedScheduler && scheduler.quiescence === this && scheduler.open
  }

  /**
   * A task enters `yieldQuiescent` from its body's fiber (the pool has already
   * decremented `active`): its region gets a scheduler of its own, wrapping
   * the one the fiber runs under now.
   */
  enter(task: RegionTask): void {
    const fiber = task.fiber!
    const ambient = fiber.cache.scheduler
    const inner = ambient instanceof TrackedScheduler ? ambient.inner : ambient
    const children = childrenOf(fiber)
    this.regions.set(task, {
      scheduler: new TrackedScheduler(inner, this),
      before: children === undefined || children.size === 0 ? undefined : new Set(children)
    })
    this.onDecrement()
  }

  /** A task leaves `yieldQuiescent` (or ends inside it); fibers its region forked are part of no wait. */
  leave(task: RegionTask): void {
    const region = this.regions.get(task)
    if (region === undefined) return
    region.scheduler.open = false
    this.regions.delete(task)
  }

  /**
   * After every decrement of `active` or `registered`: without regions the
   * count is exact and waiters whose threshold holds complete now; with
   * regions they need a barrier that starts after this decrement (a woken
   * region may still come back, or register tasks, before it suspends).
   */
  onDecrement(): void {
    if (this.waiters.size === 0) return
    const active = this.counts.active
    if (active > this.maxThreshold) return
    if (this.regions.size === 0) this.complete(active)
    else this.touch()
  }

  /**
   * A tracked fiber took a step or scheduled a task. When this arms the
   * barrier, the step itself has not run yet (`shouldYield` comes before the
   * operation), and what it does may go into a queue behind the barrier: so
   * the first barrier starts over.
   */
  onTrackedStep(): void {
    if (!this.armed && this.maxThreshold >= this.counts.active) this.arm()
    if (this.armed) this.dirty = true
  }

  /**
   * Registers a waiter, or completes it at once where that is exact: nobody
   * is in a region and the threshold holds, or the threshold is `Infinity`.
   * With a region, even `registered <= threshold` is not enough: a woken
   * region fiber may register tasks before it suspends. Returns the waiter,
   * or `undefined` when it completed.
   */
  add(threshold: number, resume: (effect: Effect.Effect<void>) => void): Waiter | undefined {
    const active = this.counts.active
    if (threshold === Infinity || (active <= threshold && this.regions.size === 0)) {
      resume(Effect.void)
      return undefined
    }
    const waiter: Waiter = { threshold, resume }
    this.waiters.add(waiter)
    if (threshold > this.maxThreshold) this.maxThreshold = threshold
    if (active <= threshold) this.touch()
    return waiter
  }

  remove(waiter: Waiter): void {
    if (!this.waiters.delete(waiter)) return
    if (this.waiters.size === 0) this.maxThreshold = -Infinity
  }

  get size(): number {
    return this.waiters.size
  }

  /** Something the barrier must see happened: arm one, or make the armed one start over. */
  private touch(): void {
    if (this.armed) this.dirty = true
    else this.arm()
  }

  private arm(): void {
    this.armed = true
    this.dirty = false
    this.barrierDispatcher.scheduleTask(this.barrier, 0)
  }

  private readonly barrier = (): void => {
    this.armed = false
    if (this.waiters.size === 0) return
    if (this.dirty || this.pending > 0) {
      this.arm()
      return
    }
    const opaque = this.opaqueRegions()
    this.complete(this.counts.active + opaque)
    // an opaque region can stop being opaque without a step this tracker sees
    // (a child under a scheduler of its own ends): look again a moment later
    if (opaque > 0 && this.maxThreshold >= this.counts.active) this.poll()
    this.flush()
  }

  private poll(): void {
    if (this.polling) return
    this.polling = true
    setTimeout(this.endPoll, 1)
  }

  private readonly endPoll = (): void => {
    this.polling = false
    if (this.waiters.size > 0 && this.maxThreshold >= this.counts.active) this.touch()
  }

  /**
   * Regions the tracked scheduler cannot see now (see the module comment):
   * the region's fiber, or a child it forked (and their children), runs under
   * another scheduler or under `PreventSchedulerYield`.
   */
  private opaqueRegions(): number {
    let opaque = 0
    for (const [task, region] of this.regions) {
      if (task.fiber !== undefined && this.opaque(task.fiber, region.before, 0)) opaque++
    }
    return opaque
  }

  private opaque(
    fiber: Fiber.Fiber<unknown, unknown>,
    skip: ReadonlySet<Fiber.Fiber<unknown, unknown>> | undefined,
    depth: number
  ): boolean {
    if (!this.tracks(fiber) || fiber.cache.preventYield) return true
    const children = childrenOf(fiber)
    if (children === undefined || depth > 64) return false
    for (const child of children) {
      if (skip?.has(child) !== true && this.opaque(child, undefined, depth + 1)) return true
    }
    return false
  }

  /** Completes every waiter whose threshold is at least `count`. */
  private complete(count: number): void {
    if (count > this.maxThreshold) return
    let max = -Infinity
    for (const waiter of this.waiters) {
      if (count <= waiter.threshold) {
        this.waiters.delete(waiter)
        this.wake(waiter.resume)
      } else if (waiter.threshold > max) {
        max = waiter.threshold
      }
    }
    this.maxThreshold = max
  }
}
