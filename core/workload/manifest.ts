// Reads a Kubernetes Pod or Deployment manifest, checks what SE runs from it
// (kind, names, images, commands, resources, ports, volumes) with every problem
// named by its path and line, and plans the pods to run. Options podman's
// `kube play` lacks (replicas, memory, cpus, env) are applied by rewriting the
// manifest, never by passing flags podman does not have.
import { LineCounter, parseAllDocuments, stringify } from 'yaml'
import { SeError, type ErrorDetail } from '../errors.js'
import { isAbsolute } from '../paths.js'
import { formatPath } from '../workflow/field-path.js'
import { NODE_LABEL, WORKLOAD_LABEL } from './pod-files.js'
import { parseK8sCpu, parseK8sMemory } from './quantity.js'
import type { ContainerPlan, PodPlan, PortMapping, VolumeMount, WorkloadPlan } from './types.js'

type Path = Array<string | number>
type Obj = Record<string, unknown>

// The labels are in pod-files.ts, which the engines load at start without this parser.
export { NODE_LABEL, WORKLOAD_LABEL }

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const MAX_NAME = 56 // 63 less room for a replica suffix
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const IMAGE = new RegExp(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`)
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const

export interface Manifest {
  kind: 'Pod' | 'Deployment'
  name: string
  /** The parsed document, checked. */
  document: Obj
  file: string
}

export interface PlanOptions {
  id: string
  dir: string
  replicas?: number
  memoryBytes?: number
  cpus?: number
  env?: Record<string, string>
  labels?: Record<string, string>
}

/** A pod document as YAML, for the file `podman kube play` reads (see renderPods). */
export function toYaml (doc: unknown): string {
  return stringify(doc)
}

export function parseManifest (text: string, file: string): Manifest {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const all = Array.isArray(docs) ? docs : [docs]
  const errors = all.flatMap(d => d.errors)
  if (errors.length > 0) {
    throw SeError.validation(`manifest ${file}`, errors.map(err => ({ file, line: lineCounter.linePos(err.pos[0]).line, message: `not valid YAML: ${err.message.split('\n')[0] ?? ''}` })))
  }
  const present = all.filter(d => d.contents !== null)
  if (present.length !== 1) {
    throw SeError.validation(`manifest ${file}`, [{ file, message: present.length === 0 ? 'the file is empty: expected a Pod or Deployment' : `expected one Pod or Deployment, found ${present.length} documents` }])
  }
  const doc = present[0] as (typeof present)[number]
  const details: ErrorDetail[] = []
  const add = (path: Path, message: string): void => {
    let line: number | undefined
    for (let n = path.length; n >= 0 && line === undefined; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined
      if (node?.range !== undefined) line = lineCounter.linePos(node.range[0]).line
    }
    details.push({ file, path: formatPath(path), ...(line === undefined ? {} : { line }), message })
  }
  const raw: unknown = doc.toJS()
  if (!isObj(raw)) throw SeError.validation(`manifest ${file}`, [{ file, message: 'expected a mapping with apiVersion, kind, metadata and spec' }])
  const kind = raw.kind
  if (kind !== 'Pod' && kind !== 'Deployment') {
    add(['kind'], kind === undefined ? 'missing: expected Pod or Deployment' : `${JSON.stringify(kind)} is not supported: expected Pod or Deployment`)
    throw SeError.validation(`manifest ${file}`, details)
  }
  const apiVersion = kind === 'Pod' ? 'v1' : 'apps/v1'
  if (raw.apiVersion !== apiVersion) add(['apiVersion'], `expected ${apiVersion} for a ${kind}, got ${JSON.stringify(raw.apiVersion)}`)
  const meta = raw.metadata
  let name = ''
  if (!isObj(meta)) add(['metadata'], 'missing: expected metadata with a name')
  else {
    if (typeof meta.name !== 'string') add(['metadata', 'name'], 'missing: expected a name of lowercase letters, digits and -')
    else if (!DNS_LABEL.test(meta.name) || meta.name.length > MAX_NAME) add(['metadata', 'name'], `'${meta.name}' is not a valid name: expected lowercase letters, digits and -, starting and ending with a letter or digit, at most ${MAX_NAME} characters`)
    else name = meta.name
    checkLabels(meta.labels, ['metadata', 'labels'], add)
  }
  const spec = raw.spec
  if (!isObj(spec)) add(['spec'], `missing: expected the ${kind}'s spec`)
  else if (kind === 'Pod') checkPodSpec(spec, ['spec'], add)
  else checkDeploymentSpec(spec, add)
  if (details.length > 0) throw SeError.validation(`manifest ${file}`, details)
  return { kind, name, document: raw, file }
}

function checkDeploymentSpec (spec: Obj, add: (p: Path, m: string) => void): void {
  if (spec.replicas !== undefined && !(Number.isInteger(spec.replicas) && (spec.replicas as number) >= 1)) add(['spec', 'replicas'], `expected a whole number of 1 or more, got ${JSON.stringify(spec.replicas)}`)
  const template = spec.template
  if (!isObj(template)) { add(['spec', 'template'], 'missing: expected the pod template (metadata and spec)'); return }
  const tmeta = template.metadata
  if (tmeta !== undefined) checkLabels(isObj(tmeta) ? tmeta.labels : tmeta, ['spec', 'template', 'metadata', 'labels'], add)
  const match = isObj(spec.selector) ? spec.selector.matchLabels : undefined
  if (isObj(match)) {
    const labels = isObj(tmeta) && isObj(tmeta.labels) ? tmeta.labels : {}
    for (const [k, v] of Object.entries(match)) if (labels[k] !== v) add(['spec', 'selector', 'matchLabels', k], `selects ${k}=${String(v)}, which the pod template's labels do not have`)
  }
  if (!isObj(template.spec)) add(['spec', 'template', 'spec'], 'missing: expected the pod spec with containers')
  else checkPodSpec(template.spec, ['spec', 'template', 'spec'], add)
}

function checkLabels (labels: unknown, at: Path, add: (p: Path, m: string) => void): void {
  if (labels === undefined) return
  if (!isObj(labels)) { add(at, 'expected a mapping of label names to values'); return }
  for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') add([...at, k], `expected a string value, got ${JSON.stringify(v)} (quote it)`)
}

function checkPodSpec (spec: Obj, at: Path, add: (p: Path, m: string) => void): void {
  if (spec.restartPolicy !== undefined && !(RESTART_POLICIES as readonly unknown[]).includes(spec.restartPolicy)) add([...at, 'restartPolicy'], `expected one of ${RESTART_POLICIES.join(', ')}, got ${JSON.stringify(spec.restartPolicy)}`)
  const volumes = new Set<string>()
  if (spec.volumes !== undefined) {
    if (!Array.isArray(spec.volumes)) add([...at, 'volumes'], 'expected a list of volumes')
    else {
      spec.volumes.forEach((v: unknown, i) => {
        const vat = [...at, 'volumes', i]
        if (!isObj(v)) { add(vat, 'expected a volume with a name and hostPath, emptyDir or persistentVolumeClaim'); return }
        if (typeof v.name !== 'string' || !DNS_LABEL.test(v.name)) add([...vat, 'name'], `expected a volume name of lowercase letters, digits and -, got ${JSON.stringify(v.name)}`)
        else if (volumes.has(v.name)) add([...vat, 'name'], `duplicate volume name '${v.name}'`)
        else volumes.add(v.name)
        const sources = ['hostPath', 'emptyDir', 'persistentVolumeClaim', 'configMap'].filter(k => v[k] !== undefined)
        const other = Object.keys(v).filter(k => k !== 'name' && !sources.includes(k))
        if (sources.length !== 1) add(vat, `expected exactly one of hostPath, emptyDir, persistentVolumeClaim or configMap${other.length > 0 ? ` (${other.join(', ')} is not supported)` : ''}`)
        if (v.hostPath !== undefined) {
          const p = isObj(v.hostPath) ? v.hostPath.path : undefined
          if (typeof p !== 'string' || !isAbsolute(p)) add([...vat, 'hostPath', 'path'], `expected an absolute path on the node, got ${JSON.stringify(p)}`)
        }
      })
    }
  }
  const containers = spec.containers
  if (!Array.isArray(containers) || containers.length === 0) { add([...at, 'containers'], 'missing: expected at least one container'); return }
  const names = new Set<string>()
  const hostPorts = new Map<string, string>()
  containers.forEach((c: unknown, i) => {
    const cat: Path = [...at, 'containers', i]
    if (!isObj(c)) { add(cat, 'expected a container with a name and an image'); return }
    if (typeof c.name !== 'string' || !DNS_LABEL.test(c.name)) add([...cat, 'name'], `expected a container name of lowercase letters, digits and -, got ${JSON.stringify(c.name)}`)
    else if (names.has(c.name)) add([...cat, 'name'], `duplicate container name '${c.name}'`)
    else names.add(c.name)
    if (typeof c.image !== 'string' || c.image === '') add([...cat, 'image'], 'missing: expected an image such as localhost/app:1.0 or docker.io/library/alpine:3')
    else if (!IMAGE.test(c.image)) add([...cat, 'image'], `'${c.image}' is not a valid image reference (expected [registry/]name[:tag], lowercase)`)
    for (const key of ['command', 'args'] as const) {
      const v = c[key]
      if (v === undefined) continue
      if (!Array.isArray(v)) add([...cat, key], `expected a list of strings, got ${JSON.stringify(v)}`)
      else v.forEach((a: unknown, n) => { if (typeof a !== 'string') add([...cat, key, n], `expected a string, got ${JSON.stringify(a)} (quote it)`) })
    }
    if (c.workingDir !== undefined && (typeof c.workingDir !== 'string' || !isAbsolute(c.workingDir))) add([...cat, 'workingDir'], `expected an absolute path, got ${JSON.stringify(c.workingDir)}`)
    if (c.env !== undefined) {
      if (!Array.isArray(c.env)) add([...cat, 'env'], 'expected a list of { name, value }')
      else {
        c.env.forEach((e: unknown, n) => {
          if (!isObj(e) || typeof e.name !== 'string' || e.name === '') { add([...cat, 'env', n], 'expected { name, value }'); return }
          if (e.valueFrom !== undefined) add([...cat, 'env', n, 'valueFrom'], 'valueFrom is not supported: give the value itself')
          else if (e.value !== undefined && typeof e.value !== 'string') add([...cat, 'env', n, 'value'], `expected a string, got ${JSON.stringify(e.value)} (quote it)`)
        })
      }
    }
    if (c.ports !== undefined) {
      if (!Array.isArray(c.ports)) add([...cat, 'ports'], 'expected a list of ports')
      else {
        c.ports.forEach((p: unknown, n) => {
          const pat = [...cat, 'ports', n]
          if (!isObj(p)) { add(pat, 'expected { containerPort, hostPort, protocol }'); return }
          if (!isPort(p.containerPort)) add([...pat, 'containerPort'], `expected a port number 1-65535, got ${JSON.stringify(p.containerPort)}`)
          if (p.hostPort !== undefined && !isPort(p.hostPort)) add([...pat, 'hostPort'], `expected a port number 1-65535, got ${JSON.stringify(p.hostPort)}`)
          const protocol = p.protocol ?? 'TCP'
          if (protocol !== 'TCP' && protocol !== 'UDP') add([...pat, 'protocol'], `expected TCP or UDP, got ${JSON.stringify(p.protocol)}`)
          if (isPort(p.hostPort)) {
            const key = `${String(p.hostPort)}/${String(protocol)}`
            const first = hostPorts.get(key)
            if (first !== undefined) add([...pat, 'hostPort'], `host port ${key} is already mapped at ${first}`)
            else hostPorts.set(key, formatPath(pat))
          }
        })
      }
    }
    checkResources(c.resources, [...cat, 'resources'], add)
    if (c.volumeMounts !== undefined) {
      if (!Array.isArray(c.volumeMounts)) add([...cat, 'volumeMounts'], 'expected a list of { name, mountPath }')
      else {
        c.volumeMounts.forEach((m: unknown, n) => {
          const mat = [...cat, 'volumeMounts', n]
          if (!isObj(m)) { add(mat, 'expected { name, mountPath }'); return }
          if (typeof m.name !== 'string' || !volumes.has(m.name)) add([...mat, 'name'], `refers to volume ${JSON.stringify(m.name)}, which is not declared under volumes${volumes.size > 0 ? ` (declared: ${[...volumes].join(', ')})` : ''}`)
          if (typeof m.mountPath !== 'string' || !isAbsolute(m.mountPath)) add([...mat, 'mountPath'], `expected an absolute path in the container, got ${JSON.stringify(m.mountPath)}`)
        })
      }
    }
  })
}

function checkResources (resources: unknown, at: Path, add: (p: Path, m: string) => void): void {
  if (resources === undefined) return
  if (!isObj(resources)) { add(at, 'expected { limits, requests }'); return }
  const read: Record<string, { memory: number | null, cpu: number | null }> = {}
  for (const part of ['limits', 'requests'] as const) {
    const r = resources[part]
    read[part] = { memory: null, cpu: null }
    if (r === undefined) continue
    if (!isObj(r)) { add([...at, part], 'expected { memory, cpu }'); continue }
    if (r.memory !== undefined) {
      const bytes = parseK8sMemory(r.memory)
      if (bytes === null) add([...at, part, 'memory'], `${JSON.stringify(r.memory)} is not a memory quantity (expected e.g. 64Mi, 1Gi, 500M)`)
      else if (bytes < 6 * 2 ** 20) add([...at, part, 'memory'], `${String(r.memory)} is below the 6 MiB a container needs to start`)
      read[part].memory = bytes
    }
    if (r.cpu !== undefined) {
      const cpus = parseK8sCpu(r.cpu)
      if (cpus === null) add([...at, part, 'cpu'], `${JSON.stringify(r.cpu)} is not a CPU quantity (expected e.g. 500m, 0.5, 2)`)
      read[part].cpu = cpus
    }
  }
  const { limits, requests } = read as Record<'limits' | 'requests', { memory: number | null, cpu: number | null }>
  if (limits.memory !== null && requests.memory !== null && requests.memory > limits.memory) add([...at, 'requests', 'memory'], 'requests more memory than its limit')
  if (limits.cpu !== null && requests.cpu !== null && requests.cpu > limits.cpu) add([...at, 'requests', 'cpu'], 'requests more CPU than its limit')
}

/** The pods to run for a checked manifest, rewritten with the deploy options and SE's labels. */
export function planWorkload (manifest: Manifest, opts: PlanOptions): WorkloadPlan {
  const doc = manifest.document
  const isDeployment = manifest.kind === 'Deployment'
  const spec = doc.spec as Obj
  const podSpec = (isDeployment ? (spec.template as Obj).spec : spec) as Obj
  const podMeta = (isDeployment ? ((spec.template as Obj).metadata ?? {}) : doc.metadata) as Obj
  const replicas = opts.replicas ?? (isDeployment ? (spec.replicas as number | undefined) ?? 1 : 1)
  if (!Number.isInteger(replicas) || replicas < 1) throw SeError.badInput(`--replicas ${replicas} is not a whole number of 1 or more`)
  const details: ErrorDetail[] = []
  const podAt = isDeployment ? 'spec.template.spec' : 'spec'
  if (replicas > 1) {
    ;(podSpec.containers as Obj[]).forEach((c, i) => {
      ;((c.ports ?? []) as Obj[]).forEach((p, n) => {
        if (p.hostPort !== undefined) details.push({ file: manifest.file, path: `${podAt}.containers[${i}].ports[${n}].hostPort`, message: `host port ${String(p.hostPort)} cannot be shared by ${replicas} replicas on one node: drop hostPort or deploy one replica` })
      })
    })
  }
  if (details.length > 0) throw SeError.validation(`manifest ${manifest.file}`, details)
  const labels = { ...(isObj(podMeta.labels) ? podMeta.labels as Record<string, string> : {}), ...opts.labels, [WORKLOAD_LABEL]: opts.id }
  const pods: PodPlan[] = []
  for (let i = 1; i <= replicas; i++) {
    const podName = !isDeployment && replicas === 1 ? manifest.name : `${manifest.name}-${i}`
    const copy = structuredClone(podSpec)
    const containers = (copy.containers as Obj[]).map(c => rewriteContainer(c, opts))
    copy.containers = containers
    const document: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...(isObj(podMeta.annotations) ? { annotations: podMeta.annotations } : {}), name: podName, labels },
      spec: copy
    }
    pods.push({
      name: podName,
      document,
      restartPolicy: (copy.restartPolicy as PodPlan['restartPolicy'] | undefined) ?? 'Always',
      containers: containers.map(c => containerPlan(c, copy))
    })
  }
  const memoryBytes = pods.reduce((sum, p) => sum + p.containers.reduce((s, c) => s + (c.memoryBytes ?? 0), 0), 0)
  return { id: opts.id, name: manifest.name, kind: manifest.kind, source: manifest.file, pods, memoryBytes, dir: opts.dir }
}

function rewriteContainer (c: Obj, opts: PlanOptions): Obj {
  const out: Obj = { ...c }
  if (opts.env !== undefined && Object.keys(opts.env).length > 0) {
    const env = ((c.env ?? []) as Obj[]).filter(e => !Object.hasOwn(opts.env as Obj, String(e.name)))
    for (const [name, value] of Object.entries(opts.env)) env.push({ name, value })
    out.env = env
  }
  if (opts.memoryBytes !== undefined || opts.cpus !== undefined) {
    const resources = isObj(c.resources) ? { ...c.resources } : {}
    const limits = isObj(resources.limits) ? { ...resources.limits } : {}
    if (opts.memoryBytes !== undefined) limits.memory = String(opts.memoryBytes)
    if (opts.cpus !== undefined) limits.cpu = `${Math.round(opts.cpus * 1000)}m`
    resources.limits = limits
    // A request above the new limit would be refused by podman.
    if (isObj(resources.requests)) {
      const requests = { ...resources.requests }
      if (opts.memoryBytes !== undefined && (parseK8sMemory(requests.memory) ?? 0) > opts.memoryBytes) requests.memory = String(opts.memoryBytes)
      if (opts.cpus !== undefined && (parseK8sCpu(requests.cpu) ?? 0) > opts.cpus) requests.cpu = limits.cpu
      resources.requests = requests
    }
    out.resources = resources
  }
  return out
}

function containerPlan (c: Obj, podSpec: Obj): ContainerPlan {
  const resources = isObj(c.resources) ? c.resources : {}
  const limits = isObj(resources.limits) ? resources.limits : {}
  const requests = isObj(resources.requests) ? resources.requests : {}
  const volumes = new Map(((podSpec.volumes ?? []) as Obj[]).map(v => [String(v.name), v]))
  const mounts: VolumeMount[] = ((c.volumeMounts ?? []) as Obj[]).flatMap(m => {
    const v = volumes.get(String(m.name))
    const hostPath = isObj(v?.hostPath) ? String(v.hostPath.path) : null
    return hostPath === null ? [] : [{ source: hostPath, target: String(m.mountPath), readOnly: m.readOnly === true }]
  })
  const ports: PortMapping[] = ((c.ports ?? []) as Obj[]).map(p => ({
    containerPort: p.containerPort as number,
    hostPort: (p.hostPort as number | undefined) ?? null,
    protocol: p.protocol === 'UDP' ? 'UDP' : 'TCP'
  }))
  const env: Record<string, string> = {}
  for (const e of (c.env ?? []) as Obj[]) env[String(e.name)] = String(e.value ?? '')
  return {
    name: String(c.name),
    image: String(c.image),
    command: Array.isArray(c.command) ? c.command.map(String) : null,
    args: Array.isArray(c.args) ? c.args.map(String) : [],
    env,
    ports,
    mounts,
    workingDir: typeof c.workingDir === 'string' ? c.workingDir : null,
    memoryBytes: parseK8sMemory(limits.memory) ?? parseK8sMemory(requests.memory),
    cpus: parseK8sCpu(limits.cpu) ?? parseK8sCpu(requests.cpu)
  }
}

function isObj (v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function isPort (v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535
}
