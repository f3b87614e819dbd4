/**
 * One runner process of the integration suite and the demo.
 *
 * Environment: PG_PORT (PostgreSQL on 127.0.0.1), RUNNER_PORT (this
 * runner's port on 127.0.0.1), RUNNER_NAME, WORK_MS (how long each run
 * works, default 300), LONG_WORK_MS (every tenth key, default 2000),
 * WORKERS (the TaskService bound, default 4), PROBE_DETACHED (see below).
 * Prints "ready <name>" once its layers are up; SIGTERM stops it
 * gracefully (NodeRuntime.runMain).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Deferred, Duration, Effect, Exit, Layer, References, Schedule } from "effect"
import { TaskService } from "effect-task"
import { ClusterCoalescer, ClusterRunner, Fencing } from "effect-task-cluster"
import { SqlClient } from "effect/sql/SqlClient"
import { Probe } from "./probe.ts"

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`runner: ${name} is not set`)
  return value
}
const name = env("RUNNER_NAME")
const workMs = Number(env("WORK_MS", "300"))
// Every tenth key (…/0, …/10, …) works longer than a shard handover takes, so
// that a run which outlived its entity would still be running when the
// key's next owner starts it.
const longWorkMs = Number(env("LONG_WORK_MS", "2000"))
const workFor = (key: string) => (/\/\d*0$/.test(key) ? longWorkMs : workMs)
const workers = Number(env("WORKERS", "4"))

let inFlight = 0
let highWater = 0

const handler = (run: ClusterCoalescer.Run<{ readonly seq: number }>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const token = run.fence!
    inFlight++
    if (inFlight > highWater) {
      highWater = inFlight
      yield* sql`UPDATE probe_runners SET high_water = GREATEST(high_water, ${highWater}) WHERE runner = ${name}`
    }
    const covered = run.submits.map((s) => s.payload.seq)
    const finish = (id: string, interrupted: boolean) =>
      Effect.gen(function*() {
        const current = yield* Fencing.isCurrent(Probe.name, run.key, token)
        yield* sql`UPDATE probe_runs SET ended = clock_timestamp(), interrupted = ${interrupted},
          overlapped = ${!current} WHERE id = ${id}::bigint`
      }).pipe(Effect.retry({ times: 5, schedule: Schedule.spaced("200 millis") }), Effect.ignoreCause)
    // The row and its end are one unit: once the row exists, its end (or
    // the interruption) is recorded however the work ends, uninterruptibly,
    // so that a row without an end means the process died. The run's
    // interruption waits for it, like any finalizer of a run.
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const rows = yield* sql<{ readonly id: string }>`
          INSERT INTO probe_runs (key, runner, token, covered, latest)
          VALUES (${run.key}, ${name}, ${String(token)}::bigint, ${`{${covered.join(",")}}`}::int[], ${run.payload.seq})
          RETURNING id::text AS id`
        const id = rows[0]!.id
        yield* restore(Effect.sleep(Duration.millis(workFor(run.key)))).pipe(
          Effect.onExit((exit) => finish(id, Exit.hasInterrupts(exit)))
        )
      })
    )
    return run.payload.seq
  }).pipe(Effect.ensuring(Effect.sync(() => inFlight--)), Effect.orDie)

/**
 * PROBE_DETACHED=1 reproduces the prototype's mistake, for the docs and to
 * check that the suite catches it: the work runs on a fiber forked out of
 * the handler (`forkDetach`; a `go` task or a `Coalescer` run is the same),
 * which the handler only waits for. When the key moves, the handler is
 * interrupted but the work is not, and it keeps running beside the next
 * owner's run.
 */
const detached = process.env["PROBE_DETACHED"] === "1"
const detachedHandler = (run: ClusterCoalescer.Run<{ readonly seq: number }>) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<number>()
    yield* Effect.forkDetach(Effect.flatMap(handler(run), (seq) => Deferred.succeed(done, seq)))
    return yield* Deferred.await(done)
  })

// RUNNER_DEBUG=1 logs effect's cluster at Debug level, and this runner's
// shutdown steps (for investigations)
const debug = process.env["RUNNER_DEBUG"] === "1"
const logLevel = debug ? Layer.succeed(References.MinimumLogLevel, "Debug") : Layer.empty
const step = (what: string) => debug ? Effect.logDebug(`runner ${name}: ${what}`) : Effect.void
if (debug) process.on("SIGTERM", () => process.stderr.write(`runner ${name}: SIGTERM received\n`))
const traced = Layer.effectDiscard(Effect.addFinalizer(() => step("closing the coalesced entity's layer")))

const RunnerLive = Layer.merge(
  traced,
  ClusterCoalescer.layer(Probe, detached ? detachedHandler : handler, { fencing: true })
).pipe(
  Layer.provide(
    Layer.effectDiscard(Effect.addFinalizer(() => step("closed the entity layer; closing the TaskService")))
  ),
  Layer.provide(TaskService.layerBounded(workers)),
  Layer.provide(Layer.effectDiscard(Effect.addFinalizer(() => step("closed the TaskService; closing the cluster")))),
  Layer.provideMerge(ClusterRunner.layer({
    host: "127.0.0.1",
    port: Number(env("RUNNER_PORT")),
    postgres: { host: "127.0.0.1", port: Number(env("PG_PORT")), database: "cluster", username: "postgres" }
  }))
)

const register = Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* sql`INSERT INTO probe_runners (runner, workers) VALUES (${name}, ${workers})
    ON CONFLICT (runner) DO UPDATE SET workers = EXCLUDED.workers`
  yield* Effect.sync(() => process.stdout.write(`ready ${name}\n`))
})

Layer.launch(Layer.effectDiscard(register).pipe(Layer.provideMerge(RunnerLive), Layer.provide(logLevel))).pipe(
  NodeRuntime.runMain
)
