#!/usr/bin/env node
// Counts the tests and the assertion calls in a test folder (default
// packages/task/test), so a reorganisation of the suite can show it kept every
// assertion: run it before and after and compare.
//
//   node scripts/count-assertions.mjs [dir] [--collected] [--executed] [--json]
//
// - tests (declared): `it(`, `test(`, `it.effect(`, `it.live(`, `it.prop(`,
//   `it.effect.prop(` and their `.each(...)` forms, counted where they are
//   written (a declaration inside a loop or an `.each` table counts once);
// - tests (collected), with --collected: what vitest collects for the `task`
//   project (`vitest list`), so every loop iteration and `.each` row counts;
// - assertions: call sites of `assert(`, `assert.*(`, `expect(`, the
//   `@effect/vitest/utils` helpers (`strictEqual(`, `deepStrictEqual(`,
//   `assertTrue(`, …) and `fc.assert(`, each counted once where it is written;
// - assertions (executed), with --executed: runs the `task` project once with
//   scripts/count-assertions/setup.ts, which counts every chai assertion
//   (`assert.*`, `expect`) as it runs, so a table row counts once per row and
//   a loop once per iteration (property tests draw new cases on each run, so
//   this number moves by a little from run to run; the script also prints
//   the subtotal without them, which does not);
// - type assertions: `expectTypeOf(` call sites and `@ts-expect-error`
//   directives, reported apart, so type tests do not inflate the runtime count.
//
// Comments are stripped first (line and block comments outside strings), so a
// commented-out assertion does not count.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const args = process.argv.slice(2)
const flags = new Set(args.filter((a) => a.startsWith("--")))
const dir = args.find((a) => !a.startsWith("--")) ?? "packages/task/test"

const files = (function walk(d) {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(d, e.name)
    return e.isDirectory() ? walk(p) : /\.tsx?$/.test(e.name) ? [p] : []
  })
})(dir).toSorted()

/** Removes comments, keeping strings and template literals intact (good enough for test sources). */
const stripComments = (src) => {
  let out = ""
  let i = 0
  let quote = null
  while (i < src.length) {
    const c = src[i]
    const n = src[i + 1]
    if (quote !== null) {
      out += c
      if (c === "\\") {
        out += n ?? ""
        i += 2
        continue
      }
      if (c === quote) quote = null
      i++
      continue
    }
    if (c === "\"" || c === "'" || c === "`") {
      quote = c
      out += c
      i++
      continue
    }
    if (c === "/" && n === "/") {
      // keep `// @ts-expect-error` directives: they are type assertions
      const end = src.indexOf("\n", i)
      const comment = src.slice(i, end === -1 ? src.length : end)
      if (/^\/\/\s*@ts-expect-error/.test(comment)) out += comment
      i = end === -1 ? src.length : end
      continue
    }
    if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2)
      i = end === -1 ? src.length : end + 2
      continue
    }
    out += c
    i++
  }
  return out
}

const testDecl =
  /(?<![\w.$])(?:it|test)(?:\.(?:effect|live|prop|scoped|scopedLive|flakyTest|skip|only|fails|concurrent|sequential|skipIf\([^)]*\)|runIf\([^)]*\)))*(?:\.each\s*(?:\([^)]*\)|`))?\s*\(/g
const assertion =
  /(?<![\w$])(?:fc\.assert|assert(?:\.\w+)?|expect(?:\.\w+)?|strictEqual|deepStrictEqual|notStrictEqual|notDeepStrictEqual|assertTrue|assertFalse|assertInclude|assertMatch|assertSome|assertNone|assertSuccess|assertFailure|assertLeft|assertRight|assertExitSuccess|assertExitFailure|assertInstanceOf|assertUndefined|assertDefined|throws|throwsAsync)\s*\(/g
const typeAssertion = /(?<![\w$])expectTypeOf\s*[<(]|\/\/\s*@ts-expect-error/g

const rows = []
for (const file of files) {
  const src = stripComments(fs.readFileSync(file, "utf8"))
  const count = (re) => (src.match(re) ?? []).length
  rows.push({
    file: path.relative(dir, file),
    tests: count(testDecl),
    assertions: count(assertion),
    typeAssertions: count(typeAssertion)
  })
}
const sum = (k) => rows.reduce((n, r) => n + r[k], 0)
const totals = { tests: sum("tests"), assertions: sum("assertions"), typeAssertions: sum("typeAssertions") }

if (flags.has("--collected")) {
  // `vitest list` imports every test file and prints what it collected, one test a line
  const out = execFileSync("pnpm", ["exec", "vitest", "list", "--project", "task", "--staticParse=false", "--json"], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"]
  })
  const start = out.indexOf("[")
  totals.collected = JSON.parse(out.slice(start)).length
}

if (flags.has("--executed")) {
  const countFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "assertions-")), "counts")
  fs.writeFileSync(countFile, "")
  execFileSync(
    "pnpm",
    ["exec", "vitest", "run", "--project", "task", "--config", "scripts/count-assertions/vitest.config.ts"],
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ASSERTION_COUNT_FILE: countFile } }
  )
  const counts = fs.readFileSync(countFile, "utf8").split("\n").filter((line) => line !== "").map((line) => {
    const [n, file] = line.split(" ")
    return { n: Number(n), file }
  })
  totals.executed = counts.reduce((a, c) => a + c.n, 0)
  totals.executedFiles = counts.length
  // the property tests draw new cases on every run (Reliability.handoff is random-chains before its rename):
  // the rest is the same from run to run
  totals.executedDeterministic = counts.filter((c) => !/random|property|Reliability\.handoff/.test(c.file)).reduce(
    (a, c) => a + c.n,
    0
  )
}

if (flags.has("--json")) {
  console.log(JSON.stringify({ dir, totals, files: rows }, null, 2))
} else {
  const w = Math.max(...rows.map((r) => r.file.length), 5)
  console.log(`${"file".padEnd(w)}  tests  asserts  types`)
  for (const r of rows) {
    console.log(
      `${r.file.padEnd(w)}  ${String(r.tests).padStart(5)}  ${String(r.assertions).padStart(7)}  ${
        String(r.typeAssertions).padStart(5)
      }`
    )
  }
  console.log(
    `${"total".padEnd(w)}  ${String(totals.tests).padStart(5)}  ${String(totals.assertions).padStart(7)}  ${
      String(totals.typeAssertions).padStart(5)
    }`
  )
  if (totals.collected !== undefined) console.log(`collected tests (vitest list, task project): ${totals.collected}`)
  if (totals.executed !== undefined) {
    console.log(`executed assertions (task project, ${totals.executedFiles} files): ${totals.executed}`)
    console.log(`  of which outside random/property tests (the same on every run): ${totals.executedDeterministic}`)
  }
}
