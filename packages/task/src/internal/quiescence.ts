/**
 * Quiescence: when `awaitQuiescence(t)` may complete. This module owns the
 * waiters, the scheduler and the tracer that watch fibers inside
 * `yieldQuiescent`, and the barrier that decides; the pool only reports its
 * counts and decrements.
 *
 * **The rule** (CONTRACT.md, "Quiescence hand-off"): a waiter completes only
 * at a moment when `active <= t` and no fiber inside `yieldQuiescent` is
 * runnable — each has suspended on something other than its own yield, and
 * every wake-up issued before the count last went down (or before the call),
 * or issued by a fiber inside `yieldQuiescent`, has reached its fiber.
 *
 * **Counters** (`active` is the pool's, read through `Counts`; the rest are this module's):
 * - `active` = the pool's `registered` (tasks registered and not finished) - `regions.size`
 * - `regions` = tasks whose body is inside `yieldQuiescent` (uncounted)
 * - `pending` = tasks that fibers of open regions scheduled through their
 *   region's dispatcher and that have not run yet
 * - `armed` = a barrier is scheduled; `dirty` = something happened since it
 *   was armed (a decrement, a new waiter, a region fiber stepped or scheduled)
 * - `unseen` (per region) = the region's fibers whose latest step ran under
 *   another scheduler
 *
 * **Invariants** (after every step):
 * - every waiter has `0 <= threshold < Infinity`, and `threshold < active`
 *   or `regions.size > 0` (without regions the count is exact, and a waiter
 *   whose threshold holds is completed in the same step)
 * - `maxThreshold` = the largest waiter threshold, `-Infinity` without waiters
 * - `maxThreshold >= active` and `regions.size > 0` imply `armed`, or the last
 *   barrier found an opaque region (see below) and a poll is scheduled
 *
 * **Why it is exact.** Inside `yieldQuiescent` the task's fiber runs under a
 * scheduler and a tracer of the region's own (`TrackedScheduler`,
 * `RegionTracer` in `region.ts`, provided for the region, so every fiber
 * forked there — children and daemons alike — inherits them). Effect 4.1 calls the tracer's
 * `context` around every operation of a fiber, whatever its scheduler and
 * under `PreventSchedulerYield` too, consults the fiber's scheduler at every
 * operation (`shouldYield`) and for every yield, and a wake-up issued by a
 * region fiber through its own dispatcher (`Latch.open`, a Semaphore
 * release, `Queue.offer` to a queue made in the region) is a tracked task.
 * So every step a region fiber takes is seen (`dirty`), and every task it
 * schedules through the region's dispatcher is counted (`pending`).
 * What the tracker cannot see is a wake-up for a region fiber issued through
 * somebody else's dispatcher (a counted task opening a `Latch`, a `Queue`
 * made outside the region) or resumed inline (`Deferred`, promises, timers).
 * Inline resumes run inside the waker's step, before its decrement. The
 * others sit in a scheduler queue: the barrier runs on `setImmediate`, which
 * comes after every microtask and every `setImmediate` queued before it, and
 * Effect's `MixedScheduler` dispatchers run on exactly those, first in, first
 * out. A barrier armed after the last decrement and after the waiter's call
 * therefore runs after every such wake-up has reached its fiber; if that
 * fiber then ran, the region's tracer saw it and marked the barrier `dirty`.
 * The barrier completes waiters only when it finds nothing `dirty` and
 * nothing `pending`: at that moment every fiber inside a region has
 * suspended on something other than its own yield.
 *
 * **Where it cannot see, it waits.** A region fiber whose latest step ran
 * under another scheduler (one the user provided) may be runnable in a queue
 * the tracker does not know: it is `unseen` until it steps under the
 * region's scheduler again or ends (its exit is observed), and while a
 * region has an unseen fiber, or the region's own fiber runs under a tracer
 * of the user's own with `PreventSchedulerYield`, the barrier counts that
 * task as active. A waiter it could affect waits until then (and the barrier
 * looks again after 1 ms, doubling up to 128 ms, as a safety net). Not seen
 * at all: a forked fiber that replaces the tracer itself and also skips
 * `shouldYield` or runs under another scheduler; and what a user scheduler
 * still holds in its queue after its fiber stepped back under the region's
 * scheduler or ended — a scheduler provided inside a region must run its
 * tasks no later than the next `setImmediate` turn, like the ambient one
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
 * - Under churn the barrier starts over after every decrement, so a waiter
 *   whose threshold is below `registered` completes at the first
 *   `setImmediate` round in which nothing was decremented and no tracked
 *   fiber ran.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Scheduler from "effect/Scheduler"
import * as Tracer from "effect/Tracer"
import { type Region, type RegionObserver, RegionTracer, TrackedScheduler } from "./region.ts"

/** The pool's counters this module reads. @internal */
export interface Counts {
  readonly active: number
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

/** @internal */
export class Quiescence implements RegionObserver {
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

  /**
   * Waits until `active <= threshold` under the hand-off rule. The check and
   * the registration are one step, inside the callback's registration.
   */
  await(threshold: number): Effect.Effect<void> {
    if (threshold < 0) return Effect.never
    return Effect.callback<void>((resume) => {
      const waiter = this.add(threshold, resume)
      if (waiter === undefined) return
      return Effect.sync(() => this.remove(waiter))
    })
  }

  /** `task`'s region (made by `enter`). */
  regionOf(task: RegionTask): Region {
    return this.regions.get(task)!
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
    const ambientTracer = fiber.cache.tracer ?? Tracer.nativeTracer
    const region: {
      scheduler: TrackedScheduler
      tracer: RegionTracer
      unseen: Map<Fiber.Fiber<unknown, unknown>, () => void>
    } = {
      scheduler: new TrackedScheduler(ambient instanceof TrackedScheduler ? ambient.inner : ambient, this),
      tracer: undefined as unknown as RegionTracer,
      unseen: new Map()
    }
    region.tracer = new RegionTracer(
      ambientTracer instanceof RegionTracer ? ambientTracer.inner : ambientTracer,
      region
    )
    this.regions.set(task, region)
    this.onDecrement()
  }

  /**
   * A fiber of an open region took a step (seen by the region's tracer). A
   * step under another scheduler marks the fiber unseen: what it schedules
   * there, and when, is out of sight, so the region counts as active until
   * the fiber steps under the region's scheduler again or ends.
   */
  onRegionStep(fiber: Fiber.Fiber<unknown, unknown>, region: Region): void {
    this.onTrackedStep()
    if (fiber.cache.scheduler !== region.scheduler) {
      if (!region.unseen.has(fiber)) {
        region.unseen.set(
          fiber,
          fiber.addObserver(() => {
            if (region.unseen.delete(fiber)) this.touchIfWaiting()
          })
        )
      }
    } else if (region.unseen.size > 0) {
      // back under the region's scheduler: seen again
      const removeObserver = region.unseen.get(fiber)
      if (removeObserver !== undefined) {
        region.unseen.delete(fiber)
        removeObserver()
      }
    }
  }

  private touchIfWaiting(): void {
    if (this.waiters.size > 0 && this.maxThreshold >= this.counts.active) this.touch()
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
    if (opaque === 0) this.pollDelay = 1
    this.complete(this.counts.active + opaque)
    // an opaque region can stop being opaque without a step this tracker sees
    // (a child under a scheduler of its own ends): look again a moment later
    if (opaque > 0 && this.maxThreshold >= this.counts.active) this.poll()
    this.flush()
  }

  /** the next poll's delay: 1 ms, doubling up to 128 ms while the same regions stay opaque */
  private pollDelay = 1

  private poll(): void {
    if (this.polling) return
    this.polling = true
    setTimeout(this.endPoll, this.pollDelay)
    this.pollDelay = Math.min(this.pollDelay * 2, 128)
  }

  private readonly endPoll = (): void => {
    this.polling = false
    this.touchIfWaiting()
  }

  /**
   * Regions the tracker cannot see now (see the module comment): a fiber of
   * the region is unseen (its latest step ran under another scheduler), or
   * the region's own fiber runs under a tracer of the user's own and skips
   * `shouldYield` (`PreventSchedulerYield`), so none of its steps are seen.
   */
  private opaqueRegions(): number {
    let opaque = 0
    for (const [task, region] of this.regions) {
      const fiber = task.fiber
      // a tracer of the user's own hides steps only from a fiber that also skips `shouldYield`
      const hidden = fiber !== undefined && fiber.cache.tracer !== region.tracer && fiber.cache.preventYield
      if (region.unseen.size > 0 || hidden) opaque++
    }
    return opaque
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
