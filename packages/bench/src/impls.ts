import { TaskService } from "effect-task"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import fastq from "fastq"
import pLimit from "p-limit"
import PQueue from "p-queue"
import { type BodyKind, effectBody, promiseBody } from "./bodies.ts"
import { PromisePool } from "./floor.ts"
import { makeNaive } from "./naive.ts"

export type ImplName =
  | "effect-task"
  | "p-limit"
  | "p-queue"
  | "fastq"
  | "Effect.forEach"
  | "promise-pool"
  | "naive-port"

export interface Impl {
  readonly name: ImplName
  /** Effect-based implementations run Effect bodies; the others run promise thunks. */
  readonly effect: boolean
  /**
   * Runs `n` bodies under `bound` (`Infinity` = unbounded) and resolves when all
   * are done; resolves `false` when the run hit `deadlineMs` and was interrupted.
   */
  run(n: number, bound: number, kind: BodyKind, deadlineMs: number): Promise<boolean>
}

let items: ReadonlyArray<number> = []
const itemsOf = (n: number): ReadonlyArray<number> => {
  if (items.length !== n) items = Array.from({ length: n }, (_, i) => i)
  return items
}

/** Runs an Effect program, interrupting it at the deadline. */
const runEffect = (program: Effect.Effect<void>, deadlineMs: number): Promise<boolean> =>
  Effect.runPromise(
    Effect.map(Effect.timeoutOption(program, deadlineMs), (option) => option._tag === "Some")
  )

/** A build of the service: `layer(bound)` provides it with that bound (`Infinity`: unbounded). */
export type ServiceBuild = (bound: number) => Layer.Layer<TaskService>

/** The package's own layers. */
export const packageBuild: ServiceBuild = (bound) =>
  bound === Infinity ? TaskService.layerUnbounded : TaskService.layerBounded(bound)

/**
 * `go` n times, then `blockTillDone`, with a service of `bound` from `build`
 * (the package's layers, or the bookkeeping section's service without them).
 */
export const taskServiceRun = (
  build: ServiceBuild,
  n: number,
  bound: number,
  body: Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const tasks = yield* TaskService
    for (let i = 0; i < n; i++) yield* tasks.go("bench", body)
    yield* tasks.blockTillDone
  }).pipe(Effect.provide(build(bound)))

const effectTask: Impl = {
  name: "effect-task",
  effect: true,
  run: (n, bound, kind, deadlineMs) => runEffect(taskServiceRun(packageBuild, n, bound, effectBody(kind)), deadlineMs)
}

const forEach: Impl = {
  name: "Effect.forEach",
  effect: true,
  run: (n, bound, kind, deadlineMs) => {
    const body = effectBody(kind)
    const program = Effect.forEach(itemsOf(n), () => body, {
      concurrency: bound === Infinity ? "unbounded" : bound,
      discard: true
    })
    return runEffect(program, deadlineMs)
  }
}

const naive: Impl = {
  name: "naive-port",
  effect: true,
  run: (n, bound, kind, deadlineMs) => {
    const body = effectBody(kind)
    const program = Effect.scoped(Effect.gen(function*() {
      const service = yield* makeNaive(bound)
      for (let i = 0; i < n; i++) yield* service.go(body)
      yield* service.blockTillDone
    }))
    return runEffect(program, deadlineMs)
  }
}

const limit: Impl = {
  name: "p-limit",
  effect: false,
  run: async (n, bound, kind) => {
    const body = promiseBody(kind)
    const run = pLimit(bound)
    const promises: Array<Promise<void>> = []
    for (let i = 0; i < n; i++) promises.push(run(body))
    await Promise.all(promises)
    return true
  }
}

const queue: Impl = {
  name: "p-queue",
  effect: false,
  run: async (n, bound, kind) => {
    const body = promiseBody(kind)
    const q = new PQueue({ concurrency: bound })
    for (let i = 0; i < n; i++) void q.add(body)
    await q.onIdle()
    return true
  }
}

const resolved = Promise.resolve()

const fastQueue: Impl = {
  name: "fastq",
  effect: false,
  run: async (n, bound, kind) => {
    const body = promiseBody(kind)
    // the promise API needs a promise from the worker: a synchronous body hands back a settled one
    const q = fastq.promise((thunk: typeof body) => thunk() ?? resolved, bound)
    for (let i = 0; i < n; i++) void q.push(body)
    await q.drained()
    return true
  }
}

/** `--inject-failure`: the promise pool drops one body, to show that the checks catch a wrong implementation. */
export const faults = { dropOne: false }

const pool: Impl = {
  name: "promise-pool",
  effect: false,
  run: async (n, bound, kind) => {
    const body = promiseBody(kind)
    const p = new PromisePool(bound)
    const count = faults.dropOne ? n - 1 : n
    for (let i = 0; i < count; i++) p.add(body)
    await p.onIdle()
    return true
  }
}

export const impls: ReadonlyArray<Impl> = [effectTask, limit, queue, fastQueue, forEach, pool, naive]
