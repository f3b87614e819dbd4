/**
 * Random cluster layouts for the generated tests, under a prefix (so that
 * many seeds can share one dir, each its own clusters): `clusters/<c>/`
 * holds the roots (plain, or a bootstrapped `flux-system` that builds its
 * own directory), `infra` builds `infrastructure/<c>/` (no kustomization
 * file: every YAML file), `apps` builds `apps/` (with a kustomization file
 * listing some of the app directories, or none), shared by the clusters.
 * Each app directory has a kustomization file (maybe `namespace:`), a Flux
 * Kustomization of the app's name (maybe targetNamespace, postBuild
 * substitutions) whose path `app/` holds a HelmRelease of the same name (maybe
 * `${APP}`, maybe patched). Per cluster, `substituteFrom` a ConfigMap of the
 * cluster's dir can suspend an app, and the root can patch one.
 */
import type { Kind } from "../src/model.ts"
import {
  addDependencies,
  dependsOnLines,
  fluxDoc,
  type Generated,
  type GenObject,
  join,
  otherDoc,
  type Rng,
  rng
} from "./generate.ts"

const git = ["  sourceRef:", "    kind: GitRepository", "    name: flux-system"]

interface App {
  readonly name: string
  readonly listed: boolean
  /** `namespace:` of apps/<app>/kustomization.yaml */
  readonly ksDirNs: string | undefined
  readonly ksWrittenNs: string | undefined
  readonly targetNamespace: string | undefined
  /** `namespace:` of apps/<app>/app/kustomization.yaml */
  readonly hrDirNs: string | undefined
  readonly hrWrittenNs: string | undefined
  /** how the HelmRelease's name is written: literal, `${APP}`, `${APP:=x}`, `${UNSET:-name}` */
  readonly hrNameForm: number
  /** suspended in a cluster by `${SUSPEND_<n>:=false}` from the cluster's ConfigMap */
  readonly suspendVar: boolean
  readonly patched: boolean
}

const kustomizeFile = (lines: ReadonlyArray<string>) =>
  ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", ...lines].join("\n") + "\n"

/** A cluster layout under `prefix` (`""` or `"t12/"`); cluster names are paths relative to the generated dir. */
export const clusterTree = (seed: number, prefix: string): Generated => {
  const r: Rng = rng(seed)
  const files: Record<string, string> = {}
  let otherDocs = 0
  let patchDocs = 0
  const other = () => otherDoc(r, otherDocs++)
  const namespaces = ["media", "db", "home", "network"]
  const maybeNs = (p: number) => (r.chance(p) ? r.pick(namespaces) : undefined)
  const clusterNames = r.chance(0.5) ? ["prod"] : ["prod", "staging"]
  const bootstrap = r.chance(0.5)
  const appsHasKustomization = r.chance(0.6)
  const appsNs = appsHasKustomization ? maybeNs(0.2) : undefined
  const appNames = ["plex", "sonarr", "radarr", "postgres", "redis", "grafana", "loki"].slice(0, 2 + r.int(6))
  const apps: Array<App> = appNames.map((name, i) => ({
    name,
    listed: !appsHasKustomization || r.chance(0.9),
    ksDirNs: maybeNs(0.5),
    ksWrittenNs: maybeNs(0.3),
    targetNamespace: maybeNs(0.3),
    hrDirNs: maybeNs(0.4),
    hrWrittenNs: maybeNs(0.3),
    hrNameForm: r.int(4),
    suspendVar: i === 0 && clusterNames.length === 2,
    patched: r.chance(0.3)
  }))

  // the shared apps tree: the raw files, dependencies added per cluster below (the same in every cluster)
  if (appsHasKustomization) {
    files[`${prefix}apps/kustomization.yaml`] = kustomizeFile([
      ...(appsNs === undefined ? [] : [`namespace: ${appsNs}`]),
      "resources:",
      ...apps.filter((a) => a.listed).map((a) => `  - ./${a.name}`)
    ])
  }
  // the objects of one cluster (before dependencies); every cluster builds the same names
  const objectsOf = (cluster: string): Array<GenObject> =>
    apps.filter((a) => a.listed).flatMap((a) => {
      const ks: GenObject = {
        cluster,
        kind: "Kustomization",
        name: a.name,
        namespace: appsNs ?? a.ksDirNs ?? a.ksWrittenNs ?? "default",
        file: `${prefix}apps/${a.name}/ks.yaml`,
        deps: [],
        suspend: false,
        failRender: false
      }
      const hr: GenObject = {
        cluster,
        kind: "HelmRelease",
        name: a.name,
        namespace: a.targetNamespace ?? a.hrDirNs ?? a.hrWrittenNs ?? "default",
        file: `${prefix}apps/${a.name}/app/helmrelease.yaml`,
        deps: [],
        suspend: false,
        failRender: false
      }
      return [ks, hr]
    })
  const template = objectsOf("")
  addDependencies(r, template, () => r.chance(0.3))
  // infra: HelmReleases per cluster (same names and namespace), which app HelmReleases may depend on
  const infraNs = r.pick(["infra", "flux-system", "db"])
  const infraNames = ["cert-manager", "cnpg", "ingress"].slice(0, 1 + r.int(3))
  for (const hr of template.filter((o) => o.kind === "HelmRelease")) {
    if (r.chance(0.3)) hr.deps.push({ name: r.pick(infraNames), namespace: infraNs })
  }
  const objects: Array<GenObject> = []
  const problems: Array<string> = []
  for (const c of clusterNames) {
    const cdir = `${prefix}clusters/${c}`
    const cluster = bootstrap ? `${cdir}/flux-system` : cdir
    const own = template.map((o) => ({ ...o, cluster, deps: [...o.deps] }))
    const infraWritten = infraNs !== "flux-system" && r.chance(0.5)
    const infra: Array<GenObject> = infraNames.map((name) => ({
      cluster,
      kind: "HelmRelease" as Kind,
      name,
      namespace: infraNs,
      file: `${prefix}infrastructure/${c}/${name === "cnpg" ? "db" : "base"}.yaml`,
      deps: [],
      suspend: false,
      failRender: false
    }))
    if (infra.length > 1 && r.chance(0.5)) infra[1]!.deps.push({ name: infra[0]!.name, namespace: undefined })
    const byFile = new Map<string, Array<string>>()
    for (const o of infra) {
      const spec = ["  interval: 1h", ...dependsOnLines(o.deps)]
      const written = infraWritten || infra.indexOf(o) % 2 === 0 ? infraNs : undefined
      byFile.set(o.file, [
        ...(byFile.get(o.file) ?? []),
        fluxDoc("HelmRelease", { name: o.name, namespace: written }, spec)
      ])
      if (r.chance(0.3)) byFile.get(o.file)!.push(other())
    }
    for (const [file, documents] of byFile) files[file] = join(r, documents)
    // the roots
    const root = (name: string, path: string, extra: ReadonlyArray<string>, deps: ReadonlyArray<{ name: string }>) =>
      fluxDoc("Kustomization", { name, namespace: "flux-system" }, [
        "  interval: 10m",
        `  path: ./${path}`,
        "  prune: true",
        ...git,
        ...extra,
        ...dependsOnLines(deps)
      ])
    const rootInfra = root(
      "infra",
      `${prefix}infrastructure/${c}`,
      infraWritten ? [] : [`  targetNamespace: ${infraNs}`],
      []
    )
    const appsExtra: Array<string> = [
      "  postBuild:",
      "    substituteFrom:",
      "      - kind: ConfigMap",
      "        name: cluster-settings"
    ]
    const rootApps = root("apps", `${prefix}apps`, appsExtra, [{ name: "infra" }])
    files[`${cdir}/settings.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\n`
      + `  namespace: flux-system\ndata:\n  CLUSTER: ${c}\n  SUSPEND_0: "${c === "staging"}"\n`
    otherDocs++
    const rootObjects: Array<GenObject> = [
      {
        cluster,
        kind: "Kustomization",
        name: "infra",
        namespace: "flux-system",
        file: `${cdir}/ks.yaml`,
        deps: [],
        suspend: false,
        failRender: false
      },
      {
        cluster,
        kind: "Kustomization",
        name: "apps",
        namespace: "flux-system",
        file: `${cdir}/ks.yaml`,
        deps: [{ name: "infra", namespace: undefined }],
        suspend: false,
        failRender: false
      }
    ]
    files[`${cdir}/ks.yaml`] = join(r, [rootInfra, rootApps])
    if (bootstrap) {
      files[`${cdir}/flux-system/gotk-sync.yaml`] = join(r, [
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n"
        + "  namespace: flux-system\nspec:\n  url: ssh://git@example.com/x\n",
        root("flux-system", cdir, [], [])
      ])
      otherDocs++
      files[`${cdir}/flux-system/kustomization.yaml`] = kustomizeFile(["resources:", "  - gotk-sync.yaml"])
      otherDocs++
      rootObjects.push({
        cluster,
        kind: "Kustomization",
        name: "flux-system",
        namespace: "flux-system",
        file: `${cdir}/flux-system/gotk-sync.yaml`,
        deps: [],
        suspend: false,
        failRender: false
      })
    }
    // in staging, the first app's Kustomization is suspended by the cluster's ConfigMap
    for (const o of own) {
      if (o.kind === "Kustomization" && apps[0]!.suspendVar && o.name === apps[0]!.name && c === "staging") {
        o.suspend = true
      }
    }
    objects.push(...rootObjects, ...infra, ...own)
  }
  // the app files (the same for every cluster)
  for (const a of apps) {
    const ks = template.find((o) => o.kind === "Kustomization" && o.name === a.name)
    const hr = template.find((o) => o.kind === "HelmRelease" && o.name === a.name)
    const dir = `${prefix}apps/${a.name}`
    files[`${dir}/kustomization.yaml`] = kustomizeFile([
      ...(a.ksDirNs === undefined ? [] : [`namespace: ${a.ksDirNs}`]),
      "resources:",
      "  - ./ks.yaml"
    ])
    otherDocs++
    const vars = a.hrNameForm === 0 ? [] : ["  postBuild:", "    substitute:", `      APP: ${a.name}`]
    const ksSpec = [
      `  path: ./${dir}/app`,
      ...git,
      ...(a.targetNamespace === undefined ? [] : [`  targetNamespace: ${a.targetNamespace}`]),
      ...(ks?.suspend === true ? ["  suspend: true"] : a.suspendVar ? ["  suspend: ${SUSPEND_0:=false}"] : []),
      ...vars,
      ...dependsOnLines(ks?.deps ?? [])
    ]
    const fail = { annotations: { "demo.effect-task/fail-render": "broken on purpose" } }
    const ksDoc = fluxDoc(
      "Kustomization",
      { name: a.name, namespace: a.ksWrittenNs, ...(ks?.failRender ? fail : {}) },
      ksSpec
    )
    files[`${dir}/ks.yaml`] = join(r, [ksDoc])
    const hrName = [a.name, "${APP}", "${APP:=wrong}", `\${UNSET:-${a.name}}`][a.hrNameForm]!
    const hrSpec = [
      "  interval: 30m",
      ...(hr?.suspend === true && !a.patched ? ["  suspend: true"] : []),
      ...dependsOnLines(hr?.deps ?? [])
    ]
    const hrDocs = [
      fluxDoc("HelmRelease", { name: hrName, namespace: a.hrWrittenNs, ...(hr?.failRender ? fail : {}) }, hrSpec)
    ]
    // (not beside a patch that targets every HelmRelease: it would make a non-Flux one a Flux one)
    if (!a.patched && r.chance(0.3)) hrDocs.push(other())
    files[`${dir}/app/helmrelease.yaml`] = join(r, hrDocs)
    // a resources entry that does not exist: a problem, and the app's Kustomization fails (its HelmRelease stays)
    const gone = a.listed && r.chance(0.05)
    if (gone) {
      problems.push(`${dir}/app/kustomization.yaml`)
      for (const o of objects) if (o.kind === "Kustomization" && o.file === `${dir}/ks.yaml`) o.failRender = true
    }
    files[`${dir}/app/kustomization.yaml`] = kustomizeFile([
      ...(a.hrDirNs === undefined ? [] : [`namespace: ${a.hrDirNs}`]),
      "resources:",
      "  - ./helmrelease.yaml",
      ...(gone ? ["  - ./gone.yaml"] : []),
      ...(a.patched ? ["patches:", "  - path: patch.yaml", "    target:", "      kind: HelmRelease"] : [])
    ])
    otherDocs++
    if (a.patched) {
      // the patch suspends the HelmRelease when the generator meant it suspended; otherwise it is harmless
      files[`${dir}/app/patch.yaml`] = fluxDoc("HelmRelease", { name: hrName }, [
        hr?.suspend === true ? "  suspend: true" : "  timeout: 5m"
      ])
      patchDocs++
    }
    if (!a.listed) {
      // nothing builds it: a root of its own, in a cluster of its own, read as written
      const cluster = dir
      const base = { cluster, deps: [], suspend: false, failRender: false }
      objects.push(
        { ...base, kind: "Kustomization", name: a.name, namespace: a.ksWrittenNs ?? "default", file: `${dir}/ks.yaml` },
        {
          ...base,
          kind: "HelmRelease",
          name: a.name,
          namespace: a.targetNamespace ?? a.hrDirNs ?? a.hrWrittenNs ?? "default",
          file: `${dir}/app/helmrelease.yaml`
        }
      )
    }
  }
  if (appsHasKustomization) otherDocs++
  return { files, objects, otherDocs, patchDocs, problems }
}
