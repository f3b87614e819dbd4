/**
 * Flux `postBuild` variable substitution, pure: the bash-like forms Flux
 * evaluates (`${VAR}`, `$VAR`, `${VAR:=default}`, `${VAR:-default}`,
 * `${VAR=default}`, `${VAR-default}`, `$$` for a literal `$`) on a document's
 * YAML text, which is then parsed again — as kustomize-controller does. A
 * variable without a value and without a default becomes empty, as in Flux;
 * the caller gets the names of those, to report one in an object's name.
 */
import { parse, stringify } from "yaml"
import { isRecord } from "./model.ts"

/** The annotation or label value that turns substitution off for one document. */
export const substituteDisabled = (value: Record<string, unknown>): boolean => {
  const m = isRecord(value.metadata) ? value.metadata : {}
  const key = "kustomize.toolkit.fluxcd.io/substitute"
  return [m.labels, m.annotations].some((map) => isRecord(map) && map[key] === "disabled")
}

const pattern = /\$\$|\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])([^}]*))?\}|\$([_a-zA-Z][_a-zA-Z0-9]*)/g

/** Substitutes `vars` in `text`; returns the text and the names that had no value and no default. */
export const substituteText = (
  text: string,
  vars: ReadonlyMap<string, string>
): { readonly text: string; readonly unresolved: ReadonlyArray<string> } => {
  const unresolved: Array<string> = []
  const out = text.replace(pattern, (match, braced?: string, op?: string, fallback?: string, bare?: string) => {
    if (match === "$$") return "$"
    const name = (braced ?? bare)!
    const value = vars.get(name)
    if (op !== undefined) {
      // `:=` / `:-` use the default when unset or empty; `=` / `-` only when unset
      const useDefault = op.startsWith(":") ? value === undefined || value === "" : value === undefined
      return useDefault ? fallback ?? "" : value!
    }
    if (value === undefined) {
      unresolved.push(name)
      return ""
    }
    return value
  })
  return { text: out, unresolved }
}

/**
 * Substitutes `vars` in one document (through its YAML text). With no
 * variables at all nothing is substituted, as in Flux. Returns `undefined`
 * for the value when the substituted text is no longer valid YAML.
 */
export const substituteDocument = (
  value: Record<string, unknown>,
  vars: ReadonlyMap<string, string>
): { readonly value: Record<string, unknown> | undefined; readonly unresolved: ReadonlyArray<string> } => {
  if (vars.size === 0 || substituteDisabled(value)) return { value, unresolved: [] }
  const text = stringify(value, { lineWidth: 0 })
  if (!text.includes("$")) return { value, unresolved: [] }
  const result = substituteText(text, vars)
  try {
    const parsed: unknown = parse(result.text)
    return { value: isRecord(parsed) ? parsed : undefined, unresolved: result.unresolved }
  } catch {
    return { value: undefined, unresolved: result.unresolved }
  }
}
