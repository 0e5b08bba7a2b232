// A person's decision (approve, reject, a choice, cancel), signed with their own key
// on the machine where it is made, so that it travels through any member unchanged:
// the node holding the workflow, and later `se audit --verify`, check who decided,
// not which node said so. The signed bytes are a domain-separated, fixed-order
// encoding of every field, so no field can be changed, added or moved unnoticed.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { fromHex, toHex } from '../hex.js'
import type { Crypto, KeyPair } from '../ports.js'

const DOMAIN = 'se-mesh/decision/v1'

export interface Decision {
  workflowId: string
  /** The step whose question it answers; '' for a decision about the whole workflow (cancel). */
  stepId: string
  choice: string
  comment: string | null
  /** The person's public key, hex. */
  person: string
  /** What the person calls themselves (shown; the key is what counts). */
  name: string
  /** Milliseconds since the epoch, on the deciding machine. */
  decidedAt: number
}

export interface SignedDecision { decision: Decision, signature: string }

/** The bytes a decision's signature covers. */
export function decisionBytes (d: Decision): Uint8Array {
  // JSON of an array keeps the order fixed and escapes every string the same way everywhere.
  return b4a.from(`${DOMAIN}\n${JSON.stringify([d.workflowId, d.stepId, d.choice, d.comment, d.person, d.name, d.decidedAt])}`, 'utf8')
}

export function signDecision (crypto: Crypto, person: KeyPair, d: Omit<Decision, 'person'>): SignedDecision {
  const decision: Decision = { ...d, person: toHex(person.publicKey) }
  return { decision, signature: toHex(crypto.sign(decisionBytes(decision), person.secretKey)) }
}

export interface VerifyOptions {
  now: number
  /** How old a decision may be when it arrives; older ones are refused as replays. */
  maxAgeMs: number
  /** How far ahead of this node's clock a decision may be dated. */
  maxSkewMs: number
}

/** The decision, if its signature holds and it is fresh; NOT_ALLOWED naming why if not. */
export function verifyDecision (crypto: Crypto, s: SignedDecision, o: VerifyOptions): Decision {
  const d = s.decision
  const forged = (why: string): SeError => SeError.decisionForged(d.workflowId, d.person, why)
  if (!/^[0-9a-f]{64}$/.test(d.person)) throw forged('its person is not a public key (64 hex characters)')
  if (!/^[0-9a-f]{128}$/.test(s.signature)) throw forged('its signature is not 64 bytes of hex')
  if (!crypto.verify(decisionBytes(d), fromHex(s.signature), fromHex(d.person))) throw forged('its signature does not match what it says')
  if (!Number.isFinite(d.decidedAt) || o.now - d.decidedAt > o.maxAgeMs) throw forged(`it was made more than ${Math.round(o.maxAgeMs / 1000)} s ago`)
  if (d.decidedAt - o.now > o.maxSkewMs) throw forged(`it is dated ${Math.round((d.decidedAt - o.now) / 1000)} s ahead of this node's clock`)
  return d
}
