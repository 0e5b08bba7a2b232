// The bytes an audit entry is hashed and signed over: its Avro encoding, which
// is deterministic once map keys are in a fixed order.
import b4a from 'b4a'
import type { Crypto } from '../ports.js'
import { namedType } from '../protocol/codec.js'
import type { DistributedAuditEntry } from '../protocol/types.js'
import { toHex } from '../hex.js'

const ENTRY = namedType('DistributedAuditEntry')

export const GENESIS_HASH = '0'.repeat(64)

export function canonicalEntry (entry: DistributedAuditEntry): DistributedAuditEntry {
  const metrics: Record<string, number> = {}
  for (const key of Object.keys(entry.performanceMetrics).sort()) metrics[key] = entry.performanceMetrics[key] as number
  return { ...entry, performanceMetrics: metrics }
}

export function entryHash (crypto: Crypto, entry: DistributedAuditEntry): Uint8Array {
  return crypto.sha256(ENTRY.toBuffer(canonicalEntry(entry)))
}

export function chainHash (crypto: Crypto, prevHash: string, bodyHash: Uint8Array): string {
  return toHex(crypto.sha256(b4a.concat([b4a.from(prevHash, 'hex'), bodyHash])))
}

export function isValidEntry (entry: unknown): entry is DistributedAuditEntry {
  return ENTRY.isValid(entry)
}
