// Counts every assertion the task suite executes (see ../count-assertions.mjs --executed).
// Every chai assertion, `assert.*` and `expect(...)` alike, ends in one call of
// `Assertion.prototype.assert`; this setup file wraps it and, after the test
// file, appends `<count> <file>` to $ASSERTION_COUNT_FILE.
import * as fs from "node:fs"
import { afterAll, chai, expect } from "vitest"

const file = process.env["ASSERTION_COUNT_FILE"]
if (file !== undefined) {
  const proto = chai.Assertion.prototype as unknown as { assert: (...args: Array<unknown>) => unknown }
  const original = proto.assert
  let count = 0
  proto.assert = function(this: unknown, ...args: Array<unknown>) {
    count++
    return original.apply(this, args)
  }
  afterAll(() => {
    fs.appendFileSync(file, `${count} ${expect.getState().testPath ?? "?"}\n`)
  })
}
