// Builds a package's dist from a clean state for packing (the `prepack` of
// effect-task and effect-task-cluster: `node ../../scripts/build-package.mjs .`,
// the argument being the package's directory): removes dist and the build
// info, compiles, then rewrites the relative `.ts` specifiers in the emitted
// declarations to `.js`.
// `rewriteRelativeImportExtensions` rewrites them in the JavaScript only;
// TypeScript 6 still writes `from "./TaskService.ts"` into `.d.ts` files, which
// a consumer's compiler cannot resolve (dist holds no `.ts` files).
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")
const pkg = path.resolve(process.argv[2] ?? path.join(root, "packages/task"))
const dist = path.join(pkg, "dist")

rmSync(dist, { recursive: true, force: true })
rmSync(path.join(pkg, "build/src.tsbuildinfo"), { force: true })

const tsc = createRequire(path.join(root, "package.json")).resolve("typescript/bin/tsc")
const built = spawnSync(process.execPath, [tsc, "-b", path.join(pkg, "tsconfig.json")], { stdio: "inherit" })
if (built.status !== 0) process.exit(built.status ?? 1)

/** `from "./x.ts"`, `import("./x.ts")` and `declare module "./x.ts"` with a relative specifier */
const specifier = /((?:from|import|module)\s*\(?\s*)(["'])(\.{1,2}\/[^"']*?)\.ts\2/g

const declarations = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    return entry.isDirectory() ? declarations(file) : entry.name.endsWith(".d.ts") ? [file] : []
  })

let rewritten = 0
for (const file of declarations(dist)) {
  const text = readFileSync(file, "utf8")
  const next = text.replace(specifier, (_, lead, quote, base) => `${lead}${quote}${base}.js${quote}`)
  if (next !== text) {
    writeFileSync(file, next)
    rewritten++
  }
  const left = /(["'])\.{1,2}\/[^"']*\.ts\1/.exec(next)
  if (left !== null) {
    console.error(`build-package: ${path.relative(root, file)} still imports ${left[0]}`)
    process.exit(1)
  }
}
console.log(
  `build-package: built ${path.relative(root, dist)}, ${rewritten} declaration files rewritten to .js imports`
)
