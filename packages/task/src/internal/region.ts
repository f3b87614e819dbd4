/**
 * Regions: what watches the fibers inside one `yieldQuiescent` entry. Each
 * entry gets a scheduler (`TrackedScheduler`) and a tracer (`RegionTracer`)
 * of its own, provided to the task's fiber for the region and inherited by
 * every fiber forked there. They report to a `RegionObserver` (the service's
 * `Quiescence`, which decides; see `quiescence.ts` for the rule and why
 * these reports make it exact):
 *
 * - every step of a region fiber, whatever its scheduler and under
 *   `PreventSchedulerYield` too (the tracer's `context` wraps each operation),
 *   with the scheduler it ran under (`onRegionStep`);
 * - every `shouldYield` consultation under the region's scheduler
 *   (`onTrackedStep`);
 * - every task a fiber of an open region schedules through the region's
 *   dispatcher: `pending` goes up when it is scheduled, down when it runs.
 *
 * Invariants (per region, after every step):
 * - `scheduler.open` exactly while the region's task is inside the
 *   `yieldQuiescent` it entered; once closed the scheduler and tracer only
 *   delegate (fibers that outlive the region keep them, and are part of no
 *   wait)
 * - the observer's `pending` = tasks scheduled by fibers of open regions
 *   through their region's dispatcher that have not run yet
 *
 * **Gotchas**
 * - A dispatcher outlives its region (a `Queue` keeps the dispatcher of the
 *   fiber that made it), so a tracked dispatcher counts only what fibers
 *   inside a region schedule through it (`Fiber.getCurrent()`).
 * - Inside a region, `Effect.tracer` is the `RegionTracer`, not the tracer
 *   it wraps (`=== Tracer.nativeTracer` checks read false there), and a
 *   context captured inside a region keeps the region's tracer and
 *   scheduler, which cost one extra call per operation after the region
 *   has closed (they no longer track anything).
 * - Every region entry gets a scheduler of its own (`TrackedScheduler`,
 *   `open` while the region lasts): fibers forked inside a region that
 *   outlive it keep it, and are part of no wait once it is closed.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Fiber from "effect/Fiber"
import * as Scheduler from "effect/Scheduler"
import * as Tracer from "effect/Tracer"
import { addService } from "./contextAdd.ts"

/**
 * What regions report to: the service's `Quiescence`.
 *
 * @internal
 */
export interface RegionObserver {
  /** tasks scheduled through a tracked dispatcher and not yet run */
  pending: number
  /** a region fiber consulted its scheduler, or scheduled or ran a tracked task */
  onTrackedStep(): void
  /** a fiber of `region` took a step (under whatever scheduler `fiber.cache.scheduler` is) */
  onRegionStep(fiber: Fiber.Fiber<unknown, unknown>, region: Region): void
  /** whether `fiber` runs under the scheduler of one of this observer's open regions */
  tracks(fiber: Fiber.Fiber<unknown, unknown>): boolean
  /** the dispatcher of `scheduler` that every region entered from it schedules through */
  dispatcherOf(scheduler: Scheduler.Scheduler): Scheduler.SchedulerDispatcher
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
  readonly quiescence: RegionObserver
  open = true
  private dispatcher: TrackedDispatcher | undefined = undefined

  constructor(inner: Scheduler.Scheduler, quiescence: RegionObserver) {
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

/** The key effect's run loop evaluates a primitive with (`Tracer.EffectPrimitive`). */
const evaluate = "~effect/Effect/evaluate"

/**
 * The tracer of one region: delegates spans to the tracer the region was
 * entered with, and sees every step of every fiber that inherits the
 * region's context (`Tracer.context` wraps each operation), whatever its
 * scheduler and under `PreventSchedulerYield` too. A step taken under
 * another scheduler marks the fiber unseen until it steps under the
 * region's scheduler again or ends.
 *
 * @internal
 */
export class RegionTracer implements Tracer.Tracer {
  readonly inner: Tracer.Tracer
  private readonly region: Region
  private readonly innerContext: Tracer.Tracer["context"]

  constructor(inner: Tracer.Tracer, region: Region) {
    this.inner = inner
    this.region = region
    this.innerContext = inner.context
  }

  span(options: Parameters<Tracer.Tracer["span"]>[0]): Tracer.Span {
    return this.inner.span(options)
  }

  // called unbound by the run loop (`cache.tracerContext(primitive, fiber)`)
  readonly context = <X>(primitive: Tracer.EffectPrimitive<X>, fiber: Fiber.Fiber<any, any>): X => {
    const region = this.region
    if (region.scheduler.open) region.scheduler.quiescence.onRegionStep(fiber, region)
    const inner = this.innerContext
    return inner !== undefined ? inner(primitive, fiber) : primitive[evaluate](fiber)
  }
}

/**
 * `fiber`'s context as a task registered from it should inherit it: without
 * the scheduler and tracer of a region the fiber may be in, since a task
 * registered from inside `yieldQuiescent` is not part of that wait.
 *
 * @internal
 */
export const registrationContext = (fiber: Fiber.Fiber<unknown, unknown>): Context.Context<never> => {
  const scheduler = fiber.cache.scheduler
  const tracer = fiber.cache.tracer
  let context = fiber.context
  if (scheduler instanceof TrackedScheduler) context = Context.add(context, Scheduler.Scheduler, scheduler.inner)
  if (tracer instanceof RegionTracer) context = Context.add(context, Tracer.Tracer, tracer.inner)
  return context
}

/** What a region entry provides to its fiber: its scheduler and its tracer. @internal */
export const regionContext = (region: Region) => <R>(context: Context.Context<R>): Context.Context<R> =>
  addService(addService(context, Scheduler.Scheduler, region.scheduler), Tracer.Tracer, region.tracer)

/** One entry into `yieldQuiescent`. @internal */
export interface Region {
  readonly scheduler: TrackedScheduler
  readonly tracer: RegionTracer
  /** fibers of the region whose latest step ran under another scheduler, with the remover of their exit observer */
  readonly unseen: Map<Fiber.Fiber<unknown, unknown>, () => void>
}
