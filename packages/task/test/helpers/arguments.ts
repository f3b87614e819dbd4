/**
 * The bad values the argument tables try (`TaskService.arguments.test.ts`,
 * `Coalescer.arguments.test.ts`), each with how an error message shows it;
 * not a test file.
 */

/** A value and how a message shows it. */
export type Shown = readonly [value: unknown, shown: string]

/** Not a name (a name is a non-empty string). */
export const badNames: ReadonlyArray<Shown> = [["", "\"\""], [42, "42"], [null, "null"], [undefined, "undefined"]]

/** Not an Effect, passed from JavaScript where a body (or `self`) belongs. */
export const notEffects: ReadonlyArray<Shown> = [
  [() => 1, "() => 1"],
  [Promise.resolve(1), "[object Promise]"],
  [{}, "[object Object]"],
  [undefined, "undefined"],
  [42, "42"]
]
