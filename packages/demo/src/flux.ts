/**
 * Flux identity, pure: which documents are Flux objects (`Kustomization` of
 * `kustomize.toolkit.fluxcd.io`, `HelmRelease` of `helm.toolkit.fluxcd.io`),
 * their ids (`<kind>/<namespace>/<name>`), their `dependsOn` (same kind,
 * namespace defaulted to the dependent's), the Kubernetes name rules
 * (DNS-1123) every name must pass before it reaches a file path, and the
 * "did you mean" suggestion for a dependency that does not exist.
 */
import { isRecord, type Kind, kindGroups, kinds, nonEmptyString, objectId } from "./model.ts"

/** The kind of a Flux object, or `undefined` for any other document. */
export const fluxKind = (value: unknown): Kind | undefined => {
  if (!isRecord(value) || typeof value.apiVersion !== "string" || typeof value.kind !== "string") return undefined
  const kind = kinds.find((k) => k === value.kind)
  return kind !== undefined && value.apiVersion.startsWith(`${kindGroups[kind]}/`) ? kind : undefined
}

/** A DNS-1123 label: what a namespace must be. */
export const isDnsLabel = (s: string): boolean => s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s)

/** A DNS-1123 subdomain: what a Kustomization's or HelmRelease's name must be. */
export const isDnsSubdomain = (s: string): boolean =>
  s.length <= 253 && s.split(".").every((label) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(label))

/** The identity and dependencies of a Flux object, or why it has none. */
export type Identity =
  | {
    readonly _tag: "Ok"
    readonly kind: Kind
    readonly name: string
    readonly namespace: string
    readonly id: string
    readonly dependsOn: ReadonlyArray<string>
    readonly suspended: boolean
  }
  | { readonly _tag: "Invalid"; readonly problem: "invalid-object" | "invalid-name"; readonly message: string }

/**
 * The identity of a Flux object of kind `kind`. The namespace defaults to
 * `default` (the value has had every kustomize namespace applied already).
 */
export const identify = (kind: Kind, value: Record<string, unknown>): Identity => {
  const metadata = isRecord(value.metadata) ? value.metadata : {}
  const name = nonEmptyString(metadata.name)
  if (name === undefined) {
    return { _tag: "Invalid", problem: "invalid-object", message: `${kind} without metadata.name` }
  }
  const namespace = nonEmptyString(metadata.namespace) ?? "default"
  if (!isDnsSubdomain(name)) {
    return {
      _tag: "Invalid",
      problem: "invalid-name",
      message: `${kind} metadata.name ${JSON.stringify(name)} is not a valid Kubernetes name (DNS-1123 subdomain)`
    }
  }
  if (!isDnsLabel(namespace)) {
    return {
      _tag: "Invalid",
      problem: "invalid-name",
      message: `${kind} ${name}: metadata.namespace ${JSON.stringify(namespace)} is not a valid Kubernetes namespace `
        + "(DNS-1123 label)"
    }
  }
  const id = objectId(kind, namespace, name)
  const spec = isRecord(value.spec) ? value.spec : {}
  const dependsOn: Array<string> = []
  if (spec.dependsOn !== undefined && spec.dependsOn !== null) {
    if (!Array.isArray(spec.dependsOn)) {
      return { _tag: "Invalid", problem: "invalid-object", message: `${id}: spec.dependsOn is not a list` }
    }
    for (const dep of spec.dependsOn) {
      const depName = isRecord(dep) ? nonEmptyString(dep.name) : undefined
      if (!isRecord(dep) || depName === undefined) {
        return { _tag: "Invalid", problem: "invalid-object", message: `${id}: a dependsOn entry has no name` }
      }
      const depId = objectId(kind, nonEmptyString(dep.namespace) ?? namespace, depName)
      if (!dependsOn.includes(depId)) dependsOn.push(depId)
    }
  }
  return { _tag: "Ok", kind, name, namespace, id, dependsOn, suspended: spec.suspend === true }
}

/** Levenshtein distance, stopping early above `max`. */
const distance = (a: string, b: string, max: number): number => {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)))
    }
    prev = row
  }
  return prev[b.length]!
}

/**
 * The existing id of the same kind one edit away from `missing` (a typo in
 * the name or the namespace; the first in sorted order when there are
 * several), or `undefined` when there is none.
 */
export const didYouMean = (missing: string, existing: Iterable<string>): string | undefined => {
  const kind = missing.slice(0, missing.indexOf("/") + 1)
  const close: Array<string> = []
  for (const id of existing) if (id.startsWith(kind) && distance(missing, id, 1) === 1) close.push(id)
  return close.toSorted()[0]
}
