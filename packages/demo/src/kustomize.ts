/**
 * `kustomize build` of a path of the tree, as kustomize-controller runs it,
 * pure over the read tree: a file contributes its documents; a directory
 * with a `kustomization.yaml` its `resources` (files and directories),
 * `components`, ConfigMap generators (literals), then its patches,
 * `namePrefix` / `nameSuffix`, `namespace:` and `replacements`; a directory
 * without one contributes its YAML files and, as a directory resource, each
 * subdirectory that has one (kustomize-controller's generated
 * kustomization). Remote resources are not followed. A `resources` entry
 * that does not exist (or a directory resource without a kustomization
 * file) is a problem and a build error (`BuildContext.errors`).
 */
import * as path from "node:path"
import { parseAllDocuments } from "yaml"
import type { Doc, Tree } from "./load.ts"
import { isRecord, type Problem } from "./model.ts"
import { applyPatch, applyReplacements, type Resource, setNameAffixes, setNamespace } from "./transform.ts"

const kustomizationNames = ["kustomization.yaml", "kustomization.yml", "Kustomization"]

/** The kustomize file of a directory (a plain kustomize `Kustomization` or `Component`), if any. */
export const kustomizationFile = (tree: Tree, dir: string): Doc | undefined => {
  for (const name of kustomizationNames) {
    const docs = tree.docs.get(path.join(dir, name))
    if (docs !== undefined) return docs[0] ?? { file: path.join(dir, name), line: 1, docIndex: 0, value: {} }
  }
  return undefined
}

/** Whether a document is a kustomize config file (`kustomize.config.k8s.io`), not a resource. */
export const isKustomizeConfig = (value: unknown): boolean =>
  isRecord(value) && typeof value.apiVersion === "string" && value.apiVersion.startsWith("kustomize.config.k8s.io/")

const isRemote = (entry: string): boolean => /^[a-z]+:\/\//.test(entry) || /^(github\.com|gitlab\.com)\//.test(entry)

const strings = (u: unknown): ReadonlyArray<string> =>
  Array.isArray(u) ? u.filter((e): e is string => typeof e === "string") : []

/** The files that kustomize files of the tree use as patches (their documents are not objects). */
export const patchFiles = (tree: Tree): ReadonlySet<string> => {
  const files = new Set<string>()
  for (const [file, docs] of tree.docs) {
    if (!kustomizationNames.includes(path.basename(file))) continue
    const k = docs[0]?.value
    if (!isRecord(k)) continue
    const dir = path.dirname(file)
    for (const p of Array.isArray(k.patches) ? k.patches : []) {
      if (isRecord(p) && typeof p.path === "string") files.add(path.resolve(dir, p.path))
    }
    for (const p of [...strings(k.patchesStrategicMerge), ...strings(k.patchesJson6902)]) {
      if (!p.includes("\n")) files.add(path.resolve(dir, p))
    }
    for (const p of Array.isArray(k.patchesJson6902) ? k.patchesJson6902 : []) {
      if (isRecord(p) && typeof p.path === "string") files.add(path.resolve(dir, p.path))
    }
    for (const r of Array.isArray(k.replacements) ? k.replacements : []) {
      if (isRecord(r) && typeof r.path === "string") files.add(path.resolve(dir, r.path))
    }
  }
  return files
}

/** What a build collects besides its resources. */
export interface BuildContext {
  readonly tree: Tree
  readonly problems: Array<Problem>
  /** why `kustomize build` would fail (the Flux Kustomization's render fails with the first) */
  readonly errors: Array<string>
}

/** A build error: an input problem, and a reason for the Flux Kustomization that builds it to fail. */
const buildError = (
  ctx: BuildContext,
  at: { readonly file: string; readonly line: number | null },
  message: string
) => {
  ctx.problems.push({ kind: "missing-resource", file: at.file, line: at.line, column: null, message })
  ctx.errors.push(`${message} (${path.relative(ctx.tree.root, at.file)})`)
}

const fromDocs = (docs: ReadonlyArray<Doc>): Array<Resource> =>
  docs.filter((d) => isRecord(d.value) && !isKustomizeConfig(d.value)).map((d) => ({
    value: structuredClone(d.value) as Record<string, unknown>,
    file: d.file,
    line: d.line,
    docIndex: d.docIndex
  }))

/** The bodies of a `patches` entry: its inline `patch` text or the documents of its `path`. */
const patchBodies = (ctx: BuildContext, dir: string, entry: unknown): ReadonlyArray<unknown> => {
  if (typeof entry === "string") {
    if (entry.includes("\n") || entry.trimStart().startsWith("apiVersion")) return parseInline(entry)
    return (ctx.tree.docs.get(path.resolve(dir, entry)) ?? []).map((d) => d.value)
  }
  if (!isRecord(entry)) return []
  if (typeof entry.patch === "string") return parseInline(entry.patch)
  if (typeof entry.path === "string") {
    return (ctx.tree.docs.get(path.resolve(dir, entry.path)) ?? []).map((d) => d.value)
  }
  return []
}

const parseInline = (text: string): ReadonlyArray<unknown> => {
  try {
    return parseAllDocuments(text, { merge: true }).filter((d) => d.errors.length === 0).map((d) => d.toJS() as unknown)
  } catch {
    return []
  }
}

/** Applies the patches, `namespace:` and `replacements` of a kustomize file (or a Flux Kustomization's spec). */
export const applyKustomizeTransforms = (
  ctx: BuildContext,
  dir: string,
  k: Record<string, unknown>,
  resources: ReadonlyArray<Resource>
): void => {
  for (const entry of Array.isArray(k.patches) ? k.patches : []) {
    const target = isRecord(entry) ? entry.target : undefined
    for (const body of patchBodies(ctx, dir, entry)) applyPatch(resources, body, target)
  }
  for (const entry of Array.isArray(k.patchesStrategicMerge) ? k.patchesStrategicMerge : []) {
    for (const body of patchBodies(ctx, dir, entry)) applyPatch(resources, body, undefined)
  }
  for (const entry of Array.isArray(k.patchesJson6902) ? k.patchesJson6902 : []) {
    if (!isRecord(entry)) continue
    const ops = isRecord(entry) && Array.isArray(entry.patch) ? [entry.patch] : patchBodies(ctx, dir, entry)
    for (const body of ops) applyPatch(resources, body, entry.target)
  }
  if (typeof k.namePrefix === "string" || typeof k.nameSuffix === "string") {
    setNameAffixes(
      resources,
      typeof k.namePrefix === "string" ? k.namePrefix : "",
      typeof k.nameSuffix === "string" ? k.nameSuffix : ""
    )
  }
  if (typeof k.namespace === "string" && k.namespace.length > 0) setNamespace(resources, k.namespace)
  const replacements = (Array.isArray(k.replacements) ? k.replacements : []).flatMap((r) =>
    isRecord(r) && typeof r.path === "string"
      ? patchBodies(ctx, dir, r.path).flatMap((b) => (Array.isArray(b) ? b : [b]))
      : [r]
  )
  if (replacements.length > 0) applyReplacements(resources, replacements)
}

/** ConfigMaps of `configMapGenerator` entries with `literals` (what postBuild `substituteFrom` can read). */
const generated = (k: Record<string, unknown>, file: string): Array<Resource> =>
  (Array.isArray(k.configMapGenerator) ? k.configMapGenerator : []).flatMap((g) => {
    if (!isRecord(g) || typeof g.name !== "string") return []
    const data: Record<string, string> = {}
    for (const literal of strings(g.literals)) {
      const eq = literal.indexOf("=")
      if (eq > 0) data[literal.slice(0, eq)] = literal.slice(eq + 1)
    }
    const metadata: Record<string, unknown> = { name: g.name }
    if (typeof g.namespace === "string") metadata.namespace = g.namespace
    return [{ value: { apiVersion: "v1", kind: "ConfigMap", metadata, data }, file, line: 1, docIndex: 0 }]
  })

/**
 * Builds `target` (a file or a directory of the tree) with the extra
 * `components` (absolute paths) a Flux Kustomization adds.
 * `stack` guards against directories that include themselves.
 */
export const buildPath = (
  ctx: BuildContext,
  target: string,
  components: ReadonlyArray<string> = [],
  stack: ReadonlyArray<string> = []
): Array<Resource> => {
  const fileDocs = ctx.tree.docs.get(target)
  if (fileDocs !== undefined) return fromDocs(fileDocs)
  if (!ctx.tree.dirs.has(target) || stack.includes(target)) return []
  const inner = [...stack, target]
  const k = kustomizationFile(ctx.tree, target)
  const resources: Array<Resource> = []
  if (k === undefined || !isRecord(k.value)) {
    // kustomize-controller's generated kustomization: every YAML file, and subdirectories with their own
    const prefix = target + path.sep
    for (const file of ctx.tree.files) {
      if (!file.startsWith(prefix)) continue
      const rel = path.relative(target, path.dirname(file))
      const parts = rel === "" ? [] : rel.split(path.sep)
      const owner = parts.findIndex((_, i) => kustomizationFile(ctx.tree, path.join(target, ...parts.slice(0, i + 1))))
      if (owner === -1) resources.push(...fromDocs(ctx.tree.docs.get(file) ?? []))
    }
    for (const dir of ctx.tree.dirs) {
      if (!dir.startsWith(prefix) || kustomizationFile(ctx.tree, dir) === undefined) continue
      const rel = path.relative(target, dir).split(path.sep)
      const outer = rel.slice(0, -1).some((_, i) =>
        kustomizationFile(ctx.tree, path.join(target, ...rel.slice(0, i + 1)))
      )
      if (!outer) resources.push(...buildPath(ctx, dir, [], inner))
    }
  } else {
    const value = k.value
    const entries = [...strings(value.resources), ...strings(value.bases)]
    for (const entry of entries) {
      if (isRemote(entry)) continue
      const resolved = path.resolve(target, entry)
      if (!ctx.tree.docs.has(resolved) && !ctx.tree.dirs.has(resolved)) {
        // a file that is not YAML (JSON, say) exists but is not read: nothing to report
        if (!ctx.tree.allFiles.has(resolved)) {
          buildError(ctx, k, `resources entry ${JSON.stringify(entry)} does not exist`)
        }
        continue
      }
      if (ctx.tree.dirs.has(resolved) && kustomizationFile(ctx.tree, resolved) === undefined) {
        buildError(ctx, k, `resources entry ${JSON.stringify(entry)} is a directory without a kustomization file`)
        continue
      }
      resources.push(...buildPath(ctx, resolved, [], inner))
    }
    resources.push(...generated(value, k.file))
    for (const component of strings(value.components)) {
      addComponent(ctx, resources, path.resolve(target, component), inner, k)
    }
    applyKustomizeTransforms(ctx, target, value, resources)
  }
  for (const component of components) addComponent(ctx, resources, component, inner, undefined)
  return resources
}

/** A component adds its resources to the including build, then transforms the whole of it. */
const addComponent = (
  ctx: BuildContext,
  resources: Array<Resource>,
  dir: string,
  stack: ReadonlyArray<string>,
  includer: Doc | undefined
): void => {
  const k = kustomizationFile(ctx.tree, dir)
  if (k === undefined || !isRecord(k.value)) {
    if (includer !== undefined || !ctx.tree.dirs.has(dir)) {
      buildError(
        ctx,
        { file: includer?.file ?? dir, line: includer?.line ?? null },
        `component ${JSON.stringify(path.relative(ctx.tree.root, dir))} has no kustomization file`
      )
    }
    return
  }
  for (const entry of strings(k.value.resources)) {
    const resolved = path.resolve(dir, entry)
    if (!ctx.tree.docs.has(resolved) && !ctx.tree.dirs.has(resolved)) {
      buildError(ctx, k, `resources entry ${JSON.stringify(entry)} does not exist`)
      continue
    }
    resources.push(...buildPath(ctx, resolved, [], stack))
  }
  for (const component of strings(k.value.components)) {
    addComponent(ctx, resources, path.resolve(dir, component), stack, k)
  }
  applyKustomizeTransforms(ctx, dir, k.value, resources)
}
