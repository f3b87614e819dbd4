/**
 * A small program that uses the task service and prints what it did: 12 jobs
 * under a bound of 3, one of which fails, and a dependency wait released by
 * another task.
 */
import { Deferred, Effect } from "effect"
import { TaskService } from "effect-task"

const program = Effect.gen(function*() {
  const tasks = yield* TaskService
  let running = 0
  let highWater = 0
  const ready = yield* Deferred.make<string>()

  // a consumer that waits for work another task produces: it leaves the count while it waits
  yield* tasks.go(
    "consumer",
    Effect.gen(function*() {
      const value = yield* tasks.yieldQuiescent(Deferred.await(ready))
      yield* Effect.log(`consumer got ${value}`)
    })
  )

  for (let i = 1; i <= 12; i++) {
    yield* tasks.go(
      `job-${i}`,
      Effect.gen(function*() {
        running++
        highWater = Math.max(highWater, running)
        yield* Effect.sleep(`${5 + (i % 4)} millis`)
        running--
        if (i === 7) return yield* Effect.fail(`job-${i} could not render`)
        if (i === 12) yield* Deferred.succeed(ready, "the producer's result")
      })
    )
  }

  yield* Effect.log(`registered 13 tasks; activeCount = ${yield* tasks.activeCount}`)
  yield* tasks.blockTillDone
  yield* Effect.log(
    `done: highest concurrency ${highWater} (bound 3), failures ${yield* tasks.failures}, activeCount ${yield* tasks
      .activeCount}`
  )
})

Effect.runFork(program.pipe(Effect.provide(TaskService.layerBounded(3))))
