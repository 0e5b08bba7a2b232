// What a node can do, and whether that meets what a workflow requires.
import type { SystemInfo } from '../ports.js'
import type { NodeCapabilities, Requirements } from '../protocol/types.js'

export interface CapabilityOptions {
  nodeId: string
  name: string
  version: string
  /** Tools to look for on PATH. */
  tools: string[]
  /** Environment variable names whose presence is a credential (values are never read out). */
  credentials: string[]
  /** Tags added by the operator (--capability). */
  tags: string[]
}

export async function detectCapabilities (system: SystemInfo, opts: CapabilityOptions): Promise<NodeCapabilities> {
  const [tools, podman] = await Promise.all([
    Promise.all(opts.tools.map(async t => (await system.hasTool(t)) ? t : null)),
    opts.tools.includes('podman') ? system.podmanWorks() : Promise.resolve(false)
  ])
  const engines = ['process']
  if (podman) engines.push('podman')
  return {
    nodeId: opts.nodeId,
    name: opts.name,
    runtime: system.runtime,
    version: opts.version,
    platform: system.platform,
    arch: system.arch,
    engines,
    // A podman binary that cannot run containers is not a capability.
    tools: tools.filter((t): t is string => t !== null && (t !== 'podman' || podman)),
    credentials: opts.credentials.filter(name => (system.env(name) ?? '') !== ''),
    tags: [...new Set(opts.tags)],
    cpus: system.cpus,
    memoryTotalMb: system.memoryTotalMb,
    memoryFreeMb: system.memoryFreeMb,
    loadAverage: system.loadAverage
  }
}

export function capabilitySet (caps: NodeCapabilities): Set<string> {
  const set = new Set<string>()
  const add = (prefix: string, names: string[]): void => { for (const n of names) { set.add(n); set.add(`${prefix}:${n}`) } }
  add('engine', caps.engines)
  add('tool', caps.tools)
  add('credential', caps.credentials)
  add('tag', caps.tags)
  return set
}

/** Every requirement the node does not meet, each said so a person can act on it. */
export function unmetRequirements (caps: NodeCapabilities, req: Partial<Requirements> | undefined): string[] {
  if (req === undefined) return []
  const have = capabilitySet(caps)
  const unmet: string[] = []
  for (const c of req.capabilities ?? []) if (!have.has(c)) unmet.push(`capability '${c}'`)
  if (req.memoryMb !== undefined && req.memoryMb !== null && caps.memoryTotalMb < req.memoryMb) unmet.push(`memoryMb >= ${req.memoryMb} (has ${caps.memoryTotalMb})`)
  if (req.cpus !== undefined && req.cpus !== null && caps.cpus < req.cpus) unmet.push(`cpus >= ${req.cpus} (has ${caps.cpus})`)
  return unmet
}
