/**
 * Command-line flags of the bench's entry points (`main.ts`, `profile.ts`):
 * parsed strictly with `node:util`'s `parseArgs`, so that an unknown flag or
 * a stray argument exits 2 with one line naming it, never runs something
 * else (a `--quik` that ran the full bench).
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util"

/** Prints `program: message; usage` to stderr and exits 2. */
export const exitUsage = (program: string, message: string, usage: string): never => {
  process.stderr.write(`${program}: ${message}; ${usage}\n`)
  process.exit(2)
}

/** `process.argv`'s flags, strictly: no positionals, no unknown flag. */
export const strictFlags = <const O extends ParseArgsOptionsConfig>(program: string, usage: string, options: O) => {
  try {
    return parseArgs({ args: process.argv.slice(2), strict: true, allowPositionals: false, options }).values
  } catch (error) {
    return exitUsage(program, error instanceof Error ? error.message : String(error), usage)
  }
}
