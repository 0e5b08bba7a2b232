// Whether a node can run what a workflow or step requires: its capabilities as one set of
// names (plain and prefixed, `podman` and `engine:podman`) against the requirement list.
// Pure, so the node (checking before a run) and the mesh's router (choosing where) share it.
import type { NodeCapabilities, Requirements } from '../protocol/types.js'

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
