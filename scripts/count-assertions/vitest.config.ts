// The workspace's vitest config with one more setup file for the `task`
// project: setup.ts, which counts the assertions each test file executes.
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import base from "../../vitest.config.ts"

const here = path.dirname(fileURLToPath(import.meta.url))

type Project = { readonly test: { readonly name: string; readonly setupFiles: Array<string> } }

export default {
  ...base,
  test: {
    ...base.test,
    projects: (base.test!.projects as Array<Project>).map((project) =>
      project.test.name === "task"
        ? Object.assign({}, project, {
          test: Object.assign({}, project.test, {
            setupFiles: [...project.test.setupFiles, path.join(here, "setup.ts")]
          })
        })
        : project
    )
  }
}
