// Checks the shape that ships (`pnpm run check:pack`, run by .ci/run):
//
// 1. packs effect-task (its `prepack` builds dist from a clean state) into a
//    temporary directory outside the workspace;
// 2. runs publint on the tarball (warnings count as errors);
// 3. installs the tarball into a fresh consumer project there, with `effect`,
//    `typescript` and `@types/node` from the registry at pinned versions, and
//    checks that every relative import in the shipped `.d.ts` files is a
//    `.js` path that ships;
// 4. compiles the README's usage example (docs/examples/readme-usage.ts, which
//    docs:check keeps equal to the README block) under `moduleResolution`
//    `nodenext` and `bundler`, with the library's declarations type-checked,
//    and runs each build.
//
// 5. packs effect-task-cluster the same way (publint, the declarations'
//    relative imports), installs it into the same consumer with its peers
//    (`@effect/platform-node`, `@effect/sql-pg` at pinned versions), imports
//    it from Node and compiles its README example (docs/examples/
//    cluster-readme.ts; compiled, not run: it starts a runner).
//
// Any failure exits non-zero. Set KEEP_PACK_DIR=1 to keep the directory.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")
const versions = { effect: "4.1.0", typescript: "6.0.3", "@types/node": "22.20.5" }
const clusterPeers = { "@effect/platform-node": "4.1.0", "@effect/sql-pg": "4.0.5" }

const dir = mkdtempSync(path.join(os.tmpdir(), "effect-task-pack-"))
const fail = (message) => {
  console.error(`check-pack: ${message} (in ${dir})`)
  process.exit(1)
}
const run = (cwd, command, args) => {
  console.log(`check-pack: ${path.relative(root, cwd) || "."}$ ${[command, ...args].join(" ")}`)
  const result = spawnSync(command, args, { cwd, encoding: "utf8", shell: process.platform === "win32" })
  process.stdout.write(result.stdout ?? "")
  process.stderr.write(result.stderr ?? "")
  if (result.status !== 0) fail(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`)
  return result.stdout
}

/** Packs the workspace package `name` into a directory of its own under `dir`, lints it; returns the tarball. */
const pack = (name) => {
  const destination = path.join(dir, `pack-${name}`)
  mkdirSync(destination)
  run(root, "pnpm", ["--filter", name, "pack", "--pack-destination", destination])
  const tarballs = readdirSync(destination).filter((file) => file.endsWith(".tgz"))
  if (tarballs.length !== 1) fail(`expected one tarball of ${name}, found ${tarballs.join(", ") || "none"}`)
  const tarball = path.join(destination, tarballs[0])
  run(root, process.execPath, [path.join(root, "node_modules/publint/src/cli.js"), "run", tarball, "--strict"])
  return tarball
}

const consumer = path.join(dir, "consumer")
mkdirSync(consumer)
writeFileSync(
  path.join(consumer, "package.json"),
  JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)
)
/** Installs `tarball` into the consumer with `pins` ({ name: version }) from the registry. */
const install = (tarball, pins) =>
  run(consumer, "npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    tarball,
    ...Object.entries(pins).map(([name, version]) => `${name}@${version}`)
  ])

const tarball = pack("effect-task")
install(tarball, versions)

const installedDir = path.join(consumer, "node_modules/effect-task")
const installed = JSON.parse(readFileSync(path.join(installedDir, "package.json"), "utf8"))
if (installed.name !== "effect-task") fail(`installed ${installed.name}`)

// Every relative specifier in the shipped declarations names a `.js` file
// whose declarations ship next to it. (TypeScript 5+ also resolves `./X.ts`
// to `./X.d.ts`, so the compiles below would not catch a `.ts` specifier;
// older compilers and declaration tools reject it.)
const declarations = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    return entry.isDirectory() ? declarations(file) : entry.name.endsWith(".d.ts") ? [file] : []
  })
const relative = /(?:from|import|module)\s*\(?\s*(["'])(\.{1,2}\/[^"']*)\1/g
const checkDeclarations = (packageDir) => {
  let checked = 0
  for (const file of declarations(path.join(packageDir, "dist"))) {
    for (const [, , specifier] of readFileSync(file, "utf8").matchAll(relative)) {
      const where = `${path.relative(packageDir, file)} imports "${specifier}"`
      if (!specifier.endsWith(".js")) fail(`${where}: not a .js path`)
      const target = path.join(path.dirname(file), specifier.replace(/\.js$/, ".d.ts"))
      if (!existsSync(target)) fail(`${where}: ${path.relative(packageDir, target)} is not in the package`)
      checked++
    }
  }
  if (checked === 0) fail(`found no relative imports in the declarations of ${path.basename(packageDir)}`)
}
checkDeclarations(installedDir)

// The README's program, run, plus a line that must not type-check: if the
// declarations did not resolve, `TaskService` would be `any` and the
// expected error would be missing, which tsc reports.
const example = readFileSync(path.join(root, "docs/examples/readme-usage.ts"), "utf8")
writeFileSync(
  path.join(consumer, "main.ts"),
  `${example}
export const typesResolve = () =>
  // @ts-expect-error the bound is a number
  TaskService.layerBounded("8")

await Effect.runPromise(program)
console.log("consumer: the README program ran")
`
)

const base = {
  target: "ES2022",
  lib: ["ES2023", "DOM"],
  strict: true,
  exactOptionalPropertyTypes: true,
  types: ["node"],
  // type-check the shipped declarations too (effect's and effect-task's)
  skipLibCheck: false
}
const setups = {
  nodenext: { module: "NodeNext", moduleResolution: "NodeNext" },
  bundler: { module: "ESNext", moduleResolution: "Bundler" }
}
const tsc = path.join(consumer, "node_modules/typescript/bin/tsc")
for (const [name, resolution] of Object.entries(setups)) {
  const outDir = `out-${name}`
  writeFileSync(
    path.join(consumer, `tsconfig.${name}.json`),
    JSON.stringify({ compilerOptions: { ...base, ...resolution, outDir }, files: ["main.ts"] }, null, 2)
  )
  run(consumer, process.execPath, [tsc, "-p", `tsconfig.${name}.json`])
  const out = run(consumer, process.execPath, [path.join(outDir, "main.js")])
  if (!out.includes("consumer: the README program ran")) fail(`the ${name} build did not finish the program`)
}

// effect-task-cluster: packed, linted, installed beside effect-task with its peers
const clusterTarball = pack("effect-task-cluster")
install(clusterTarball, clusterPeers)
const clusterInstalled = path.join(consumer, "node_modules/effect-task-cluster")
checkDeclarations(clusterInstalled)
const exported = run(consumer, process.execPath, [
  "--input-type=module",
  "-e",
  `const m = await import("effect-task-cluster"); console.log(Object.keys(m).sort().join(","))`
]).trim()
for (const name of ["ClusterCoalescer", "ClusterRunner", "Fencing", "Retention"]) {
  if (!exported.split(",").includes(name)) fail(`effect-task-cluster does not export ${name} (exports: ${exported})`)
}
writeFileSync(
  path.join(consumer, "cluster.ts"),
  readFileSync(path.join(root, "docs/examples/cluster-readme.ts"), "utf8")
)
for (const [name, resolution] of Object.entries(setups)) {
  const config = `tsconfig.cluster-${name}.json`
  writeFileSync(
    path.join(consumer, config),
    JSON.stringify(
      // the peers' own declarations are theirs to check: only how ours resolve and type-check
      { compilerOptions: { ...base, ...resolution, skipLibCheck: true, noEmit: true }, files: ["cluster.ts"] },
      null,
      2
    )
  )
  run(consumer, process.execPath, [tsc, "-p", config])
}

if (process.env["KEEP_PACK_DIR"] === undefined) rmSync(dir, { recursive: true, force: true })
console.log(`check-pack: ${path.basename(tarball)} passes publint and builds and runs under nodenext and bundler`)
console.log(
  `check-pack: ${
    path.basename(clusterTarball)
  } passes publint, imports from Node and its README example compiles under nodenext and bundler`
)
