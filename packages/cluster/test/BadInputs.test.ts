import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { ClusterRunner, Retention } from "../src/index.ts"

// Each row of docs/errors.md's effect-task-cluster table. Bad inputs die
// before anything touches the network or the store.

const message = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause), "expected a defect")
  return String(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause))
}
const noStore = Effect.provideService(SqlClient, {} as SqlClient)

describe("effect-task-cluster bad inputs", () => {
  it.effect("Retention.purge names olderThan and prefix with their values", () =>
    Effect.gen(function*() {
      const negative = yield* Effect.exit(noStore(Retention.purge({ olderThan: -1 })))
      assert.match(
        message(negative),
        /Retention.purge: options.olderThan must be a finite, non-negative duration, got -1/
      )
      const soon = yield* Effect.exit(noStore(Retention.purge({ olderThan: "soon" as any })))
      assert.match(message(soon), /options.olderThan must be .*, got "soon"/)
      const prefix = yield* Effect.exit(noStore(Retention.purge({ olderThan: "1 day", prefix: "x; DROP TABLE y" })))
      assert.match(
        message(prefix),
        /Retention.purge: options.prefix must be an SQL identifier .*, got "x; DROP TABLE y"/
      )
    }))

  it.effect("Retention.layer names every with its value", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.provide(
          Effect.void,
          Retention.layer({ olderThan: "1 day", every: Infinity }).pipe(
            Layer.provide(Layer.succeed(SqlClient, {} as SqlClient))
          )
        )
      )
      assert.match(
        message(exit),
        /Retention.layer: options.every must be a finite, non-negative duration, got Infinity/
      )
    }))

  it.effect("ClusterRunner.layer names host and port with their values, before it connects", () =>
    Effect.gen(function*() {
      const port = yield* Effect.exit(
        Effect.provide(Effect.void, ClusterRunner.layer({ host: "127.0.0.1", port: 70000, postgres: {} }))
      )
      assert.match(message(port), /ClusterRunner.layer: options.port must be an integer from 1 to 65535, got 70000/)
      const host = yield* Effect.exit(
        Effect.provide(Effect.void, ClusterRunner.layer({ host: "", port: 1, postgres: {} }))
      )
      assert.match(message(host), /ClusterRunner.layer: options.host must be a non-empty string, got ""/)
    }))
})
