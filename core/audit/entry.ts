// The bytes an audit entry is hashed and signed over: its Avro encoding, which
// is deterministic once map keys are in a fixed order.
import b4a from 'b4a'
import type { Crypto } from '../ports.js'
import { namedType, typeOf } from '../protocol/codec.js'
import { TYPES } from '../protocol/schema.js'
import type { DistributedAuditEntry } from '../protocol/types.js'
import { toHex } from '../hex.js'

const ENTRY = namedType('DistributedAuditEntry')
/**
 * The entry as it was before it could carry a person's decision: an entry without one
 * hashes as then, so every trail written before verifies as it did.
 */
const WITHOUT_DECISION = (() => {
  const declared = TYPES.find(t => t.name === 'DistributedAuditEntry') as unknown as { fields: Array<{ name: string }> }
  return typeOf({ ...declared, name: 'DistributedAuditEntryBeforeDecisions', fields: declared.fields.filter(f => f.name !== 'decision') })
})()

export const GENESIS_HASH = '0'.repeat(64)

export function canonicalEntry (entry: DistributedAuditEntry): DistributedAuditEntry {
  const metrics: Record<string, number> = {}
  for (const key of Object.keys(entry.performanceMetrics).sort()) metrics[key] = entry.performanceMetrics[key] as number
  return { ...entry, performanceMetrics: metrics }
}

export function entryHash (crypto: Crypto, entry: DistributedAuditEntry): Uint8Array {
  const canonical = canonicalEntry(entry)
  if (canonical.decision === null || canonical.decision === undefined) {
    const { decision: _none, ...before } = canonical
    return crypto.sha256(WITHOUT_DECISION.toBuffer(before))
  }
  return crypto.sha256(ENTRY.toBuffer(canonical))
}

export function chainHash (crypto: Crypto, prevHash: string, bodyHash: Uint8Array): string {
  return toHex(crypto.sha256(b4a.concat([b4a.from(prevHash, 'hex'), bodyHash])))
}

export function isValidEntry (entry: unknown): entry is DistributedAuditEntry {
  return ENTRY.isValid(entry)
}
