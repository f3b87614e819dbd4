/**
 * Hostile schedulers for the wait and hand-over tests; not a test file.
 *
 * - `timeSlicing(ms)`: a fiber yields once it has run for `ms` of real time
 *   in one turn (and so may yield before its first step when a turn is long);
 * - `yieldFirst`: every fiber yields before its first step;
 * - `randomOrder(seed)`: tasks scheduled in one turn run in a seeded random
 *   order, not first in, first out.
 *
 * Each runs every task it is given: none starves, only the order and the
 * yield points change.
 */
import { Effect, Exit, type Fiber, type Scheduler } from "effect"
import { random } from "./handoff.ts"

/** A dispatcher that runs its queue on `setImmediate`, in the order `order` gives. */
class Dispatcher implements Scheduler.SchedulerDispatcher {
  private tasks: Array<() => void> = []
  private scheduled = false
  private readonly order: (tasks: Array<() => void>) => Array<() => void>
  private readonly onTurn: () => void

  constructor(order: (tasks: Array<() => void>) => Array<() => void>, onTurn: () => void) {
    this.order = order
    this.onTurn = onTurn
  }

  scheduleTask(task: () => void): void {
    this.tasks.push(task)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.run)
    }
  }

  private readonly run = (): void => {
    this.scheduled = false
    const tasks = this.order(this.tasks)
    this.tasks = []
    for (const task of tasks) {
      this.onTurn()
      task()
    }
  }

  flush(): void {
    while (this.tasks.length > 0) this.run()
  }
}

/** Yields once a fiber has run `ms` of real time since its turn began. */
export const timeSlicing = (ms: number): Scheduler.Scheduler => {
  let turnStart = performance.now()
  const onTurn = () => void (turnStart = performance.now())
  return {
    executionMode: "async",
    shouldYield: (fiber) => fiber.currentOpCount >= 2048 || performance.now() - turnStart > ms,
    makeDispatcher: () => new Dispatcher((tasks) => tasks, onTurn)
  }
}

/** Every fiber yields before its first step (and then at the default op budget). */
export const yieldFirst: Scheduler.Scheduler = (() => {
  const started = new WeakSet<Fiber.Fiber<unknown, unknown>>()
  return {
    executionMode: "async",
    shouldYield: (fiber) => {
      if (!started.has(fiber)) {
        started.add(fiber)
        return true
      }
      return fiber.currentOpCount >= 2048
    },
    makeDispatcher: () => new Dispatcher((tasks) => tasks, () => {})
  }
})()

/** Runs each turn's tasks in a random order drawn from `seed`. */
export const randomOrder = (seed: number, maxOps = 2048): Scheduler.Scheduler => {
  const rng = random(seed)
  const shuffle = (tasks: Array<() => void>) => {
    for (let i = tasks.length - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      const t = tasks[i]!
      tasks[i] = tasks[j]!
      tasks[j] = t
    }
    return tasks
  }
  // one dispatcher for every fiber, so that tasks of different fibers are shuffled together
  const dispatcher = new Dispatcher(shuffle, () => {})
  return {
    executionMode: "async",
    shouldYield: (fiber) => fiber.currentOpCount >= maxOps,
    makeDispatcher: () => dispatcher
  }
}

/**
 * Runs `effect` in its own runtime under `scheduler` (everything: the layer
 * build, the service's own dispatcher, every fiber) with a real-time watchdog.
 */
export const runUnder = <A, E>(
  scheduler: Scheduler.Scheduler | undefined,
  effect: Effect.Effect<A, E>,
  watchdogMillis = 4_000
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const fiber = Effect.runFork(effect, scheduler === undefined ? undefined : { scheduler })
    const timer = setTimeout(() => {
      fiber.interruptUnsafe()
      reject(new Error(`did not finish within ${watchdogMillis} ms of real time (a lost wake-up or a stranded task)`))
    }, watchdogMillis)
    fiber.addObserver((exit) => {
      clearTimeout(timer)
      if (Exit.isSuccess(exit)) resolve(exit.value)
      else reject(exit.cause)
    })
  })
