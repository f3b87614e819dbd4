import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))

// CI names the Node line each run must use (EXPECT_NODE=22, 24 or 26); the
// workers are forked from this process's Node, so checking it here is enough.
const expectNode = process.env["EXPECT_NODE"]
if (expectNode !== undefined && process.versions.node.split(".")[0] !== expectNode) {
  throw new Error(`vitest: running on Node ${process.version} (${process.execPath}), but EXPECT_NODE=${expectNode}`)
}

// Tests import the package by its name; resolve it to the sources so no build
// is needed before a test run.
const alias = {
  "effect-task": path.join(root, "packages/task/src/index.ts"),
  "effect-task-cluster": path.join(root, "packages/cluster/src/index.ts")
}

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
          name: "cluster",
          root: path.join(root, "packages/cluster"),
          include: ["test/**/*.test.ts"],
          setupFiles: [path.join(root, "vitest.setup.ts")]
        }
      },
      // The cluster integration suite (PostgreSQL, runner processes; two to three
      // minutes) runs only when asked for: `pnpm test:cluster` and .ci/run set
      // CLUSTER_INTEGRATION=1. It uses the built packages (dist), as its runner
      // processes do.
      ...(process.env["CLUSTER_INTEGRATION"] === "1"
        ? [{
          test: {
            name: "cluster-integration",
            root: path.join(root, "packages/cluster"),
            include: ["test-integration/**/*.test.ts"],
            setupFiles: [path.join(root, "vitest.setup.ts")],
            testTimeout: 240_000,
            hookTimeout: 240_000
          }
        }]
        : []),
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
