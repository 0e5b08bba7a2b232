// What makes a piece of gossip acceptable, and which of two pieces about one
// member wins (SWIM with Lifeguard, as types.ts states it). Every update comes
// from the network, so each field is checked before the engine looks at it.
import type { GossipState, GossipUpdate } from './types.js'

/** Metadata larger than this is refused: one member must not fill everyone's memory. */
export const MAX_META_BYTES = 64 * 1024
/** Node ids are 64 hex characters in the mesh; anything far longer is garbage. */
export const MAX_NODE_ID_LENGTH = 256
/** One below the largest safe integer, so a refutation (theirs + 1) stays exact. */
export const MAX_INCARNATION = Number.MAX_SAFE_INTEGER - 1

/** Precedence at one incarnation: suspect over alive, dead and left over both. */
const RANK: Record<GossipState, number> = { alive: 0, suspect: 1, dead: 2, left: 2 }

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NODE_ID_LENGTH

/** Whether `u` is well formed: a real id, a safe incarnation, a known state, metadata within bounds. */
export function wellFormed (u: unknown): u is GossipUpdate {
  if (typeof u !== 'object' || u === null) return false
  const x = u as Partial<GossipUpdate>
  if (!isId(x.nodeId) || !isId(x.from)) return false
  const inc = x.incarnation
  if (typeof inc !== 'number' || !Number.isInteger(inc) || inc < 0 || inc > MAX_INCARNATION) return false
  if (typeof x.state !== 'string' || !Object.prototype.hasOwnProperty.call(RANK, x.state)) return false
  const meta = x.meta
  if (meta === null || meta === undefined) return true
  return meta instanceof Uint8Array && meta.byteLength <= MAX_META_BYTES
}

/** Whether news of (`incarnation`, `state`) replaces what is known (`knownIncarnation`, `knownState`). */
export function overrides (incarnation: number, state: GossipState, knownIncarnation: number, knownState: GossipState): boolean {
  if (incarnation !== knownIncarnation) return incarnation > knownIncarnation
  return RANK[state] > RANK[knownState]
}
