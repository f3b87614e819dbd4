/**
 * No stranded task and no lost resource: what an adversarial user found
 * (issue "No lost wake-ups, no stranded tasks"), each a regression test named
 * after its scenario: bodies under a scheduler that yields before every first
 * step, a service closed from inside one of its own bodies, a backlog's
 * buffer, keys a tracer cannot print.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Latch, Layer, Scope } from "effect"
import { Coalescer, TaskService, type TaskServiceShape } from "effect-task"
import { runUnder, yieldFirst } from "./helpers/schedulers.ts"
import { ownedService } from "./helpers/service.ts"
import { untilActive } from "./helpers/waits.ts"

const fresh = () => Layer.fresh(TaskService.layerUnbounded)

/** The pool behind a service, from the module's internal side table (white-box checks only). */
const poolOf = (tasks: TaskServiceShape) =>
  Effect.map(
    Effect.promise(() =>
      import(/* @vite-ignore */ ["..", "..", "src", "internal", "pool.ts"].join("/")) as Promise<
        { readonly poolOf: (service: object) => { readonly admission: { readonly capacity: number } } | undefined }
      >
    ),
    (internals) => internals.poolOf(tasks)!
  )

describe("TaskService: no stranded tasks and no lost resources", () => {
  it("10 bodies under a scheduler that yields before every fiber's first step all run", async () => {
    const ran = await runUnder(
      yieldFirst,
      Effect.gen(function*() {
        const tasks = yield* TaskService
        let bodies = 0
        for (let i = 0; i < 10; i++) yield* tasks.go(`body ${i}`, Effect.sync(() => void bodies++))
        yield* tasks.blockTillDone
        assert.strictEqual(yield* tasks.activeCount, 0)
        assert.deepStrictEqual(yield* tasks.snapshot, [])
        return bodies
      }).pipe(Effect.provide(TaskService.layerBounded(3)))
    )
    assert.strictEqual(ran, 10)
  })

  it.live("a fiber a body forked that closes the service's scope: the body is interrupted, nothing hangs", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(2))
      const ended = yield* Deferred.make<Exit.Exit<void>>()
      let other = false
      yield* tasks.go("other", Effect.onInterrupt(Effect.never, () => Effect.sync(() => void (other = true))))
      yield* tasks.go(
        "body",
        Effect.flatMap(Effect.forkChild(Scope.close(scope, Exit.void)), Fiber.join).pipe(
          Effect.onExit((exit) => Deferred.succeed(ended, Exit.asVoid(exit)))
        )
      )
      const exit = yield* Deferred.await(ended).pipe(
        Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die("the close deadlocked") })
      )
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.isTrue(other)
      yield* tasks.blockTillDone
      assert.strictEqual(yield* tasks.activeCount, 0)
    }))

  it.effect("the parked-task buffer shrinks back once a backlog of 100,000 has drained", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const gate = yield* Latch.make(false)
      yield* tasks.go("holds the slot", gate.await)
      for (let i = 0; i < 100_000; i++) yield* tasks.go("parked", Effect.void)
      const pool = yield* poolOf(tasks)
      assert.isAtLeast(pool.admission.capacity, 100_000)
      yield* gate.open
      yield* tasks.blockTillDone
      assert.strictEqual(pool.admission.capacity, 2048) // a drained queue spans one block of 2,048 slots (and keeps one spare)
    }).pipe(Effect.provide(Layer.fresh(TaskService.layerBounded(1)))))

  it.effect("a traced coalescer run with a null-prototype key or a throwing toString runs its body", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskService
      const coalescer = yield* Coalescer.make<object>()
      let ran = 0
      const keys = [
        Object.create(null) as object,
        {
          toString() {
            throw new Error("no")
          }
        }
      ]
      for (const key of keys) {
        yield* coalescer.submit("run", key, Effect.sync(() => void ran++)).pipe(Effect.withSpan("caller"))
      }
      yield* tasks.blockTillDone
      assert.strictEqual(ran, 2)
      assert.strictEqual(yield* tasks.failures, 0)
    }).pipe(Effect.provide(fresh())))

  it.effect("a task that closes its own service's scope: the others end first, then it is interrupted", () =>
    Effect.gen(function*() {
      const { scope, tasks } = yield* ownedService(TaskService.layerBounded(2))
      const order: Array<string> = []
      const closer = yield* Deferred.make<Exit.Exit<void>>()
      yield* tasks.go(
        "other",
        Effect.onInterrupt(Effect.never, () => Effect.sync(() => order.push("other interrupted")))
      )
      yield* tasks.go(
        "closer",
        Scope.close(scope, Exit.void).pipe(
          Effect.andThen(Effect.sync(() => order.push("after the close"))),
          Effect.onExit((exit) => Deferred.succeed(closer, Exit.asVoid(exit)))
        )
      )
      const exit = yield* Deferred.await(closer)
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.deepStrictEqual(order, ["other interrupted"]) // interrupted at its first step after the close
      yield* untilActive(tasks, 0)
      assert.strictEqual(yield* tasks.activeCount, 0)
      assert.deepStrictEqual(yield* tasks.snapshot, [])
      yield* tasks.blockTillDone
    }))
})
