// How a node keeps its neighbourhood: the few members it holds a standing link to,
// over which the gossip engine probes and gossips. Pure decisions, shared by the
// mesh and the simulation: dial while below half the target, accept while below
// the target, so every node ends between the two and no node is linked to all.

/** SE_MESH_NEIGHBOURS' default: enough links that news crosses 1,000 nodes in a few hops. */
export const DEFAULT_NEIGHBOURS = 12
/** Fewer than two links would leave a node one failure away from being cut off. */
export const MIN_NEIGHBOURS = 2
/** More would cost every node a probe stream per link for no faster dissemination. */
export const MAX_NEIGHBOURS = 64

export interface NeighbourhoodPlanInput {
  /** Neighbour links held now. */
  neighbours: number
  /** Members being dialled as neighbours, not yet answered. */
  dialling: string[]
  /** Alive known members this node is not linked to. */
  candidates: string[]
  target: number
  random: () => number
}

/** Below half the target: random candidates to dial (not already dialled), enough to reach half the target. */
export function dialsNeeded (input: NeighbourhoodPlanInput): string[] {
  const low = Math.ceil(input.target / 2)
  const wanted = low - input.neighbours - input.dialling.length
  if (wanted <= 0) return []
  const dialling = new Set(input.dialling)
  const pool = input.candidates.filter(id => !dialling.has(id))
  const out: string[] = []
  while (out.length < wanted && pool.length > 0) {
    const i = Math.floor(input.random() * pool.length)
    out.push(pool[i] as string)
    pool[i] = pool[pool.length - 1] as string
    pool.pop()
  }
  return out
}

/**
 * Whether a node should reach past its neighbourhood now and then (a bridge): while it holds half
 * its target or fewer. Dialling stops at half the target, so small neighbourhoods can settle into
 * separate groups (with a target of 2, pairs) whose gossip never crosses; a bridge's link brings
 * a full exchange of state with it, and becomes a neighbour link where the other end has room.
 */
export function bridges (neighbours: number, target: number): boolean {
  return neighbours > 0 && neighbours <= Math.ceil(target / 2)
}

/** Probe intervals between a node's bridges, doubled after each one refused, up to BRIDGE_MAX_BACKOFF times. */
export const BRIDGE_INTERVALS = 10
export const BRIDGE_MAX_BACKOFF = 4

/** Whether a node holding `neighbours` links takes one more: up to the target, so links stay bounded. */
export function acceptsNeighbour (neighbours: number, target: number): boolean {
  return neighbours < target
}

/** The neighbour target from SE_MESH_NEIGHBOURS (or a flag): the default when unset or not a number, clamped to 2..64. */
export function neighbourTarget (given: number | undefined): number {
  if (given === undefined || !Number.isFinite(given)) return DEFAULT_NEIGHBOURS
  return Math.min(MAX_NEIGHBOURS, Math.max(MIN_NEIGHBOURS, Math.round(given)))
}
