// Mesh members as people read a long list of them, the same in `se nodes` and the
// dashboard's nodes pane: the order of states, the age of what is known, how this
// node reaches a member, what a filter word matches, and the one-line summary
// (`312 nodes: 305 up, 4 suspect, 3 down · builder 40, podman 210, +5 more`).
import { shortAge } from '../duration.js'
import { capabilitySet } from '../workflow/requirements.js'
import type { MeshNode } from '../protocol/types.js'

/** Member states in the order lists show them; a member that left the mesh comes last. */
export const NODE_STATES = ['up', 'suspect', 'down', 'left'] as const
/** How many capabilities the summary names before `+N more`. */
export const SUMMARY_CAPABILITIES = 4
/** Engines every node has: counting them sets no node apart. */
const EVERY_NODE_HAS = new Set(['process'])

/** A state's place in NODE_STATES; a state this version does not know goes after them all. */
export function stateRank (state: string): number {
  const i = (NODE_STATES as readonly string[]).indexOf(state)
  return i < 0 ? NODE_STATES.length : i
}

/** By state (up, suspect, down, left), then name, then key so equal names keep one order. */
export function byStateThenName (a: MeshNode, b: MeshNode): number {
  return stateRank(a.state) - stateRank(b.state) || a.name.localeCompare(b.name) || a.nodeId.localeCompare(b.nodeId)
}

/** How long ago this node last learned anything about the member, in ms; null for itself or when never. */
export function knownAgeMs (n: MeshNode, now: number): number | null {
  return n.self || n.lastSeen === null ? null : Math.max(0, now - n.lastSeen)
}

/** The AGE column: `0.4s`, `12s`, `3m`, or `-` for this node itself. */
export function ageText (n: MeshNode, now: number): string {
  const age = knownAgeMs(n, now)
  return age === null ? '-' : shortAge(age)
}

/** The LINK column: the connection this node holds to the member (neighbour, work), or `noLink`. */
export function linkText (n: MeshNode, noLink = '-'): string {
  return n.link ?? noLink
}

/**
 * What a member is counted under in the summary: its tags and engines by their plain
 * names (`gpu`, `podman`), each once, leaving out what every node has.
 */
function summaryCapabilities (n: MeshNode): Set<string> {
  return new Set([...n.capabilities.tags, ...n.capabilities.engines.filter(e => !EVERY_NODE_HAS.has(e))])
}

/** Whether the member has a capability as a step's `requires` names it: `gpu`, `tag:gpu`, `podman`, `credential:NAME`. */
export function hasCapability (n: MeshNode, capability: string): boolean {
  return capabilitySet(n.capabilities).has(capability)
}

/**
 * A filter as a person types it: every word must match. A word that is a state
 * (`up`, `down`…) matches that state only; any other word matches part of the
 * name, of the key, or of a capability (`gpu`, `tag:gp`, `podman`).
 */
export function matchesFilter (n: MeshNode, text: string): boolean {
  const words = text.toLowerCase().split(/\s+/).filter(w => w !== '')
  if (words.length === 0) return true
  const haystack = [n.name.toLowerCase(), n.nodeId.toLowerCase(), ...[...capabilitySet(n.capabilities)].map(c => c.toLowerCase())]
  return words.every(w => (NODE_STATES as readonly string[]).includes(w) ? n.state === w : haystack.some(h => h.includes(w)))
}

export interface NodeCounts {
  total: number
  /** In NODE_STATES order, then any other state by name; only states some member is in. */
  states: Array<[string, number]>
  /** Most common first, then by name. */
  capabilities: Array<[string, number]>
}

export function countNodes (nodes: readonly MeshNode[]): NodeCounts {
  const states = new Map<string, number>()
  const caps = new Map<string, number>()
  for (const n of nodes) {
    states.set(n.state, (states.get(n.state) ?? 0) + 1)
    for (const c of summaryCapabilities(n)) caps.set(c, (caps.get(c) ?? 0) + 1)
  }
  return {
    total: nodes.length,
    states: [...states].sort(([a], [b]) => stateRank(a) - stateRank(b) || a.localeCompare(b)),
    capabilities: [...caps].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
  }
}

export interface SummaryOptions {
  /** How many members there are before a filter: the line then says `40 of 312 nodes`. */
  of?: number
  /** Between the states and the capabilities: ` · `, or ` - ` on a terminal without Unicode. */
  separator?: string
  /** Capabilities named before `+N more`. */
  top?: number
}

/** One line: `312 nodes: 305 up, 4 suspect, 3 down · builder 40, gpu 3, podman 210, +5 more`. */
export function nodeSummary (nodes: readonly MeshNode[], opts: SummaryOptions = {}): string {
  const { separator = ' · ', top = SUMMARY_CAPABILITIES } = opts
  const c = countNodes(nodes)
  const count = `${opts.of === undefined || opts.of === c.total ? '' : `${c.total} of `}${opts.of ?? c.total} node${(opts.of ?? c.total) === 1 ? '' : 's'}`
  if (c.total === 0) return count
  const states = c.states.map(([s, k]) => `${k} ${s}`).join(', ')
  const shown = c.capabilities.slice(0, top).map(([name, k]) => `${name} ${k}`)
  const more = c.capabilities.length - shown.length
  const caps = [...shown, ...more > 0 ? [`+${more} more`] : []].join(', ')
  return `${count}: ${states}${caps === '' ? '' : `${separator}${caps}`}`
}
