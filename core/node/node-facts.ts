// What a node says about itself: its capabilities with the memory and load of
// now, the load sample its heartbeats carry, and its entry in `se nodes`.
import type { Runtime } from '../ports.js'
import type { MeshNode, NodeCapabilities, NodeSample } from '../protocol/types.js'

/**
 * CPU use as the tables show it, in `se nodes` and the dashboard alike: the load
 * average per cpu, as a percentage capped at 100 (one unit for the LOAD column everywhere).
 */
export function cpuPercent (s: NodeSample): number { return s.cpus > 0 ? Math.min(100, s.loadAverage / s.cpus * 100) : 0 }

/**
 * A node's capabilities as one list: the operator's tags first (they set a node
 * apart, so they must survive a narrow column), then engines, tools and
 * credentials, each once (podman is both an engine and a tool).
 */
export function capabilityList (c: NodeCapabilities): string[] {
  return [...new Set([...c.tags.map(t => `tag:${t}`), ...c.engines, ...c.tools, ...c.credentials.map(k => `credential:${k}`)])]
}

/** What one member asks of another; deploy and relay are for a node's own clients. */
const MEMBER_ACTIONS = ['run', 'approve', 'session', 'read'] as const

/**
 * What a member's policy refuses this node, as `approve, session; run only builder`,
 * or null when nothing (or not known: this node itself, an older member).
 */
export function policyRefusals (n: MeshNode): string | null {
  if (n.self || n.allows === null) return null
  const allows = n.allows
  const refused = MEMBER_ACTIONS.filter(a => !allows.includes(a) && !allows.some(x => x.startsWith(`${a}:`)))
  const scoped = MEMBER_ACTIONS.filter(a => !allows.includes(a) && allows.some(x => x.startsWith(`${a}:`)))
    .map(a => `${a} only ${allows.filter(x => x.startsWith(`${a}:`)).map(x => x.slice(a.length + 1)).join(', ')}`)
  if (refused.length === 0 && scoped.length === 0) return null
  return [refused.join(', '), scoped.join('; ')].filter(s => s !== '').join('; ')
}

export interface NodeFactsOptions {
  runtime: Runtime
  /** As detected at start. */
  capabilities: NodeCapabilities
  workflowsRunning: () => number
  /** Steps run for members plus workloads. */
  workloadsRunning: () => number
}

export class NodeFacts {
  constructor (private readonly o: NodeFactsOptions) {}

  get detected (): NodeCapabilities { return this.o.capabilities }

  capabilities (): NodeCapabilities {
    const { system } = this.o.runtime
    return { ...this.o.capabilities, memoryFreeMb: system.memoryFreeMb, loadAverage: system.loadAverage }
  }

  sample (): NodeSample {
    const { system, clock } = this.o.runtime
    return {
      nodeId: this.o.capabilities.nodeId,
      loadAverage: system.loadAverage,
      cpus: this.o.capabilities.cpus,
      memoryUsedMb: Math.max(0, system.memoryTotalMb - system.memoryFreeMb),
      memoryTotalMb: system.memoryTotalMb,
      workflowsRunning: this.o.workflowsRunning(),
      workloadsRunning: this.o.workloadsRunning(),
      sentAt: clock.now()
    }
  }

  self (): MeshNode {
    const caps = this.o.capabilities
    return { nodeId: caps.nodeId, name: caps.name, self: true, state: 'up', lastSeen: this.o.runtime.clock.now(), capabilities: this.capabilities(), sample: this.sample(), latencyMs: 0, allows: null, learned: null, link: null }
  }
}
