/**
 * From a read tree to the objects of each cluster, as Flux builds them, pure.
 * A root is a Flux Kustomization that no other Kustomization of the tree
 * builds; roots in the same directory (with the HelmReleases beside them
 * that nothing builds) form one cluster, named by that directory (relative
 * to the given dir). From each root the build follows `spec.path` (see
 * `sources.ts`, `kustomize.ts`), applies `spec.components`, `spec.patches`,
 * `spec.namePrefix` / `nameSuffix`, `spec.targetNamespace` and the
 * `postBuild` substitutions, and every Flux object the build yields is an
 * object of the cluster; its Kustomizations are followed in turn. A build
 * that kustomize would refuse fails that Kustomization's render. When no
 * root builds from the tree, every Flux object of its files is one cluster
 * `"."` (the fallback).
 */
import * as path from "node:path"
import { fluxKind, identify } from "./flux.ts"
import { applyKustomizeTransforms, type BuildContext, buildPath, patchFiles } from "./kustomize.ts"
import type { Doc, Tree } from "./load.ts"
import {
  failRenderAnnotation,
  isRecord,
  type Kind,
  objectKey,
  type ObjectSpec,
  type Problem,
  type Skipped
} from "./model.ts"
import {
  artifactCopies,
  bootstrapSources,
  postBuildVars,
  repositoryPath,
  repositoryRef,
  type SelfSources,
  type Source,
  sourceOf,
  variableSources
} from "./sources.ts"
import { substituteDisabled, substituteDocument, substituteText } from "./substitute.ts"
import { type Resource, setNamespace } from "./transform.ts"

/** What {@link buildClusters} found. */
export interface ClusterBuild {
  readonly mode: "clusters" | "fallback"
  readonly clusters: ReadonlyArray<{ readonly cluster: string; readonly roots: ReadonlyArray<string> }>
  /** sorted by cluster, then id */
  readonly objects: ReadonlyArray<ObjectSpec>
  readonly problems: ReadonlyArray<Problem>
  readonly skipped: Skipped
}

const docKey = (d: { readonly file: string; readonly docIndex: number }) => `${d.file}#${d.docIndex}`

const isInTree = (tree: Tree, target: string) => tree.docs.has(target) || tree.dirs.has(target)

/** A Flux Kustomization's `spec.components`, resolved against its path. */
const fluxComponents = (value: Record<string, unknown>, target: string): ReadonlyArray<string> => {
  const spec = isRecord(value.spec) ? value.spec : {}
  return (Array.isArray(spec.components) ? spec.components : [])
    .filter((c): c is string => typeof c === "string")
    .map((c) => path.resolve(target, c))
}

/** The documents a Kustomization builds: its path with components, patches, target namespace, substitutions. */
const buildKustomization = (
  ctx: BuildContext,
  vars: ReturnType<typeof variableSources>,
  source: Source & { readonly _tag: "Tree" },
  value: Record<string, unknown>,
  namespace: string,
  near: string
): Array<{ readonly resource: Resource; readonly unresolved: ReadonlyArray<string> }> => {
  const spec = isRecord(value.spec) ? value.spec : {}
  const resources = buildPath(ctx, source.target, fluxComponents(value, source.target))
  applyKustomizeTransforms(
    ctx,
    source.target,
    { patches: spec.patches, namePrefix: spec.namePrefix, nameSuffix: spec.nameSuffix },
    resources
  )
  if (typeof spec.targetNamespace === "string" && spec.targetNamespace.length > 0) {
    // kustomize-controller sets it as the namespace of the generated kustomization: Namespace objects are renamed too
    setNamespace(resources, spec.targetNamespace)
  }
  const variables = postBuildVars(vars, value, namespace, near)
  return resources.map((r) => {
    const before = isRecord(r.value.metadata) ? r.value.metadata : {}
    const names = [before.name, before.namespace].filter((s): s is string => typeof s === "string")
    const result = substituteDocument(r.value, variables)
    if (result.value !== undefined) r.value = result.value
    // a variable in a name that nothing sets: Flux would apply an empty string (or the literal text)
    const left = names.flatMap((s) =>
      variables.size === 0 || substituteDisabled(r.value)
        ? [...s.matchAll(/\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}/g)].map((x) => x[1]!)
        : substituteText(s, variables).unresolved
    )
    return { resource: r, unresolved: left }
  })
}

interface Pending {
  readonly kind: Kind
  readonly value: Record<string, unknown>
  readonly doc: { readonly file: string; readonly line: number; readonly docIndex: number }
  /** the Kustomization whose build yielded it (`undefined` for a root) */
  readonly parent: string | undefined
  /** variables of its name that the build left unresolved */
  readonly unresolved?: ReadonlyArray<string> | undefined
}

/**
 * The roots: Kustomizations no other Kustomization builds (raw builds,
 * without substitutions), and whether none of them builds from the tree.
 */
const findRoots = (
  tree: Tree,
  artifacts: ReturnType<typeof artifactCopies>,
  flux: ReadonlyArray<Doc & { readonly kind: Kind }>
) => {
  let self: SelfSources = bootstrapSources
  for (;;) {
    const builtBy = new Map<string, Set<string>>()
    const resolves = new Set<string>()
    for (const k of flux) {
      if (k.kind !== "Kustomization") continue
      const source = sourceOf(tree, artifacts, k.value as Record<string, unknown>, k.file, self)
      if (source._tag !== "Tree" || !isInTree(tree, source.target)) continue
      resolves.add(docKey(k))
      const quiet: BuildContext = { tree, problems: [], errors: [] }
      for (
        const r of buildPath(quiet, source.target, fluxComponents(k.value as Record<string, unknown>, source.target))
      ) {
        const set = builtBy.get(docKey(r)) ?? new Set()
        set.add(docKey(k))
        builtBy.set(docKey(r), set)
      }
    }
    const unbuilt = flux.filter((k) => [...(builtBy.get(docKey(k)) ?? [])].every((by) => by === docKey(k)))
    const roots = unbuilt.filter((k) => k.kind === "Kustomization")
    // HelmReleases beside the roots are applied with them (by whatever bootstrapped the roots)
    const rootDirs = new Set(roots.map((r) => path.dirname(r.file)))
    const beside = unbuilt.filter((d) => d.kind === "HelmRelease" && rootDirs.has(path.dirname(d.file)))
    // a root that builds a path of this tree from a repository source of another name: that source is this repository
    const more = roots.flatMap((r) => {
      const value = r.value as Record<string, unknown>
      const ref = repositoryRef(value)
      const spec = isRecord(value.spec) ? value.spec : {}
      const target = repositoryPath(tree.root, typeof spec.path === "string" ? spec.path : "./")
      return ref !== undefined && !self.has(ref) && isInTree(tree, target) && target !== tree.root ? [ref] : []
    })
    if (more.length === 0) return { roots, beside, self, fallback: !roots.some((r) => resolves.has(docKey(r))) }
    self = new Set([...self, ...more])
  }
}

/** Builds every cluster of `tree`. */
export const buildClusters = (tree: Tree): ClusterBuild => {
  const problems: Array<Problem> = []
  const ctx: BuildContext = { tree, problems, errors: [] }
  const patches = patchFiles(tree)
  const artifacts = artifactCopies(tree)
  const vars = variableSources(tree)
  const flux: Array<Doc & { readonly kind: Kind }> = []
  let documents = 0
  let patchDocs = 0
  for (const [file, docs] of tree.docs) {
    for (const doc of docs) {
      const kind = fluxKind(doc.value)
      if (patches.has(file)) patchDocs++
      else if (kind === undefined) documents++
      else flux.push({ ...doc, kind })
    }
  }

  const { beside, fallback, roots, self } = findRoots(tree, artifacts, flux)

  const objects: Array<ObjectSpec> = []
  const reached = new Set<string>()
  const clusters: Array<{ cluster: string; roots: Array<string> }> = []
  const problemSeen = new Set<string>()
  const problem = (p: Problem) => {
    const key = `${p.kind}|${p.file}|${p.line}|${p.message}`
    if (problemSeen.has(key)) return
    problemSeen.add(key)
    problems.push(p)
  }

  const groups = new Map<string, Array<Pending>>()
  if (fallback && flux.length > 0) {
    groups.set(
      ".",
      flux.map((d) => ({ kind: d.kind, value: d.value as Record<string, unknown>, doc: d, parent: undefined }))
    )
  } else if (!fallback) {
    for (const r of [...roots, ...beside]) {
      const cluster = path.relative(tree.root, path.dirname(r.file)) || "."
      const list = groups.get(cluster) ?? []
      list.push({ kind: r.kind, value: structuredClone(r.value) as Record<string, unknown>, doc: r, parent: undefined })
      groups.set(cluster, list)
    }
  }

  for (const [cluster, pending] of [...groups].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const clusterDir = path.join(tree.root, cluster)
    const seen = new Map<string, { readonly doc: string; readonly file: string; readonly line: number }>()
    const rootIds: Array<string> = []
    const queue = [...pending]
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const identity = identify(item.kind, item.value)
      reached.add(docKey(item.doc))
      const where = { file: item.doc.file, line: item.doc.line, column: null }
      const rawName = isRecord(item.value.metadata) ? String(item.value.metadata.name ?? "") : ""
      const left = item.unresolved
        ?? [...rawName.matchAll(/\$\{([_a-zA-Z][_a-zA-Z0-9]*)/g)].map((x) => x[1]!)
      if (left.length > 0) {
        problem({
          kind: "unresolved-variable",
          ...where,
          message: `${item.kind} name has an unresolved variable \${${left[0]}}; skipped`
        })
        continue
      }
      if (identity._tag === "Invalid") {
        problem({ kind: identity.problem, ...where, message: `${identity.message}; skipped` })
        continue
      }
      const first = seen.get(identity.id)
      if (first !== undefined) {
        // a root built by itself (flux-system building its own directory) is not a duplicate
        if (first.doc === docKey(item.doc) && item.parent === objectKey(cluster, identity.id)) continue
        problem({
          kind: "duplicate-id",
          ...where,
          message: `duplicate id ${identity.id} in cluster ${cluster} (first defined in `
            + `${path.relative(tree.root, first.file)}:${first.line}); skipped`
        })
        continue
      }
      seen.set(identity.id, { doc: docKey(item.doc), file: item.doc.file, line: item.doc.line })
      if (item.parent === undefined && !fallback && item.kind === "Kustomization") rootIds.push(identity.id)
      const key = objectKey(cluster, identity.id)
      const m = isRecord(item.value.metadata) ? item.value.metadata : {}
      const annotations = isRecord(m.annotations) ? m.annotations : {}
      const annotated = annotations[failRenderAnnotation]
      let failRender = annotated === undefined || annotated === null ? undefined : String(annotated)
      let build: ReadonlyArray<unknown> | undefined
      let sourceNote: string | undefined
      if (item.kind === "Kustomization" && !fallback) {
        const source = sourceOf(tree, artifacts, item.value, item.doc.file, self)
        if (source._tag === "External") sourceNote = source.note
        else if (!isInTree(tree, source.target)) {
          failRender ??= `spec.path ${path.relative(tree.root, source.target)} does not exist`
        } else {
          const own: BuildContext = { ...ctx, errors: [] }
          const built = buildKustomization(own, vars, source, item.value, identity.namespace, clusterDir)
          // kustomize build fails: Flux applies nothing of it (what it applied before stays)
          if (own.errors.length > 0) failRender ??= `kustomize build failed: ${own.errors[0]}`
          build = built.map((b) => b.resource.value)
          for (const { resource, unresolved } of built) {
            const kind = fluxKind(resource.value)
            if (kind !== undefined) queue.push({ kind, value: resource.value, doc: resource, parent: key, unresolved })
          }
        }
      }
      objects.push({
        key,
        cluster,
        id: identity.id,
        kind: identity.kind,
        name: identity.name,
        namespace: identity.namespace,
        dependsOn: identity.dependsOn,
        suspended: identity.suspended,
        file: item.doc.file,
        line: item.doc.line,
        failRender,
        value: item.value,
        build,
        sourceNote
      })
    }
    clusters.push({ cluster, roots: rootIds.toSorted() })
  }

  const unreached = flux.filter((d) => !reached.has(docKey(d))).map((d) => {
    const m = isRecord(d.value) && isRecord(d.value.metadata) ? d.value.metadata : {}
    return { id: `${d.kind}/${String(m.namespace ?? "-")}/${String(m.name ?? "-")}`, file: d.file }
  })
  objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const unique = new Map(problems.map((p) => [`${p.kind}|${p.file}|${p.line}|${p.message}`, p]))
  return {
    mode: fallback ? "fallback" : "clusters",
    clusters,
    objects,
    problems: [...unique.values()],
    skipped: { documents, patches: patchDocs, unreached }
  }
}
