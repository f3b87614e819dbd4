/**
 * Type tests of the public signatures (CONTRACT.md): `pnpm check` typechecks
 * this file (packages/task/tsconfig.test.json), so a signature that stops
 * preserving a body's `A`, `E` or `R`, a layer that gains a requirement, or a
 * `TaskInfo` field that changes fails the build. Every `@ts-expect-error`
 * below is a wrong use that must stay an error: when a change makes it
 * compile, tsc reports the unused directive.
 *
 * Not a test file (vitest does not collect it, nothing here runs): the values
 * are `declare`d, and `checks(name, …)` only groups and names them.
 */
import { Context, Data, type Duration, Effect, type Layer, Schedule, type Scope, type Stream } from "effect"
import {
  Coalescer,
  type CoalescerOptions,
  type TaskInfo,
  TaskService,
  type TaskServiceOptions,
  type TaskServiceShape
} from "effect-task"
import { expectTypeOf } from "vitest"

/** Names a group of checks; never called at run time (this file is only typechecked). */
const checks = (_name: string, _body: () => void): void => {}

class Boom extends Data.TaggedError("Boom")<{ readonly reason: string }> {}

class Db extends Context.Service<Db, { readonly query: Effect.Effect<number> }>()("effect-task/test/types/Db") {}

/** A body with all three parameters: succeeds with a string, fails with `Boom`, needs `Db`. */
declare const body: Effect.Effect<string, Boom, Db>
declare const tasks: TaskServiceShape
declare const coalescer: Coalescer<string>

checks("TaskService signatures", () => {
  checks("go keeps the body's requirements and nothing else: Effect<void, never, R>", () => {
    expectTypeOf(tasks.go("t", body)).toEqualTypeOf<Effect.Effect<void, never, Db>>()
    expectTypeOf(tasks.go("t", Effect.succeed(1))).toEqualTypeOf<Effect.Effect<void>>()
    // @ts-expect-error a name is a string
    tasks.go(42, body)
    // @ts-expect-error a body is an Effect
    tasks.go("t", () => 1)
    // @ts-expect-error a body is an Effect, not a Promise
    tasks.go("t", Promise.resolve(1))
  })

  checks("run returns the body's value and fails with its error: Effect<A, E, R>", () => {
    expectTypeOf(tasks.run("t", body)).toEqualTypeOf<Effect.Effect<string, Boom, Db>>()
    // @ts-expect-error the value is the body's, not another type
    const wrong: Effect.Effect<number, Boom, Db> = tasks.run("t", body)
    void wrong
    // @ts-expect-error the error is not swallowed
    const noError: Effect.Effect<string, never, Db> = tasks.run("t", body)
    void noError
  })

  checks("yieldSlot and yieldQuiescent preserve A, E and R exactly", () => {
    expectTypeOf(tasks.yieldSlot(body)).toEqualTypeOf<Effect.Effect<string, Boom, Db>>()
    expectTypeOf(tasks.yieldQuiescent(body)).toEqualTypeOf<Effect.Effect<string, Boom, Db>>()
    expectTypeOf(tasks.yieldSlot(tasks.yieldQuiescent(body))).toEqualTypeOf<Effect.Effect<string, Boom, Db>>()
    // @ts-expect-error the requirement is not dropped
    const noDb: Effect.Effect<string, Boom> = tasks.yieldSlot(body)
    void noDb
    // @ts-expect-error self is an Effect
    tasks.yieldQuiescent(42)
  })

  checks("the counters, waits and streams", () => {
    expectTypeOf(tasks.activeCount).toEqualTypeOf<Effect.Effect<number>>()
    expectTypeOf(tasks.failures).toEqualTypeOf<Effect.Effect<number>>()
    expectTypeOf(tasks.blockTillDone).toEqualTypeOf<Effect.Effect<void>>()
    expectTypeOf(tasks.awaitQuiescence).toEqualTypeOf<(threshold: number) => Effect.Effect<void>>()
    expectTypeOf(tasks.activeChanges).toEqualTypeOf<Stream.Stream<number>>()
    expectTypeOf(tasks.snapshot).toEqualTypeOf<Effect.Effect<ReadonlyArray<TaskInfo>>>()
    expectTypeOf(tasks.resize).toEqualTypeOf<(workers: number) => Effect.Effect<void>>()
    expectTypeOf(tasks.workers).toEqualTypeOf<Effect.Effect<number | undefined>>()
    // @ts-expect-error a threshold is a number
    tasks.awaitQuiescence("1")
    // @ts-expect-error the shape is read-only
    tasks.activeCount = Effect.succeed(0)
  })

  checks("TaskInfo has exactly the documented fields, all read-only", () => {
    expectTypeOf<TaskInfo>().toEqualTypeOf<{
      readonly id: number
      readonly name: string
      readonly state: "parked" | "running" | "yielded-slot" | "yielded-quiescent"
      readonly registeredAt: number
      readonly stateSince: number
      readonly key?: unknown
      readonly retries?: number
    }>()
    const info = {} as TaskInfo
    // @ts-expect-error read-only
    info.state = "running"
    // @ts-expect-error there is no "done" state: finished tasks leave the snapshot
    const done: TaskInfo["state"] = "done"
    void done
  })

  checks("TaskServiceOptions: an optional name and bound, nothing else", () => {
    expectTypeOf<TaskServiceOptions>().toEqualTypeOf<{
      readonly name?: string | undefined
      readonly workers?: number | undefined
    }>()
    expectTypeOf(TaskService.make).parameter(0).toEqualTypeOf<TaskServiceOptions | undefined>()
    // @ts-expect-error workers is a number
    TaskService.make({ workers: "4" })
    // @ts-expect-error no other option
    TaskService.make({ concurrency: 4 })
  })

  checks("constructors and layers need nothing but a scope, and provide the service", () => {
    expectTypeOf(TaskService.make()).toEqualTypeOf<Effect.Effect<TaskServiceShape, never, Scope.Scope>>()
    expectTypeOf(TaskService.layer).toEqualTypeOf<Layer.Layer<TaskService>>()
    expectTypeOf(TaskService.layerUnbounded).toEqualTypeOf<Layer.Layer<TaskService>>()
    expectTypeOf(TaskService.layerBounded(2)).toEqualTypeOf<Layer.Layer<TaskService>>()
    expectTypeOf(TaskService.layerBounded(2, { name: "renders" })).toEqualTypeOf<Layer.Layer<TaskService>>()
    expectTypeOf(TaskService.layerWith({ name: "renders", workers: 4 })).toEqualTypeOf<Layer.Layer<TaskService>>()
    expectTypeOf(TaskService.defaultWorkers).toEqualTypeOf<() => number>()
    expectTypeOf<TaskService.Shape>().toEqualTypeOf<TaskServiceShape>()
    // @ts-expect-error a bound is a number
    TaskService.layerBounded("2")
    // @ts-expect-error layerBounded's options name the service only
    TaskService.layerBounded(2, { workers: 3 })
  })

  checks("the service tag yields the shape", () => {
    const program = Effect.gen(function*() {
      const service = yield* TaskService
      expectTypeOf(service).toEqualTypeOf<TaskServiceShape>()
      return yield* service.activeCount
    })
    expectTypeOf(program).toEqualTypeOf<Effect.Effect<number, never, TaskService>>()
  })
})

checks("Coalescer signatures", () => {
  checks("make needs the service and returns a coalescer of the key type", () => {
    expectTypeOf(Coalescer.make<string>()).toEqualTypeOf<Effect.Effect<Coalescer<string>, never, TaskService>>()
    expectTypeOf(Coalescer.make<number>({ retry: Schedule.spaced("1 second") })).toEqualTypeOf<
      Effect.Effect<Coalescer<number>, never, TaskService>
    >()
    expectTypeOf<CoalescerOptions>().toEqualTypeOf<
      { readonly retry?: Schedule.Schedule<unknown, unknown> | undefined }
    >()
    // @ts-expect-error retry is a Schedule
    Coalescer.make<string>({ retry: 42 })
  })

  checks("submit and submitAfter keep the body's requirements only; the key has the coalescer's type", () => {
    expectTypeOf(coalescer.submit("run", "k", body)).toEqualTypeOf<Effect.Effect<void, never, Db>>()
    expectTypeOf(coalescer.submitAfter("run", "k", body, "1 second")).toEqualTypeOf<Effect.Effect<void, never, Db>>()
    expectTypeOf(coalescer.submitAfter).parameter(3).toEqualTypeOf<Duration.Input>()
    // @ts-expect-error the key is a string
    coalescer.submit("run", 42, body)
    // @ts-expect-error a body is an Effect
    coalescer.submit("run", "k", () => 1)
    // @ts-expect-error a delay is a Duration.Input
    coalescer.submitAfter("run", "k", body, true)
  })

  checks("cancel, retries, size and scheduled", () => {
    expectTypeOf(coalescer.cancel("k")).toEqualTypeOf<Effect.Effect<boolean>>()
    expectTypeOf(coalescer.retries("k")).toEqualTypeOf<Effect.Effect<number>>()
    expectTypeOf(coalescer.size).toEqualTypeOf<Effect.Effect<number>>()
    expectTypeOf(coalescer.scheduled).toEqualTypeOf<Effect.Effect<number>>()
    // @ts-expect-error the key is a string
    coalescer.cancel(1)
  })

  checks(
    "a coalescer is contravariant in its key: one for any key serves as one for strings, not the other way",
    () => {
      expectTypeOf<Coalescer<unknown>>().toExtend<Coalescer<string>>()
      expectTypeOf<Coalescer<string>>().not.toExtend<Coalescer<unknown>>()
      expectTypeOf<Coalescer<string>>().not.toExtend<Coalescer<number>>()
    }
  )
})
