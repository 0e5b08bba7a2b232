// What a node can do, and whether that meets what a workflow requires.
import type { SystemInfo } from '../ports.js'
import type { NodeCapabilities } from '../protocol/types.js'

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
