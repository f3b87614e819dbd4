/**
 * Hand-off building blocks for the hand-off tests (`TaskService.handoff/`): every kind of wake-up a
 * link can use, continuations a woken waiter runs before it leaves
 * `yieldQuiescent`, and a chain of tasks built from them.
 */
import { Deferred, Effect, Fiber, Latch, Queue, Scheduler, Stream } from "effect"
import type { TaskServiceShape } from "effect-task"
import { yieldTimes } from "./waits.ts"

/** A one-shot wake-up: `wait` completes after `fire` ran. */
export interface Link {
  readonly fire: Effect.Effect<void>
  readonly wait: Effect.Effect<void>
}

/** Every way a link can wake its waiter; made on the calling fiber (queues belong to it). */
export const linkKinds = {
  Deferred: Effect.map(Deferred.make<void>(), (d): Link => ({
    fire: Effect.asVoid(Deferred.succeed(d, undefined)),
    wait: Deferred.await(d)
  })),
  Latch: Effect.map(Latch.make(false), (latch): Link => ({ fire: Effect.asVoid(latch.open), wait: latch.await })),
  Queue: Effect.map(Queue.unbounded<number>(), (q): Link => ({
    fire: Effect.asVoid(Queue.offer(q, 1)),
    wait: Effect.asVoid(Queue.take(q))
  })),
  promise: Effect.sync((): Link => {
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    return { fire: Effect.sync(() => resolve()), wait: Effect.promise(async () => await promise) }
  }),
  Stream: Effect.map(Queue.unbounded<number>(), (q): Link => ({
    fire: Effect.asVoid(Queue.offer(q, 1)),
    wait: Stream.fromQueue(q).pipe(Stream.take(1), Stream.runDrain)
  })),
  "Stream, concurrent stage": Effect.map(Queue.unbounded<number>(), (q): Link => ({
    fire: Effect.asVoid(Queue.offer(q, 1)),
    wait: Stream.fromQueue(q).pipe(
      Stream.mapEffect((n) => Effect.as(Effect.yieldNow, n), { concurrency: 4 }),
      Stream.take(1),
      Stream.runDrain
    )
  })),
  "Latch after sleep(0)": Effect.map(Latch.make(false), (latch): Link => ({
    // the waker sleeps while it is still counted, then opens the latch
    fire: Effect.andThen(Effect.sleep(0), Effect.asVoid(latch.open)),
    wait: latch.await
  }))
} as const satisfies Record<string, Effect.Effect<Link>>

export type LinkKind = keyof typeof linkKinds

/** What a woken waiter does before it leaves `yieldQuiescent`. */
export const continuations = {
  nothing: Effect.void,
  "3 yieldNow": yieldTimes(3),
  "50 yieldNow": yieldTimes(50),
  "an auto-yielding loop": Effect.forEach(Array.from({ length: 5000 }), () => Effect.void, { discard: true }),
  "an auto-yielding loop, MaxOpsBeforeYield 16": Effect.provideService(
    Effect.forEach(Array.from({ length: 200 }), () => Effect.sync(() => 1), { discard: true }),
    Scheduler.MaxOpsBeforeYield,
    16
  ),
  "a forked child it joins": Effect.flatMap(Effect.forkChild(yieldTimes(5)), Fiber.join),
  "an interrupt handler that yields": Effect.race(
    Effect.yieldNow,
    Effect.onInterrupt(Effect.never, () => yieldTimes(5))
  ),
  "Effect.forEach with concurrency": Effect.forEach([1, 2, 3, 4], () => yieldTimes(2), {
    concurrency: 2,
    discard: true
  })
} as const satisfies Record<string, Effect.Effect<void>>

export type ContinuationName = keyof typeof continuations

export interface Chain {
  /** tasks that have finished their body */
  readonly finished: () => number
  readonly size: number
}

/**
 * Registers a chain of `kinds.length + 1` tasks on `tasks`; returns at once.
 * Dependents are registered first, so they wait before the source fires.
 */
export const registerChain = (
  tasks: TaskServiceShape,
  kinds: ReadonlyArray<LinkKind>,
  continuation: Effect.Effect<void>
): Effect.Effect<Chain> =>
  Effect.gen(function*() {
    const links: Array<Link> = []
    for (const kind of kinds) links.push(yield* linkKinds[kind])
    let finished = 0
    const done = Effect.sync(() => void finished++)
    for (let i = 1; i <= links.length; i++) {
      const next = links[i]?.fire ?? Effect.void
      yield* tasks.go(
        `link ${i}`,
        tasks.yieldQuiescent(Effect.andThen(links[i - 1]!.wait, continuation)).pipe(
          Effect.andThen(next),
          Effect.andThen(done)
        )
      )
    }
    yield* tasks.go("link 0", Effect.andThen(links[0]!.fire, done))
    return { finished: () => finished, size: links.length + 1 }
  })

/** mulberry32: a small, fast, seedable generator. */
export const random = (seed: number) => {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number): number => Math.floor(next() * n),
    pick: <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
  }
}
