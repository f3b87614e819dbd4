/**
 * Argument checks shared by `TaskService` and `Coalescer`: every bad input
 * dies with an `IllegalArgumentError` that names the method, the argument and
 * the value.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  try {
    return String(value)
  } catch {
    return `[unprintable ${typeof value}]` // a null-prototype object, a throwing toString
  }
}

/** @internal */
export const invalid = (
  method: string,
  argument: string,
  value: unknown,
  expected: string
): Cause.IllegalArgumentError =>
  new Cause.IllegalArgumentError(`${method}: ${argument} must be ${expected}, got ${describe(value)}`)

/**
 * The error for a bad task name or body (`go`, `submit`), or `undefined`.
 *
 * @internal
 */
export const checkTask = (method: string, name: unknown, body: unknown): Cause.IllegalArgumentError | undefined => {
  if (typeof name !== "string" || name.length === 0) return invalid(method, "name", name, "a non-empty string")
  if (!Effect.isEffect(body)) return invalid(method, "body", body, "an Effect")
  return undefined
}

/**
 * Runs `use` with a service's `name` (`undefined` or a non-empty string), or
 * dies naming `name` and its value.
 *
 * @internal
 */
export const withName = <A, E, R>(
  method: string,
  name: unknown,
  use: (name: string | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  name === undefined || (typeof name === "string" && name.length > 0)
    ? use(name)
    : Effect.die(invalid(method, "name", name, "a non-empty string"))

/**
 * Runs `use` with the normalised bound — an integer `>= 1`, or `Infinity` for
 * `<= 0` and `Infinity` — or dies naming `workers` and its value.
 *
 * @internal
 */
export const withWorkers = <A, E, R>(
  method: string,
  workers: unknown,
  use: (bound: number) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const expected = "an integer (<= 0 or Infinity for unbounded)"
  if (typeof workers !== "number" || Number.isNaN(workers)) {
    return Effect.die(invalid(method, "workers", workers, expected))
  }
  if (workers <= 0 || workers === Infinity) return use(Infinity)
  if (!Number.isInteger(workers)) return Effect.die(invalid(method, "workers", workers, expected))
  return use(workers)
}
