import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Vitest 5's reporter calls Map.groupBy (Node >= 21). Node 20 lacks it, and
// without it a failing test crashes the reporter and hides the failure.
if (typeof (Map as any).groupBy !== "function") {
  ;(Map as any).groupBy = <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, Array<V>> => {
    const out = new Map<K, Array<V>>()
    let index = 0
    for (const item of items) {
      const k = key(item, index++)
      const bucket = out.get(k)
      if (bucket) bucket.push(item)
      else out.set(k, [item])
    }
    return out
  }
}
if (typeof (Object as any).groupBy !== "function") {
  ;(Object as any).groupBy = <V>(items: Iterable<V>, key: (item: V, index: number) => PropertyKey) => {
    const out: Record<PropertyKey, Array<V>> = Object.create(null)
    let index = 0
    for (const item of items) (out[key(item, index++)] ??= []).push(item)
    return out
  }
}

const root = path.dirname(fileURLToPath(import.meta.url))

// Tests import the package by its name; resolve it to the sources so no build
// is needed before a test run.
const alias = { "effect-task": path.join(root, "packages/task/src/index.ts") }

// CI asks for a JSON report too (VITEST_JSON=<file>), to print its closing line.
const jsonReport = process.env["VITEST_JSON"]

export default defineConfig({
  test: {
    reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
    projects: [
      {
        resolve: { alias },
        test: {
          name: "task",
          root: path.join(root, "packages/task"),
          include: ["test/**/*.test.ts"],
          setupFiles: [path.join(root, "vitest.setup.ts")]
        }
      },
      {
        resolve: { alias },
        test: {
          name: "demo",
          root: path.join(root, "packages/demo"),
          include: ["test/**/*.test.ts"],
          setupFiles: [path.join(root, "vitest.setup.ts")],
          passWithNoTests: true
        }
      },
      {
        resolve: { alias },
        test: {
          name: "docs",
          root: path.join(root, "docs/examples"),
          include: ["**/*.test.ts"],
          setupFiles: [path.join(root, "vitest.setup.ts")]
        }
      }
    ]
  }
})
