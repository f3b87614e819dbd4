/**
 * Random Flux trees for the generated tests, from a seed: the files to write
 * and, for every object the demo should find, what the generator meant
 * (cluster, id, file, dependencies, suspend, failing render), which
 * `oracle.ts` turns into expected verdicts.
 *
 * Two shapes: a flat folder of objects (the fallback cluster `"."`, objects
 * as written), and a cluster layout under a prefix (`clusters/<c>/` roots
 * building `infrastructure/` and `apps/`, kustomize `namespace:`,
 * targetNamespace, postBuild substitutions, patches, two clusters sharing
 * `apps/`). Both mix in same-name Kustomizations and HelmReleases,
 * cross-namespace `dependsOn`, injected 1-, 2- and 3-cycles, typos,
 * suspended objects, failing renders, non-Flux documents and multi-document
 * files.
 */
import type { Kind } from "../src/model.ts"

/** mulberry32 */
export const rng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  return {
    chance: (p: number) => next() < p,
    int,
    pick: <A>(xs: ReadonlyArray<A>): A => xs[int(xs.length)]!
  }
}
export type Rng = ReturnType<typeof rng>

export const apiVersion: Record<Kind, string> = {
  Kustomization: "kustomize.toolkit.fluxcd.io/v1",
  HelmRelease: "helm.toolkit.fluxcd.io/v2"
}

/** An object as the generator means it; `deps` are ids, resolved by {@link resolveDeps}. */
export interface GenObject {
  readonly cluster: string
  readonly kind: Kind
  name: string
  namespace: string
  /** relative to the generated dir */
  readonly file: string
  readonly deps: Array<{ readonly name: string; readonly namespace: string | undefined }>
  suspend: boolean
  failRender: boolean
}

export const idOf = (o: { kind: string; namespace: string; name: string }) => `${o.kind}/${o.namespace}/${o.name}`

/** The ids a generated object depends on (a dependency's namespace defaults to the object's). */
export const resolveDeps = (o: GenObject): Array<string> => [
  ...new Set(o.deps.map((d) => idOf({ kind: o.kind, namespace: d.namespace ?? o.namespace, name: d.name })))
]

export interface Generated {
  readonly files: Record<string, string>
  readonly objects: ReadonlyArray<GenObject>
  /** how many non-Flux documents outside patch files were written */
  readonly otherDocs: number
  readonly patchDocs: number
  /** the files with a missing-resource problem */
  readonly problems: ReadonlyArray<string>
}

/** A document's YAML, with the raw text of its fields (written, not yet built). */
export const fluxDoc = (
  kind: Kind,
  meta: { name: string; namespace?: string | undefined; annotations?: Record<string, string> },
  spec: ReadonlyArray<string>
): string => {
  const lines = [`apiVersion: ${apiVersion[kind]}`, `kind: ${kind}`, "metadata:", `  name: ${meta.name}`]
  if (meta.namespace !== undefined) lines.push(`  namespace: ${meta.namespace}`)
  if (meta.annotations !== undefined) {
    lines.push("  annotations:")
    for (const [k, v] of Object.entries(meta.annotations)) lines.push(`    ${k}: ${JSON.stringify(v)}`)
  }
  if (spec.length > 0) lines.push("spec:", ...spec)
  return lines.join("\n") + "\n"
}

export const dependsOnLines = (deps: ReadonlyArray<{ name: string; namespace?: string | undefined }>) =>
  deps.length === 0 ? [] : [
    "  dependsOn:",
    ...deps.flatMap((
      d
    ) => [`    - name: ${d.name}`, ...(d.namespace === undefined ? [] : [`      namespace: ${d.namespace}`])])
  ]

/** Non-Flux documents a real tree has. */
export const otherDoc = (r: Rng, n: number): string =>
  r.pick([
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-${n}\ndata:\n  KEY: "v${n}"\n`,
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: oci-${n}\nspec:\n  url: oci://x/y\n`,
    `apiVersion: example.com/v1\nkind: HelmRelease\nmetadata:\n  name: not-flux-${n}\n`,
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-${n}\n`
  ])

/** Joins documents the ways real files do (leading `---`, comments). */
export const join = (r: Rng, documents: ReadonlyArray<string>): string =>
  (r.chance(0.3) ? "---\n" : "") + (r.chance(0.2) ? "# generated\n" : "") + documents.join("---\n")

const shuffle = <A>(r: Rng, xs: ReadonlyArray<A>): Array<A> => {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const letters = "abcdefghijklmnopqrstuvwxyz"

/** A one-edit typo of `name` that is still a valid name. */
export const typo = (r: Rng, name: string): string => {
  const i = r.int(name.length)
  const c = r.pick([...letters])
  return r.pick([
    name.slice(0, i) + c + name.slice(i + 1),
    name.slice(0, i) + c + name.slice(i),
    name.length > 2 && i > 0 && i < name.length - 1 ? name.slice(0, i) + name.slice(i + 1) : name + c
  ])
}

/**
 * Adds random dependencies to `objects` (same kind, one cluster): a random
 * DAG over a random order, then injected cycles with dependents, typos,
 * cross-kind names (missing), and suspended / failing objects.
 */
export const addDependencies = (r: Rng, objects: ReadonlyArray<GenObject>, explicit: () => boolean): void => {
  // a different namespace is usually named (sometimes forgotten: then it is missing), the same one sometimes
  const ref = (from: GenObject, to: GenObject) => ({
    name: to.name,
    namespace: to.namespace !== from.namespace
      ? (r.chance(0.9) ? to.namespace : undefined)
      : explicit()
      ? to.namespace
      : undefined
  })
  for (const kind of ["Kustomization", "HelmRelease"] as const) {
    const own = shuffle(r, objects.filter((o) => o.kind === kind))
    own.forEach((o, i) => {
      const count = i === 0 ? 0 : r.int(3)
      for (let k = 0; k < count; k++) o.deps.push(ref(o, own[r.int(i)]!))
    })
    if (own.length >= 2 && r.chance(0.35)) {
      // a 1-, 2- or 3-cycle: each member waits on the next, the last on the first
      const size = Math.min(own.length, r.pick([1, 2, 2, 3, 3]))
      const start = r.int(own.length - size + 1)
      const members = own.slice(start, start + size)
      members.forEach((m, j) => m.deps.push(ref(m, members[(j + 1) % size]!)))
    }
  }
  for (const o of objects) {
    if (r.chance(0.06)) o.deps.push({ name: typo(r, o.name), namespace: undefined })
    // a name that exists only as the other kind: missing
    const other = objects.find((x) => x.kind !== o.kind && !objects.some((y) => y.kind === o.kind && y.name === x.name))
    if (other !== undefined && r.chance(0.04)) o.deps.push({ name: other.name, namespace: other.namespace })
    if (r.chance(0.07)) o.suspend = true
    if (r.chance(0.05)) o.failRender = true
  }
}

/** A flat folder of objects: the fallback cluster `"."`, every object as written. */
export const flatTree = (seed: number): Generated => {
  const r = rng(seed)
  const names = ["web", "db", "cache", "api", "queue", "auth", "search", "mail"].slice(0, 3 + r.int(6))
  const namespaces = ["default", "media", "flux-system", "db"]
  const objects: Array<GenObject> = []
  const ids = new Set<string>()
  const files: Record<string, string> = {}
  const n = 2 + r.int(18)
  for (let i = 0; i < n * 2 && objects.length < n; i++) {
    const kind = r.pick(["Kustomization", "HelmRelease"] as const)
    const o: GenObject = {
      cluster: ".",
      kind,
      name: r.chance(0.7) ? r.pick(names) : `${r.pick(names)}-${r.int(5)}`,
      namespace: r.pick(namespaces),
      file: "",
      deps: [],
      suspend: false,
      failRender: false
    }
    if (ids.has(idOf(o))) continue
    ids.add(idOf(o))
    objects.push(o)
  }
  addDependencies(r, objects, () => r.chance(0.3))
  // into files: 1-3 documents each, some in subdirectories, with other documents mixed in
  const placed: Array<GenObject> = []
  let otherDocs = 0
  let index = 0
  while (index < objects.length) {
    const count = 1 + r.int(3)
    const dir = r.pick(["", "", "apps/", "infra/base/"])
    const file = `${dir}f${index}.${r.pick(["yaml", "yaml", "yml"])}`
    const documents: Array<string> = []
    for (const o of objects.slice(index, index + count)) {
      placed.push({ ...o, file })
      const written = o.namespace === "default" && r.chance(0.5) ? undefined : o.namespace
      const spec = [
        ...(o.suspend ? ["  suspend: true"] : []),
        ...(o.kind === "Kustomization" && r.chance(0.3)
          ? ["  path: ./kustomize", "  sourceRef:", "    kind: GitRepository", "    name: podinfo"]
          : ["  interval: 10m"]),
        ...dependsOnLines(o.deps)
      ]
      const annotations = o.failRender
        ? { "demo.effect-task/fail-render": "values.yaml: broken on purpose" }
        : undefined
      documents.push(fluxDoc(o.kind, { name: o.name, namespace: written, ...(annotations && { annotations }) }, spec))
      if (r.chance(0.2)) {
        documents.push(otherDoc(r, otherDocs))
        otherDocs++
      }
    }
    files[file] = join(r, documents)
    index += count
  }
  let patchDocs = 0
  if (r.chance(0.4)) {
    // a plain kustomize file (with metadata.name and a namespace that the fallback does not apply) and a patch file
    const target = placed.find((o) => o.kind === "HelmRelease" && o.file.startsWith("f"))
    files["kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
      + "metadata:\n  name: looks-like-one\nnamespace: elsewhere\nresources:\n"
      + placed.filter((o) => !o.file.includes("/")).map((o) => `  - ${o.file}\n`).join("")
      + (target === undefined ? "" : "patches:\n  - path: patch.yaml\n")
    otherDocs++
    if (target !== undefined) {
      files["patch.yaml"] = fluxDoc("HelmRelease", { name: target.name }, ["  interval: 1h"])
      patchDocs++
    }
  }
  return {
    files,
    objects: placed,
    otherDocs,
    patchDocs,
    problems: []
  }
}
