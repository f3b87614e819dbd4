/**
 * The shape anchor (`src/internal/anchor.ts`) is built by the first service
 * of a module instance: it must leave nothing behind — no timer, no task of
 * any service. This file builds no other service before the test (vitest
 * gives each file its own module instances), so the anchor is built here.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TaskService } from "effect-task"

describe("the shape anchor", () => {
  it("building the first service schedules no timer and leaves its counters at 0", async () => {
    const calls: Array<string> = []
    const immediate = globalThis.setImmediate
    const timeout = globalThis.setTimeout
    const record = (kind: string, original: (...args: Array<any>) => any) => (...args: Array<any>) => {
      calls.push(kind)
      return original(...args)
    }
    globalThis.setImmediate = record("setImmediate", immediate) as typeof setImmediate
    globalThis.setTimeout = record("setTimeout", timeout) as typeof setTimeout
    let counts: readonly [number, number] = [-1, -1]
    try {
      counts = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const tasks = yield* TaskService.make({ workers: 2 })
        return [yield* tasks.activeCount, (yield* tasks.snapshot).length] as const
      })))
    } finally {
      globalThis.setImmediate = immediate
      globalThis.setTimeout = timeout
    }
    assert.deepStrictEqual(calls, [])
    assert.deepStrictEqual(counts, [0, 0])
  })
})
