import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Latch, Option, Scope, Stream, type Tracer } from "effect"
import { Coalescer, TaskService } from "effect-task"
import { illegalArgument, isDone } from "./helpers/exits.ts"
import { Gauge, tracked, untilStarted } from "./helpers/gauge.ts"
import { ownedService } from "./helpers/service.ts"
import { settle, until, untilState, yieldTimes } from "./helpers/waits.ts"

class Greeter extends Context.Service<Greeter, {
  readonly greet: (name: string) => string
}>()("effect-task/test/Greeter") {}

const Tenant = Context.Reference<string>("effect-task/test/Tenant", { defaultValue: () => "default-tenant" })

const parentOf = (span: Tracer.AnySpan): string =>
  span._tag === "Span" ? Option.match(span.parent, { onNone: () => "none", onSome: (p) => p.spanId }) : "none"

const ancestry = (span: Tracer.AnySpan): Array<string> => {
  const out: Array<string> = []
  let current: Tracer.AnySpan | undefined = span
  while (current !== undefined) {
    out.push(current.spanId)
    current = current._tag === "Span" ? Option.getOrUndefined(current.parent) : undefined
  }
  return out
}

describe("TaskService shutdown", () => {
  it.effect("closing the scope interrupts running and parked tasks, runs finalizers, ends at 0", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(2))
      const events: Array<string> = []
      const gauge = new Gauge()
      const running = (name: string) =>
        tracked(
          gauge,
          name,
          Effect.never.pipe(
            Effect.onInterrupt(() =>
              // a finalizer that needs a scheduler round: close must wait for it
              Effect.andThen(Effect.yieldNow, Effect.sync(() => events.push(`${name} finalized`)))
            )
          )
        )
      yield* tasks.go("r1", running("r1"))
      yield* tasks.go("quiescent", tasks.yieldQuiescent(running("quiescent")))
      yield* tasks.go("r2", running("r2"))
      yield* tasks.go("p1", tracked(gauge, "p1", Effect.sync(() => events.push("p1 ran"))))
      yield* tasks.go("p2", tracked(gauge, "p2", Effect.sync(() => events.push("p2 ran"))))
      yield* untilStarted(gauge, 3)
      yield* settle // and no more
      assert.deepStrictEqual(gauge.starts, ["r1", "quiescent", "r2"])
      assert.strictEqual(yield* tasks.activeCount, 4)
      let subscribed = false
      const changes = yield* Effect.forkChild(
        Stream.runCollect(tasks.activeChanges.pipe(Stream.tap(() => Effect.sync(() => (subscribed = true)))))
      )
      yield* until("the activeChanges subscriber has the current count", () => subscribed)

      yield* Scope.close(scope, Exit.void)

      assert.deepStrictEqual(events.toSorted(), ["quiescent finalized", "r1 finalized", "r2 finalized"])
      assert.strictEqual(gauge.running, 0)
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.strictEqual(yield* tasks.failures, 0)
      assert.deepStrictEqual(yield* tasks.snapshot, [])
      // the change stream ends; each step of the count went down by one
      const seen = yield* Fiber.join(changes)
      assert.strictEqual(seen[0], 4)
      assert.strictEqual(seen[seen.length - 1], 0)
      for (let i = 1; i < seen.length; i++) assert.strictEqual(Math.abs(seen[i]! - seen[i - 1]!), 1)
    }))

  it.effect("closing the scope drops a task granted a slot but not started yet, and one waiting to get its slot back", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(1))
      const events: Array<string> = []
      const inner = yield* Latch.make(false)
      yield* tasks.go(
        "requeued",
        Effect.andThen(tasks.yieldSlot(inner.await), Effect.sync(() => events.push("requeued came back")))
      )
      yield* untilState(tasks, "requeued", "yielded-slot")
      yield* tasks.go("holder", Effect.andThen(Effect.sync(() => events.push("holder ran")), Effect.never))
      yield* until("holder has run", () => events.includes("holder ran"))
      yield* inner.open
      yield* untilState(tasks, "requeued", "parked")
      yield* settle // requeued must not come back while holder holds the slot
      assert.deepStrictEqual(events, ["holder ran"])
      assert.strictEqual(yield* tasks.activeCount, 2)
      assert.deepStrictEqual((yield* tasks.snapshot).map((task) => [task.name, task.state]), [
        ["requeued", "parked"],
        ["holder", "running"]
      ])
      yield* Scope.close(scope, Exit.void)
      yield* settle // nothing dropped may run late
      assert.deepStrictEqual(events, ["holder ran"])
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.deepStrictEqual(yield* tasks.snapshot, [])

      // a task registered and granted a slot in the same step as the close never starts
      const second = yield* ownedService(TaskService.layerBounded(1))
      yield* second.tasks.go("granted", Effect.sync(() => events.push("granted ran")))
      yield* Scope.close(second.scope, Exit.void)
      yield* settle // the granted task must not start late
      assert.deepStrictEqual(events, ["holder ran"])
      assert.strictEqual(yield* second.tasks.activeCount, 0)
      assert.strictEqual(yield* second.tasks.failures, 0)
    }))

  it.effect("after shutdown go registers nothing and the body never runs", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(2))
      yield* Scope.close(scope, Exit.void)
      const events: Array<string> = []
      yield* tasks.go("late", Effect.sync(() => events.push("late ran")))
      assert.strictEqual(yield* tasks.activeCount, 0)
      yield* settle // the late body must never run
      assert.deepStrictEqual(events, [])
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.deepStrictEqual(yield* tasks.snapshot, [])
      // the waits complete at once on the closed, idle service
      const done = yield* Effect.forkChild(tasks.blockTillDone, { startImmediately: true })
      const quiet = yield* Effect.forkChild(tasks.awaitQuiescence(0), { startImmediately: true })
      assert.isTrue(isDone(done))
      assert.isTrue(isDone(quiet))
      // a late subscriber gets the current count and the end of the stream
      assert.deepStrictEqual(yield* Stream.runCollect(tasks.activeChanges), [0])
    }))

  it.effect("a body that registers a task while the service shuts down does not start it", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(2))
      const events: Array<string> = []
      let spawnerRuns = false
      yield* tasks.go(
        "spawner",
        Effect.andThen(
          Effect.sync(() => (spawnerRuns = true)),
          Effect.never.pipe(
            Effect.onInterrupt(() => tasks.go("spawned", Effect.sync(() => events.push("spawned ran"))))
          )
        )
      )
      yield* until("the spawner body runs", () => spawnerRuns)
      yield* Scope.close(scope, Exit.void)
      yield* settle // the spawned task must never start
      assert.deepStrictEqual(events, [])
      assert.strictEqual(yield* tasks.activeCount, 0)
    }))

  it.effect("a blockTillDone waiter completes when the scope closes", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(1))
      yield* tasks.go("forever", Effect.never)
      yield* tasks.go("parked", Effect.never)
      const waiter = yield* Effect.forkChild(tasks.blockTillDone)
      const quiet = yield* Effect.forkChild(tasks.awaitQuiescence(0))
      yield* settle // both wait: forever runs, parked is parked
      assert.isFalse(isDone(waiter))
      yield* Scope.close(scope, Exit.void)
      yield* Fiber.join(waiter)
      yield* Fiber.join(quiet)
      assert.strictEqual(yield* tasks.failures, 0)
    }))
  it.effect("after shutdown go and submit do nothing, the waits complete at once, activeChanges emits 0 and ends, failures keeps its count", () =>
    Effect.gen(function*() {
      const { close, tasks } = yield* ownedService(TaskService.layerBounded(2))
      const coalescer = yield* Coalescer.make<string>().pipe(Effect.provideService(TaskService, tasks))
      yield* tasks.go("failing", Effect.fail("boom"))
      yield* tasks.blockTillDone
      yield* close
      let ran = false
      yield* tasks.go("late", Effect.sync(() => (ran = true)))
      yield* coalescer.submit("late", "k", Effect.sync(() => (ran = true)))
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.strictEqual(yield* coalescer.size, 0)
      assert.deepStrictEqual(yield* tasks.snapshot, [])
      yield* tasks.awaitQuiescence(0)
      yield* tasks.blockTillDone
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(tasks.activeChanges)), [0])
      yield* settle // no late body runs
      assert.isFalse(ran, "no body runs after shutdown")
      assert.strictEqual(yield* tasks.failures, 1, "failures keeps its count")
      // validation still comes first
      const message = illegalArgument(yield* Effect.exit(tasks.go("", Effect.void)))
      assert.include(message, "name must be a non-empty string")
    }))
})

describe("TaskService context", () => {
  it.effect("a service provided around the caller of go is visible in the body", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const seen: Array<string> = []
      yield* tasks.go(
        "greets",
        Effect.gen(function*() {
          const greeter = yield* Greeter
          seen.push(greeter.greet("task"))
        })
      ).pipe(
        Effect.provideService(Greeter, Greeter.of({ greet: (name) => `hello ${name}` }))
      )
      yield* tasks.blockTillDone
      assert.deepStrictEqual(seen, ["hello task"])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a Context.Reference value around the caller of go is visible in the body", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const seen: Array<string> = []
      const gate = yield* Latch.make(false)
      const body = Effect.andThen(
        gate.await,
        Effect.gen(function*() {
          seen.push(yield* Tenant)
        })
      )
      yield* tasks.go("acme", body).pipe(Effect.provideService(Tenant, "acme"))
      yield* tasks.go("plain", body)
      yield* tasks.go("globex", body).pipe(Effect.provideService(Tenant, "globex"))
      yield* gate.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(seen, ["acme", "default-tenant", "globex"])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("the caller's span is the parent of the body's span", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const seen: Array<{ readonly traceId: string; readonly self: string; readonly parent: string }> = []
      const caller = yield* Effect.gen(function*() {
        const span = yield* Effect.currentSpan
        yield* tasks.go(
          "traced",
          Effect.gen(function*() {
            // the body's current span is the caller's span itself, or a span of the task whose parent it is
            const current = yield* Effect.currentSpan
            seen.push({ traceId: current.traceId, self: current.spanId, parent: parentOf(current) })
          })
        )
        return span
      }).pipe(Effect.withSpan("caller"))
      yield* tasks.blockTillDone
      assert.strictEqual(seen.length, 1)
      const [body] = seen
      assert.strictEqual(body!.traceId, caller.traceId)
      assert.isTrue(
        body!.self === caller.spanId || body!.parent === caller.spanId,
        `body span ${body!.self} (parent ${body!.parent}) is not the caller span ${caller.spanId} or its child`
      )
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a span opened inside the body descends from the caller's span", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const ancestries: Array<ReadonlyArray<string>> = []
      const caller = yield* Effect.gen(function*() {
        const span = yield* Effect.currentSpan
        yield* tasks.go(
          "traced",
          Effect.gen(function*() {
            const child = yield* Effect.withSpan(Effect.currentSpan, "in-body")
            ancestries.push(ancestry(child))
          })
        )
        return span
      }).pipe(Effect.withSpan("caller"))
      yield* tasks.blockTillDone
      assert.strictEqual(ancestries.length, 1)
      assert.include(ancestries[0]!, caller.spanId)
    }).pipe(Effect.provide(TaskService.layerBounded(1))))

  it.effect("a parked body keeps the context of its caller until it starts", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      const seen: Array<string> = []
      yield* tasks.go("holder", gate.await)
      for (const tenant of ["a", "b", "c"]) {
        yield* tasks.go(
          `t-${tenant}`,
          Effect.gen(function*() {
            seen.push(yield* Tenant)
          })
        ).pipe(
          Effect.provideService(Tenant, tenant)
        )
      }
      yield* settle // the three stay parked behind the holder
      assert.deepStrictEqual(seen, [])
      yield* gate.open
      yield* tasks.blockTillDone
      assert.deepStrictEqual(seen, ["a", "b", "c"])
    }).pipe(Effect.provide(TaskService.layerBounded(1))))
})

describe("TaskService with two services", () => {
  it.effect("yields on another service from a task body run the effect unchanged", () =>
    Effect.gen(function*() {
      const a = yield* ownedService(TaskService.layerBounded(1))
      const b = yield* ownedService(TaskService.layerBounded(1))
      const gauge = new Gauge()
      const seen: Array<number | ReadonlyArray<string>> = []
      const bGate = yield* Latch.make(false)
      yield* b.tasks.go("b-holder", bGate.await)
      yield* b.tasks.go("b-parked", Effect.void)
      yield* a.tasks.go(
        "a-task",
        tracked(
          gauge,
          "a-task",
          Effect.gen(function*() {
            // neither A's slot nor B's count may change
            yield* b.tasks.yieldSlot(b.tasks.yieldQuiescent(yieldTimes(10)))
            seen.push(yield* b.tasks.yieldQuiescent(b.tasks.activeCount))
            seen.push([...gauge.starts])
          })
        )
      )
      yield* a.tasks.go("a-parked", tracked(gauge, "a-parked", Effect.void))
      yield* a.tasks.blockTillDone
      assert.deepStrictEqual(seen, [2, ["a-task"]])
      assert.deepStrictEqual(gauge.starts, ["a-task", "a-parked"])
      assert.strictEqual(gauge.high, 1)
      yield* bGate.open
      yield* b.tasks.blockTillDone
      yield* Scope.close(a.scope, Exit.void)
      yield* Scope.close(b.scope, Exit.void)
    }))
})
