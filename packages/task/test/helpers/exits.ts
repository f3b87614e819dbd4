/**
 * Reading exits and fibers: the message of a defect, the `IllegalArgumentError`
 * of a bad argument, and an interruption that came from a child; not a test file.
 */
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"

/** `true` when the fiber has completed. */
export const isDone = (fiber: Fiber.Fiber<unknown, unknown>): boolean => fiber.pollUnsafe() !== undefined

/** The message of the defect an exit died with, or `undefined`. */
export const defectMessage = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const defect = exit.cause.reasons.find(Cause.isDieReason)?.defect
  return defect instanceof Error ? defect.message : undefined
}

/**
 * The defect of a failed exit, which must be the one `IllegalArgumentError`
 * of its cause; returns its message (asserting each of those).
 */
export const illegalArgument = (exit: Exit.Exit<unknown, unknown>): string => {
  assert.isTrue(Exit.isFailure(exit), "the call must die")
  if (!Exit.isFailure(exit)) return ""
  const defects = exit.cause.reasons.filter(Cause.isDieReason).map((r) => r.defect)
  assert.strictEqual(defects.length, 1, "exactly one defect")
  assert.isTrue(Cause.isIllegalArgumentError(defects[0]), "an IllegalArgumentError")
  return (defects[0] as Cause.IllegalArgumentError).message
}

/** An effect whose outcome is an interruption that did not come from the current fiber. */
export const interruptedChild: Effect.Effect<never> = Effect.gen(function*() {
  const child = yield* Effect.forkChild(Effect.never)
  yield* Effect.yieldNow
  yield* Fiber.interrupt(child)
  return yield* Fiber.join(child)
})
