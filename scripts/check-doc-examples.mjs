#!/usr/bin/env node
// Checks that the code in the docs is the code that is compiled and run.
//
// A marked block in docs/*.md, README.md, packages/task/README.md or
// packages/cluster/README.md
//
//   <!-- example: docs/examples/name.ts -->
//
//   ```ts
//   ...the file, verbatim...
//   ```
//
//   <!-- /example -->
//
// must hold exactly the file it names (paths are relative to the repository
// root). Every other ```ts block in docs/*.md must be labelled as not
// compiled on the line before it: <!-- not-compiled: reason -->.
//
// Usage: node scripts/check-doc-examples.mjs [--write]
//   --write  rewrites marked blocks from their files instead of failing.
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const write = process.argv.includes("--write")

const docsDir = path.join(root, "docs")
const pages = fs.existsSync(docsDir)
  ? fs.readdirSync(docsDir).filter((name) => name.endsWith(".md")).map((name) => path.join("docs", name))
  : []
for (const readme of ["README.md", "packages/task/README.md", "packages/cluster/README.md"]) {
  if (fs.existsSync(path.join(root, readme))) pages.push(readme)
}

const open = /^<!--\s*example:\s*(\S+)\s*-->\s*$/
const close = /^<!--\s*\/example\s*-->\s*$/
const notCompiled = /^<!--\s*not-compiled:\s*\S.*-->\s*$/
const tsFence = /^```(ts|typescript)\b/

const problems = []
const report = (file, line, message) => problems.push(`${file}:${line}: ${message}`)

for (const page of pages.toSorted()) {
  const text = fs.readFileSync(path.join(root, page), "utf8")
  const lines = text.split("\n")
  const out = []
  let changed = false
  // strict checks of unmarked ts blocks apply to docs/ pages only
  const strict = page.startsWith("docs/")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const marker = open.exec(line)
    if (marker) {
      const target = marker[1]
      const start = i + 1
      let end = start
      while (end < lines.length && !close.test(lines[end]) && !open.test(lines[end])) end++
      if (end >= lines.length || !close.test(lines[end])) {
        report(page, i + 1, `marker for ${target} has no closing <!-- /example -->`)
        out.push(line)
        continue
      }
      const targetPath = path.join(root, target)
      if (!fs.existsSync(targetPath)) {
        report(page, i + 1, `${target} does not exist`)
        for (let j = i; j <= end; j++) out.push(lines[j])
        i = end
        continue
      }
      const source = fs.readFileSync(targetPath, "utf8").replace(/\n+$/, "")
      // blank lines around the fence are allowed (dprint puts them there)
      let first = start
      let last = end
      while (first < last && lines[first].trim() === "") first++
      while (last > first && lines[last - 1].trim() === "") last--
      const body = lines.slice(first, last)
      const fenced = body.length >= 2 && tsFence.test(body[0]) && body[body.length - 1] === "```"
      const shown = fenced ? body.slice(1, -1).join("\n") : undefined
      const layout = first === start + 1 && last === end - 1
      if (shown !== source || (write && !layout)) {
        if (write) {
          changed = true
        } else if (!fenced) {
          report(page, first + 1, `block for ${target} must be a single \`\`\`ts fence`)
        } else {
          const shownLines = shown.split("\n")
          const sourceLines = source.split("\n")
          let k = 0
          while (k < shownLines.length && k < sourceLines.length && shownLines[k] === sourceLines[k]) k++
          report(
            page,
            first + 2 + k,
            `block differs from ${target} (its line ${k + 1}); run node scripts/check-doc-examples.mjs --write`
          )
        }
      }
      out.push(line, "", "```ts", source, "```", "", lines[end])
      i = end
      continue
    }
    if (strict && tsFence.test(line)) {
      let previous = i - 1
      while (previous >= 0 && lines[previous].trim() === "") previous--
      if (previous < 0 || !notCompiled.test(lines[previous])) {
        report(page, i + 1, "```ts block is neither an included example nor labelled <!-- not-compiled: reason -->")
      }
      // skip the block's body
      out.push(line)
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) out.push(lines[i])
      if (i < lines.length) out.push(lines[i])
      continue
    }
    out.push(line)
  }
  if (write && changed) fs.writeFileSync(path.join(root, page), out.join("\n"))
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(`docs:check: ${problems.length} problem(s)`)
  process.exit(1)
}
console.log(`docs:check: ${pages.length} page(s) ok`)
