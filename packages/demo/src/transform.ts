/**
 * The kustomize transformations the demo applies to built documents, pure:
 * selecting resources (`target` / `select`), strategic-merge and JSON 6902
 * patches, the `namespace:` override and `replacements`. Only the forms real
 * GitOps repositories use for Flux objects are covered: maps merge
 * recursively, lists are replaced (as for custom resources), a `null` value
 * deletes a key; JSON 6902 `add`, `replace` and `remove`.
 */
import { isRecord } from "./model.ts"

/** A built document: its value (mutable, a copy) and where it came from. */
export interface Resource {
  value: Record<string, unknown>
  readonly file: string
  readonly line: number
  readonly docIndex: number
}

const meta = (value: Record<string, unknown>): Record<string, unknown> => isRecord(value.metadata) ? value.metadata : {}

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

/** `apiVersion` `group/version` → group (`""` for the core group). */
export const groupOf = (value: Record<string, unknown>): string => {
  const apiVersion = str(value.apiVersion) ?? ""
  return apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : ""
}

const anchored = (pattern: string, text: string): boolean => {
  try {
    return new RegExp(`^(?:${pattern})$`).test(text)
  } catch {
    return pattern === text
  }
}

const matchesLabels = (selector: string, labels: unknown): boolean => {
  const have = isRecord(labels) ? labels : {}
  return selector.split(",").map((s) => s.trim()).filter((s) => s.length > 0).every((term) => {
    const [k = "", v] = term.split("=").map((s) => s.trim())
    return v === undefined ? k in have : String(have[k]) === v
  })
}

/** Whether `value` is selected by a kustomize selector (`target`, `select`, `reject`); names are regexes. */
export const selects = (selector: unknown, value: Record<string, unknown>): boolean => {
  if (!isRecord(selector)) return true
  const m = meta(value)
  const checks: Array<[unknown, string]> = [
    [selector.group, groupOf(value)],
    [selector.kind, str(value.kind) ?? ""],
    [selector.name, str(m.name) ?? ""],
    [selector.namespace, str(m.namespace) ?? ""]
  ]
  for (const [want, have] of checks) if (typeof want === "string" && !anchored(want, have)) return false
  if (typeof selector.version === "string") {
    const apiVersion = str(value.apiVersion) ?? ""
    if (apiVersion.slice(apiVersion.indexOf("/") + 1) !== selector.version) return false
  }
  if (typeof selector.labelSelector === "string" && !matchesLabels(selector.labelSelector, m.labels)) return false
  if (
    typeof selector.annotationSelector === "string" && !matchesLabels(selector.annotationSelector, m.annotations)
  ) return false
  return true
}

/** Strategic merge of `patch` into `target` for custom resources: maps merge, lists and scalars replace. */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isRecord(patch) || !isRecord(target)) return structuredClone(patch)
  const out: Record<string, unknown> = { ...target }
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch") continue
    if (value === null) delete out[key]
    else out[key] = mergePatch(target[key], value)
  }
  return out
}

const pointer = (p: string): Array<string> =>
  p.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))

/** Applies JSON 6902 operations (`add`, `replace`, `remove`); other operations and bad paths are ignored. */
export const applyJson6902 = (target: Record<string, unknown>, ops: ReadonlyArray<unknown>): void => {
  for (const op of ops) {
    if (!isRecord(op) || typeof op.path !== "string") continue
    const parts = pointer(op.path)
    const last = parts.pop()
    if (last === undefined) continue
    let node: unknown = target
    for (const part of parts) {
      if (Array.isArray(node)) node = node[Number(part)]
      else if (isRecord(node)) {
        if (node[part] === undefined && op.op === "add") node[part] = {}
        node = node[part]
      } else node = undefined
    }
    if (Array.isArray(node)) {
      const index = last === "-" ? node.length : Number(last)
      if (!Number.isInteger(index)) continue
      if (op.op === "add") node.splice(index, 0, structuredClone(op.value))
      else if (op.op === "replace") node[index] = structuredClone(op.value)
      else if (op.op === "remove") node.splice(index, 1)
    } else if (isRecord(node)) {
      if (op.op === "add" || op.op === "replace") node[last] = structuredClone(op.value)
      else if (op.op === "remove") delete node[last]
    }
  }
}

/**
 * Applies one patch body to the resources: an array is JSON 6902 (needs a
 * target), a mapping a strategic merge (to the target, or else to the
 * resources of its own kind and name).
 */
export const applyPatch = (resources: ReadonlyArray<Resource>, body: unknown, target: unknown): void => {
  if (Array.isArray(body)) {
    if (target === undefined) return
    for (const r of resources) if (selects(target, r.value)) applyJson6902(r.value, body)
    return
  }
  if (!isRecord(body)) return
  const own = meta(body)
  const selector = target ?? {
    kind: str(body.kind),
    name: str(own.name)?.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    namespace: str(own.namespace)
  }
  // with a target, the patch's own name and namespace (often a placeholder like `_`) are not applied
  const merged = target === undefined ? body : { ...body, metadata: stripIdentity(own) }
  for (const r of resources) {
    if (selects(selector, r.value)) r.value = mergePatch(r.value, merged) as Record<string, unknown>
  }
}

const stripIdentity = (m: Record<string, unknown>): Record<string, unknown> => {
  const { name: _name, namespace: _namespace, ...rest } = m
  return rest
}

/** Kinds that have no namespace (the common ones; a kustomize `namespace:` leaves them alone). */
const clusterScoped = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "ClusterIssuer",
  "StorageClass",
  "PersistentVolume",
  "PriorityClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "ClusterPolicy",
  "GatewayClass",
  "IngressClass",
  "RuntimeClass",
  "VolumeSnapshotClass",
  "CSIDriver",
  "ClusterSecretStore",
  "ClusterExternalSecret"
])

/** The `namespace:` override: every namespaced resource gets `namespace`; a Namespace object gets it as its name. */
export const setNamespace = (resources: ReadonlyArray<Resource>, namespace: string): void => {
  for (const r of resources) {
    const kind = str(r.value.kind) ?? ""
    const m = { ...meta(r.value) }
    if (kind === "Namespace") m.name = namespace
    else if (!clusterScoped.has(kind)) m.namespace = namespace
    else continue
    r.value = { ...r.value, metadata: m }
  }
}

/** `namePrefix` / `nameSuffix`: every resource but Namespaces and CRDs is renamed. */
export const setNameAffixes = (resources: ReadonlyArray<Resource>, prefix: string, suffix: string): void => {
  for (const r of resources) {
    const kind = str(r.value.kind) ?? ""
    const m = meta(r.value)
    if (kind === "Namespace" || kind === "CustomResourceDefinition" || typeof m.name !== "string") continue
    r.value = { ...r.value, metadata: { ...m, name: `${prefix}${m.name}${suffix}` } }
  }
}

const fieldPath = (p: string): Array<string> => p.split(".").filter((s) => s.length > 0)

const getField = (value: unknown, p: string): unknown => {
  let node = value
  for (const part of fieldPath(p)) {
    if (Array.isArray(node)) node = node[Number(part)]
    else if (isRecord(node)) node = node[part]
    else return undefined
  }
  return node
}

const setField = (value: Record<string, unknown>, p: string, v: unknown, create: boolean): void => {
  const parts = fieldPath(p)
  const last = parts.pop()
  if (last === undefined) return
  let node: unknown = value
  for (const part of parts) {
    if (isRecord(node)) {
      if (node[part] === undefined && create) node[part] = {}
      node = node[part]
    } else if (Array.isArray(node)) node = node[Number(part)]
    else return
  }
  if (isRecord(node) && (create || node[last] !== undefined)) node[last] = structuredClone(v)
  else if (Array.isArray(node) && Number.isInteger(Number(last))) node[Number(last)] = structuredClone(v)
}

/**
 * kustomize `replacements`: copies a field of a source resource (default
 * `metadata.name`) into fields of target resources (dotted field paths;
 * `options.create` creates a missing field).
 */
export const applyReplacements = (resources: ReadonlyArray<Resource>, replacements: ReadonlyArray<unknown>): void => {
  for (const replacement of replacements) {
    if (!isRecord(replacement) || !isRecord(replacement.source) || !Array.isArray(replacement.targets)) continue
    const source = replacement.source
    const from = resources.find((r) => selects(source, r.value))
    if (from === undefined) continue
    const v = getField(from.value, str(source.fieldPath) ?? "metadata.name")
    if (v === undefined) continue
    for (const target of replacement.targets) {
      if (!isRecord(target) || !Array.isArray(target.fieldPaths)) continue
      const rejects = Array.isArray(target.reject) ? target.reject : []
      const create = isRecord(target.options) && target.options.create === true
      for (const r of resources) {
        if (!selects(target.select, r.value) || rejects.some((rej) => selects(rej, r.value))) continue
        for (const p of target.fieldPaths) if (typeof p === "string") setField(r.value, p, v, create)
      }
    }
  }
}
