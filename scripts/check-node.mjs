// Run first by the workspace's scripts (demo, test, bench, soak, example).
// pnpm puts the Node pinned in the lockfile (the optional dependency
// node-<platform>-<arch> of the root package.json) first on PATH. Where no
// such package exists for the platform (macOS on arm64, Windows on arm64),
// the scripts run on the system Node; say so when it is older than the oldest
// line effect-task supports. Written for any Node >= 12: it must run on the
// old Node it warns about.
import { existsSync, readFileSync } from "node:fs"

const engines = JSON.parse(readFileSync(new URL("../packages/task/package.json", import.meta.url), "utf8")).engines.node
const oldest = /^>=(\d+)\.(\d+)/.exec(engines)
if (oldest === null) {
  console.error(`check-node: cannot read engines.node of packages/task/package.json: ${engines}`)
  process.exit(1)
}
const [major, minor] = process.versions.node.split(".").map(Number)
const wanted = [Number(oldest[1]), Number(oldest[2])]
if (major < wanted[0] || (major === wanted[0] && minor < wanted[1])) {
  const bin = new URL(`../node_modules/.bin/${process.platform === "win32" ? "node.cmd" : "node"}`, import.meta.url)
  const why = existsSync(bin)
    ? "the pinned Node is installed in node_modules/.bin: run this through pnpm (pnpm <script>)"
    : `no pinned Node package exists for ${process.platform}-${process.arch}: install Node 24 and put it first on PATH`
  console.error(
    `warning: running on Node ${process.version} (${process.execPath}), older than the oldest supported line (${engines}); ${why}`
  )
}
