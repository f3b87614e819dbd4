/**
 * SOAK TEST — not part of the unit suite; uses real time.
 *
 * Pushes many tasks (default 1,000,000) through a bounded service (default
 * bound 16): 1% of the bodies die, 1% are interrupted from outside while they
 * wait inside `yieldSlot`, about a quarter nest `yieldSlot`/`yieldQuiescent`,
 * and 5% go through a `Coalescer` on 100 keys. The tasks are split over
 * rounds (default 5); after each round it checks the invariants and measures
 * the heap after GC, which must stay within 10% of its value after a warm-up
 * round (no leak per task).
 *
 * Build and run: `pnpm soak` (= `tsc -b packages/task/tsconfig.soak.json &&
 * node --expose-gc packages/task/dist-soak/soak.js`), with options
 * `--tasks N --rounds N --bound N`. Prints a short report; exits non-zero on
 * a violation.
 */
import { Context, Effect, Exit, Fiber, Latch, Layer, References, Scope } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { parseArgs } from "node:util"

interface Options {
  readonly tasks: number
  readonly rounds: number
  readonly bound: number
}

/**
 * Parses `--tasks N --rounds N --bound N` (also `--tasks=N`) strictly; throws
 * a one-line error for an unknown flag, a stray argument or a value that is
 * not a positive integer.
 */
export const parseOptions = (argv: ReadonlyArray<string>): Options => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: { tasks: { type: "string" }, rounds: { type: "string" }, bound: { type: "string" } }
  })
  const positive = (name: keyof Options, fallback: number): number => {
    const text = values[name]
    if (text === undefined) return fallback
    const value = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
      throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`)
    }
    return value
  }
  return { tasks: positive("tasks", 1_000_000), rounds: positive("rounds", 5), bound: positive("bound", 16) }
}

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run with node --expose-gc")
  collect()
}

/** a full collection, a few times with a macrotask in between (finalizers, weak references) */
const heapAfterGc = Effect.gen(function*() {
  for (let i = 0; i < 4; i++) {
    gc()
    yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
  }
  return process.memoryUsage().heapUsed
})

/** A small deterministic PRNG (mulberry32), so a run is repeatable. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6D2B79F5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`

const main = (options: Options) =>
  Effect.gen(function*() {
    const violations: Array<string> = []
    const violation = (message: string) => {
      if (violations.length < 20) violations.push(message)
    }
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(TaskService.layerBounded(options.bound), scope)
    const tasks = Context.get(context, TaskService)
    const coalescer = yield* Coalescer.make<number>().pipe(Effect.provide(context))
    const random = prng(0x5eed)

    // what the soak tracks itself
    let running = 0
    let high = 0
    let expectedFailures = 0
    let bodiesRun = 0
    let interruptedByUs = 0
    const victims: Array<Fiber.Fiber<unknown, unknown>> = []

    const enter = () => {
      running++
      if (running > high) high = running
      if (running > options.bound) violation(`${running} bodies hold a slot, bound ${options.bound}`)
    }
    const exit = () => {
      running--
    }
    /** a yield that keeps `running` conservative: leave before the release, come back after the re-take */
    const yielding = <A, E>(kind: "slot" | "quiescent", self: Effect.Effect<A, E>) =>
      Effect.suspend(() => {
        exit()
        return Effect.flatMap(
          Effect.exit(kind === "slot" ? tasks.yieldSlot(self) : tasks.yieldQuiescent(self)),
          (result) =>
            Effect.suspend(() => {
              enter()
              return result
            })
        )
      })
    const tracked = <A, E>(self: Effect.Effect<A, E>) =>
      Effect.suspend(() => {
        bodiesRun++
        enter()
        let holding = true
        return self.pipe(
          Effect.ensuring(Effect.sync(() => {
            if (holding) exit()
            holding = false
          }))
        )
      })

    const makeBody = (r: number): Effect.Effect<void> => {
      if (r < 0.01) {
        return tracked(Effect.suspend(() => {
          expectedFailures++
          return Effect.die(new Error("soak defect"))
        }))
      }
      if (r < 0.02) {
        // interrupted from outside while it waits inside yieldSlot: it does not hold its slot
        return Effect.withFiber((fiber) => {
          bodiesRun++
          victims.push(fiber)
          return tasks.yieldSlot(Effect.never)
        })
      }
      if (r < 0.12) return tracked(yielding("slot", yielding("quiescent", Effect.yieldNow)))
      if (r < 0.22) return tracked(yielding("quiescent", yielding("slot", Effect.yieldNow)))
      if (r < 0.27) return tracked(Effect.andThen(yielding("slot", Effect.void), Effect.yieldNow))
      return tracked(Effect.void)
    }

    // interrupts the victims as they come; runs for the whole soak
    const interrupter = yield* Effect.forkChild(Effect.forever(Effect.suspend(() => {
      const batch = victims.splice(0, victims.length)
      interruptedByUs += batch.length
      return Effect.andThen(Effect.forEach(batch, Fiber.interrupt, { discard: true }), Effect.sleep("1 millis"))
    })))

    const pushRound = (count: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < count; i++) {
          const r = random()
          if (r > 0.95) {
            yield* coalescer.submit("coalesced", Math.floor(random() * 100), makeBody(random()))
          } else {
            yield* tasks.go("soak", makeBody(r))
          }
          // bound the backlog of parked tasks
          if (i % 5_000 === 4_999) yield* tasks.awaitQuiescence(2_000)
        }
        yield* tasks.blockTillDone
      })

    const checkIdle = (where: string) =>
      Effect.gen(function*() {
        const active = yield* tasks.activeCount
        const registered = (yield* tasks.snapshot).length
        const failures = yield* tasks.failures
        const size = yield* coalescer.size
        if (active !== 0) violation(`${where}: activeCount ${active}`)
        if (registered !== 0) violation(`${where}: ${registered} tasks still registered`)
        if (failures !== expectedFailures) violation(`${where}: failures ${failures}, expected ${expectedFailures}`)
        if (size !== 0) violation(`${where}: coalescer size ${size}`)
        if (running !== 0) violation(`${where}: ${running} bodies still counted as holding a slot`)
      })

    /** no slot leaked: `bound` gated tasks all start, one more does not */
    const checkSlots = (where: string) =>
      Effect.gen(function*() {
        const gate = yield* Latch.make(false)
        let started = 0
        for (let i = 0; i <= options.bound; i++) {
          yield* tasks.go("slot-probe", Effect.andThen(Effect.sync(() => started++), gate.await))
        }
        for (let i = 0; i < 100 && started < options.bound; i++) yield* Effect.sleep("1 millis")
        yield* Effect.sleep("5 millis")
        if (started !== options.bound) violation(`${where}: ${started} of ${options.bound + 1} gated tasks started`)
        yield* gate.open
        yield* tasks.blockTillDone
      })

    const perRound = Math.ceil(options.tasks / options.rounds)
    const started = Date.now()
    // warm-up (JIT, effect internals, the pool's arrays at their working size), then the baseline
    yield* pushRound(Math.min(perRound, 20_000))
    yield* checkIdle("warm-up")
    const baseline = yield* heapAfterGc
    const heaps: Array<number> = []
    let pushed = 0
    for (let round = 1; round <= options.rounds; round++) {
      const count = Math.min(perRound, options.tasks - pushed)
      const t0 = Date.now()
      yield* pushRound(count)
      pushed += count
      yield* checkIdle(`round ${round}`)
      yield* checkSlots(`round ${round}`)
      const heap = yield* heapAfterGc
      heaps.push(heap)
      const growth = (heap - baseline) / baseline
      console.log(
        `round ${round}/${options.rounds}: ${count} tasks in ${Date.now() - t0} ms, heap after gc ${mb(heap)} (${
          growth >= 0 ? "+" : ""
        }${(growth * 100).toFixed(1)}%)`
      )
      if (growth > 0.1) violation(`round ${round}: heap after gc ${mb(heap)} is more than 10% above ${mb(baseline)}`)
    }
    yield* Fiber.interrupt(interrupter)
    if (victims.length > 0) violation(`${victims.length} victims never interrupted`)
    yield* Scope.close(scope, Exit.void)
    if ((yield* tasks.activeCount) !== 0) violation("activeCount after shutdown")

    console.log(
      [
        `soak: ${pushed} tasks (+ warm-up), bound ${options.bound}, ${options.rounds} rounds, ${
          Date.now() - started
        } ms`,
        `  bodies run ${bodiesRun}, defects ${expectedFailures} (failures counted ${yield* tasks
          .failures}), interrupted ${interruptedByUs}`,
        `  high-water ${high} / ${options.bound}; heap baseline ${mb(baseline)}, max ${mb(Math.max(...heaps))}`,
        violations.length === 0 ? "  OK: every invariant held" : `  VIOLATIONS:\n    ${violations.join("\n    ")}`
      ].join("\n")
    )
    return violations.length === 0
  }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))

const options = ((): Options => {
  try {
    return parseOptions(process.argv.slice(2))
  } catch (error) {
    console.error(
      `soak: ${
        error instanceof Error ? error.message : String(error)
      }; usage: soak.js [--tasks N] [--rounds N] [--bound N]`
    )
    process.exit(2)
  }
})()
Effect.runPromise(main(options)).then(
  (ok) => {
    process.exitCode = ok ? 0 : 1
  },
  (error) => {
    console.error("soak: crashed", error)
    process.exitCode = 2
  }
)
