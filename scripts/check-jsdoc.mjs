#!/usr/bin/env node
// Checks the JSDoc of the public API of each published package
// (packages/task and packages/cluster): every export reachable from its
// src/index.ts, the static members of exported classes (TaskService.layer,
// layerBounded, layerUnbounded, metrics), the members of exported interfaces,
// and the functions an exported object gathers (ClusterCoalescer.make, layer,
// client: `{ make, layer, client }` of declarations in the same module).
//
// - exports and class statics: a summary, an @example holding a fenced code
//   block, @since and @category;
// - namespace declarations (TypeScript's "types that belong to X") and the
//   types inside them: a summary, @since and @category (no example: they
//   hold types only);
// - interface members (TaskServiceShape, Coalescer, TaskInfo): a summary.
//   TaskInfo's self-describing fields (id is documented, name and state are
//   not) are reported too, so every member says what it is.
//
// Usage: node scripts/check-jsdoc.mjs
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const packages = ["packages/task", "packages/cluster"]

const problems = []
let checked = 0

const where = (node) => {
  const file = node.getSourceFile()
  const { line } = file.getLineAndCharacterOfPosition(node.getStart(file))
  return `${path.relative(root, file.fileName)}:${line + 1}`
}

const text = (comment) => typeof comment === "string" ? comment : comment ? ts.getTextOfJSDocComment(comment) ?? "" : ""

/** The JSDoc blocks attached to a declaration (for variables: their statement). */
const docsOf = (node) => ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc)

const check = (label, node, { example, sinceAndCategory }) => {
  checked++
  const docs = docsOf(node)
  const missing = []
  const summary = docs.map((doc) => text(doc.comment).trim()).filter((s) => s.length > 0)
  if (summary.length === 0) missing.push("a summary")
  const tags = docs.flatMap((doc) => doc.tags ?? [])
  const tag = (name) => tags.filter((t) => t.tagName.text === name)
  if (example) {
    const examples = tag("example")
    if (examples.length === 0) missing.push("@example")
    else if (!examples.some((t) => /```[\s\S]*```/.test(text(t.comment)))) {
      missing.push("a fenced code block in @example")
    }
  }
  if (sinceAndCategory) {
    if (tag("since").length === 0) missing.push("@since")
    if (tag("category").length === 0) missing.push("@category")
  }
  if (missing.length > 0) problems.push(`${where(node)}: ${label}: missing ${missing.join(", ")}`)
}

const isStatic = (member) => ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static
const isPublic = (member) =>
  !(ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) &&
  !(member.name && ts.isPrivateIdentifier(member.name))

const checkInterfaceMembers = (label, decl) => {
  for (const member of decl.members) {
    if (!member.name) continue
    checkedMember(`${label}.${member.name.getText()}`, member)
  }
}
const checkedMember = (label, member) => check(label, member, { example: false, sinceAndCategory: false })

for (const pkg of packages) {
  const configPath = path.join(root, pkg, "tsconfig.json")
  const entry = path.join(root, pkg, "src/index.ts")
  const config = ts.readConfigFile(configPath, ts.sys.readFile)
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, path.dirname(configPath))
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(entry)
  if (!source) throw new Error(`cannot read ${entry}`)
  const moduleSymbol = checker.getSymbolAtLocation(source)
  if (!moduleSymbol) throw new Error(`${entry} is not a module`)
  const seen = new Set()
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
    const name = exported.getName()
    for (const decl of symbol.getDeclarations() ?? []) {
      if (seen.has(decl)) continue
      seen.add(decl)
      if (ts.isModuleDeclaration(decl)) {
        check(`namespace ${name}`, decl, { example: false, sinceAndCategory: true })
        const body = decl.body
        if (body && ts.isModuleBlock(body)) {
          for (const statement of body.statements) {
            if (statement.name) {
              check(`${name}.${statement.name.getText()}`, statement, { example: false, sinceAndCategory: true })
            }
          }
        }
        continue
      }
      check(name, decl, { example: true, sinceAndCategory: true })
      if (ts.isClassDeclaration(decl)) {
        for (const member of decl.members) {
          if (isStatic(member) && isPublic(member) && member.name) {
            check(`${name}.${member.name.getText()}`, member, { example: true, sinceAndCategory: true })
          }
        }
      }
      if (ts.isInterfaceDeclaration(decl)) checkInterfaceMembers(name, decl)
      // `export const X = { make, layer }`: each gathered declaration is public too
      if (ts.isVariableDeclaration(decl) && decl.initializer && ts.isObjectLiteralExpression(decl.initializer)) {
        for (const property of decl.initializer.properties) {
          if (!ts.isShorthandPropertyAssignment(property)) continue
          const target = checker.getShorthandAssignmentValueSymbol(property)
          for (const member of target?.getDeclarations() ?? []) {
            if (seen.has(member)) continue
            seen.add(member)
            check(`${name}.${property.name.getText()}`, member, { example: true, sinceAndCategory: true })
            if (ts.isInterfaceDeclaration(member)) checkInterfaceMembers(`${name}.${property.name.getText()}`, member)
          }
        }
      }
    }
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(`docs:jsdoc: ${problems.length} problem(s) in ${checked} checked declaration(s)`)
  process.exit(1)
}
console.log(`docs:jsdoc: ${checked} declaration(s) ok`)
