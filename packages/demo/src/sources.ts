/**
 * Where a Flux Kustomization's `spec.path` points in the tree, pure. Its
 * source is this repository when `spec.sourceRef` is the bootstrap source
 * (`GitRepository` or `OCIRepository` named `flux-system`) or another
 * repository source a root Kustomization builds from the tree with (see
 * `clusters.ts`), or an `ExternalArtifact` that an `ArtifactGenerator` of
 * the tree makes from one of those
 * (its `copy` entries `@alias/dir/**` → `@artifact/dest/` map the path back
 * into the tree). `spec.path` is joined to the repository root as
 * kustomize-controller joins it (`securejoin`: `/apps` is `apps`, `..` stops
 * at the root). Any other source (another repository, a Helm chart, an OCI
 * artifact) cannot be followed: the object still gets a verdict, built from
 * nothing. Also the variables of `postBuild` (`substitute`, `substituteFrom`
 * ConfigMaps and Secrets found in the tree).
 */
import * as path from "node:path"
import type { Tree } from "./load.ts"
import { isRecord, nonEmptyString } from "./model.ts"

/** Where a Kustomization builds from: an absolute path in the tree, or why it cannot be followed. */
export type Source =
  | { readonly _tag: "Tree"; readonly target: string }
  | { readonly _tag: "External"; readonly note: string }

/** The sources taken as this repository, as `Kind/name`. */
export type SelfSources = ReadonlySet<string>

/** The bootstrap sources: always this repository. */
export const bootstrapSources: SelfSources = new Set(["GitRepository/flux-system", "OCIRepository/flux-system"])

const refOf = (ref: Record<string, unknown>): string => `${String(ref.kind)}/${String(ref.name)}`

/** A `GitRepository` or `OCIRepository` reference that could be this repository under another name. */
export const repositoryRef = (value: Record<string, unknown>): string | undefined => {
  const spec = isRecord(value.spec) ? value.spec : {}
  const ref = isRecord(spec.sourceRef) ? spec.sourceRef : undefined
  return ref !== undefined && (ref.kind === "GitRepository" || ref.kind === "OCIRepository") ? refOf(ref) : undefined
}

interface Copy {
  readonly from: string
  readonly to: string
  /** the generator source copied from, `Kind/name` */
  readonly source: string
}

/** An artifact of an `ArtifactGenerator`: the generator's directory and its copies (tree-relative). */
interface Artifact {
  readonly dir: string
  readonly copies: ReadonlyArray<Copy>
}

/** `ArtifactGenerator` artifacts of the tree, by name. */
export const artifactCopies = (tree: Tree): ReadonlyMap<string, ReadonlyArray<Artifact>> => {
  const out = new Map<string, Array<Artifact>>()
  for (const docs of tree.docs.values()) {
    for (const doc of docs) {
      const v = doc.value
      if (!isRecord(v) || v.kind !== "ArtifactGenerator" || !isRecord(v.spec)) continue
      const aliases = new Map<string, string>()
      for (const source of Array.isArray(v.spec.sources) ? v.spec.sources : []) {
        if (isRecord(source) && typeof source.alias === "string") aliases.set(source.alias, refOf(source))
      }
      for (const artifact of Array.isArray(v.spec.artifacts) ? v.spec.artifacts : []) {
        if (!isRecord(artifact) || typeof artifact.name !== "string") continue
        const copies: Array<Copy> = []
        for (const c of Array.isArray(artifact.copy) ? artifact.copy : []) {
          if (!isRecord(c) || typeof c.from !== "string" || typeof c.to !== "string") continue
          const from = /^@([^/]+)\/(.*?)(\/\*\*)?$/.exec(c.from)
          const to = /^@artifact\/?(.*?)\/?$/.exec(c.to)
          if (from === null || to === null || !aliases.has(from[1]!)) continue
          copies.push({ from: from[2]!, to: to[1]!, source: aliases.get(from[1]!)! })
        }
        if (copies.length > 0) {
          out.set(artifact.name, [...(out.get(artifact.name) ?? []), { dir: path.dirname(doc.file), copies }])
        }
      }
    }
  }
  return out
}

/** How many leading path segments two paths share. */
const shared = (a: string, b: string): number => {
  const x = a.split(path.sep)
  const y = b.split(path.sep)
  let n = 0
  while (n < x.length && n < y.length && x[n] === y[n]) n++
  return n
}

/**
 * `specPath` joined to the repository root as kustomize-controller does
 * (`securejoin`): the path is read as rooted at the repository, so `/apps`
 * is `apps` and a `..` cannot climb above the root.
 */
export const repositoryPath = (root: string, ...parts: ReadonlyArray<string>): string =>
  path.join(root, ...repositorySegments(parts.join("/")))

/** The segments of `specPath` read as rooted at the repository (see {@link repositoryPath}). */
const repositorySegments = (specPath: string): Array<string> => {
  const kept: Array<string> = []
  for (const segment of specPath.split("/")) {
    if (segment === "..") kept.pop()
    else if (segment !== "" && segment !== ".") kept.push(segment)
  }
  return kept
}

/** The source of a Flux Kustomization's value. */
export const sourceOf = (
  tree: Tree,
  artifacts: ReadonlyMap<string, ReadonlyArray<Artifact>>,
  value: Record<string, unknown>,
  file: string,
  self: SelfSources
): Source => {
  const spec = isRecord(value.spec) ? value.spec : {}
  const ref = isRecord(spec.sourceRef) ? spec.sourceRef : undefined
  const specPath = typeof spec.path === "string" ? spec.path : "./"
  if (ref === undefined) return { _tag: "External", note: "no spec.sourceRef: nothing to build from" }
  let target: string | undefined
  if (self.has(refOf(ref))) target = repositoryPath(tree.root, specPath)
  else if (ref.kind === "ExternalArtifact" && typeof ref.name === "string" && artifacts.has(ref.name)) {
    const rel = repositorySegments(specPath).join("/")
    // several clusters may each generate an artifact of that name: take the one nearest the Kustomization's file
    const nearest = artifacts.get(ref.name)!.toSorted((a, b) => shared(b.dir, file) - shared(a.dir, file))[0]!
    for (const copy of nearest.copies) {
      if (!self.has(copy.source)) continue
      if (copy.to === "" || rel === copy.to || rel.startsWith(`${copy.to}/`)) {
        target = repositoryPath(tree.root, copy.from, copy.to === "" ? rel : rel.slice(copy.to.length + 1))
        break
      }
    }
  }
  const refText = `${String(ref.kind)}/${nonEmptyString(ref.name) ?? "(no name)"}`
  if (target === undefined) {
    return { _tag: "External", note: `source ${refText} is not this repository: its build is not followed` }
  }
  return { _tag: "Tree", target }
}

/**
 * ConfigMaps and Secrets of the tree by name (for `substituteFrom`), with
 * their data decoded; also those of kustomize generators with `literals`.
 */
export const variableSources = (
  tree: Tree
): ReadonlyMap<
  string,
  ReadonlyArray<{ kind: string; namespace: string | undefined; file: string; data: Map<string, string> }>
> => {
  const out = new Map<
    string,
    Array<{ kind: string; namespace: string | undefined; file: string; data: Map<string, string> }>
  >()
  for (const docs of tree.docs.values()) {
    for (const doc of docs) {
      const v = doc.value
      if (!isRecord(v) || (v.kind !== "ConfigMap" && v.kind !== "Secret") || !isRecord(v.metadata)) continue
      const name = nonEmptyString(v.metadata.name)
      if (name === undefined) continue
      const data = new Map<string, string>()
      if (isRecord(v.data)) {
        for (const [k, d] of Object.entries(v.data)) {
          data.set(k, v.kind === "Secret" ? Buffer.from(String(d), "base64").toString("utf8") : String(d))
        }
      }
      if (isRecord(v.stringData)) { for (const [k, d] of Object.entries(v.stringData)) data.set(k, String(d)) }
      const list = out.get(name) ?? []
      list.push({ kind: v.kind, namespace: nonEmptyString(v.metadata.namespace), file: doc.file, data })
      out.set(name, list)
    }
    // kustomize generators with literals (`KEY=value`)
    const k = docs[0]
    if (
      k === undefined || !isRecord(k.value) || !String(k.value.apiVersion ?? "").startsWith("kustomize.config.k8s.io/")
    ) {
      continue
    }
    for (const [field, kind] of [["configMapGenerator", "ConfigMap"], ["secretGenerator", "Secret"]] as const) {
      for (const g of Array.isArray(k.value[field]) ? k.value[field] : []) {
        if (!isRecord(g) || typeof g.name !== "string" || !Array.isArray(g.literals)) continue
        const data = new Map<string, string>()
        for (const literal of g.literals) {
          const text = String(literal)
          if (text.indexOf("=") > 0) data.set(text.slice(0, text.indexOf("=")), text.slice(text.indexOf("=") + 1))
        }
        const namespace = nonEmptyString(g.namespace) ?? nonEmptyString(k.value.namespace)
        out.set(g.name, [...(out.get(g.name) ?? []), { kind, namespace, file: k.file, data }])
      }
    }
  }
  return out
}

/**
 * The `postBuild` variables of a Kustomization in `namespace`: its
 * `substituteFrom` sources found in the tree, in order, then `substitute`
 * (which wins). Of several sources of one name, the one in the
 * Kustomization's namespace nearest to `near` (the cluster's directory) is
 * taken. Newlines are dropped from values, as Flux does. A source
 * that is not in the tree (made at run time, e.g. by an ExternalSecret)
 * contributes nothing.
 */
export const postBuildVars = (
  sources: ReturnType<typeof variableSources>,
  value: Record<string, unknown>,
  namespace: string,
  near: string
): Map<string, string> => {
  const spec = isRecord(value.spec) ? value.spec : {}
  const postBuild = isRecord(spec.postBuild) ? spec.postBuild : {}
  const vars = new Map<string, string>()
  for (const ref of Array.isArray(postBuild.substituteFrom) ? postBuild.substituteFrom : []) {
    if (!isRecord(ref) || typeof ref.name !== "string") continue
    const found = (sources.get(ref.name) ?? [])
      .filter((s) => s.kind === ref.kind && (s.namespace === namespace || s.namespace === undefined))
      .toSorted((a, b) => shared(b.file, near) - shared(a.file, near))[0]
    for (const [k, v] of found?.data ?? []) vars.set(k, v.replaceAll("\n", ""))
  }
  if (isRecord(postBuild.substitute)) {
    for (const [k, v] of Object.entries(postBuild.substitute)) vars.set(k, String(v).replaceAll("\n", ""))
  }
  return vars
}
