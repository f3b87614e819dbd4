/**
 * Argument checks of effect-task-cluster: every bad input is an
 * `IllegalArgumentError` whose message names the function, the argument and
 * the value, in the same words as effect-task's own checks.
 *
 * @internal
 */
import * as Cause from "effect/Cause"

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  try {
    return String(value)
  } catch {
    return `[unprintable ${typeof value}]`
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
 * The error for a bad key (`submit`, `submitAndAwait`), or `undefined`.
 * Keys are entity ids: non-empty strings of at most 255 characters (the
 * width of `entity_id` in effect's message table).
 *
 * @internal
 */
export const checkKey = (method: string, key: unknown): Cause.IllegalArgumentError | undefined =>
  typeof key !== "string" || key.length === 0 || key.length > 255
    ? invalid(method, "key", key, "a non-empty string of at most 255 characters")
    : undefined

/**
 * The error for a bad entity name, or `undefined`. Names are entity types:
 * non-empty strings of at most 150 characters (`entity_type`'s width).
 *
 * @internal
 */
export const checkName = (method: string, name: unknown): Cause.IllegalArgumentError | undefined =>
  typeof name !== "string" || name.length === 0 || name.length > 150
    ? invalid(method, "name", name, "a non-empty string of at most 150 characters")
    : undefined

/**
 * The error for a bad age or interval (a `Duration.Input` that is finite and
 * not negative), or `undefined`.
 *
 * @internal
 */
export const checkMillis = (
  method: string,
  argument: string,
  value: unknown,
  millis: number | undefined
): Cause.IllegalArgumentError | undefined =>
  millis === undefined || !Number.isFinite(millis) || millis < 0
    ? invalid(method, argument, value, "a finite, non-negative duration")
    : undefined
