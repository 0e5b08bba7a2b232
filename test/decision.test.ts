// People's signed decisions (issue 17): made with the person's key, checked by the
// node that acts on them; any field changed on the way, a key that is not the
// signer's, a stale or future-dated decision is refused, naming why.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { decisionBytes, signDecision, verifyDecision, type SignedDecision } from '../core/access/decision.js'
import type { SeError } from '../core/errors.js'

const { crypto } = nodeRuntime({ info: () => {}, warn: () => {}, error: () => {} })
const ann = crypto.generateKeyPair()
const bob = crypto.generateKeyPair()
const NOW = 1_780_000_000_000
const opts = { now: NOW, maxAgeMs: 600_000, maxSkewMs: 60_000 }
const made = (): SignedDecision => signDecision(crypto, ann, { workflowId: 'wf-1', stepId: 'ship', choice: 'approve', comment: 'looks good', name: 'ann', decidedAt: NOW - 1000 })

function refusal (s: SignedDecision): string {
  try { verifyDecision(crypto, s, opts); return 'accepted' } catch (e) { return `${(e as SeError).code}: ${(e as SeError).reason}` }
}

test('a decision signed by its person holds, and says who decided', () => {
  const d = verifyDecision(crypto, made(), opts)
  assert.equal(d.person, Buffer.from(ann.publicKey).toString('hex'))
  assert.equal(d.choice, 'approve')
})

test('any field changed on the way is caught', () => {
  const changes: Array<(s: SignedDecision) => void> = [
    s => { s.decision.choice = 'reject' },
    s => { s.decision.comment = null },
    s => { s.decision.name = 'bob' },
    s => { s.decision.stepId = 'other' },
    s => { s.decision.workflowId = 'wf-2' },
    s => { s.decision.decidedAt += 1 },
    s => { s.decision.person = Buffer.from(bob.publicKey).toString('hex') }
  ]
  for (const change of changes) {
    const s = made()
    change(s)
    assert.match(refusal(s), /^NOT_ALLOWED: .*does not hold: its signature does not match what it says$/, String(change))
  }
})

test('a decision made with another key, stale, from the future or malformed is refused, naming why', () => {
  const byBob = signDecision(crypto, bob, { ...made().decision })
  assert.equal(refusal({ decision: { ...byBob.decision, person: made().decision.person }, signature: byBob.signature }).includes('does not match'), true)
  assert.match(refusal(signDecision(crypto, ann, { ...made().decision, decidedAt: NOW - 3_600_000 })), /made more than 600 s ago/)
  assert.match(refusal(signDecision(crypto, ann, { ...made().decision, decidedAt: NOW + 3_600_000 })), /dated 3600 s ahead of this node's clock/)
  assert.match(refusal({ ...made(), signature: 'zz' }), /signature is not 64 bytes of hex/)
  assert.match(refusal({ ...made(), decision: { ...made().decision, person: 'ann' } }), /person is not a public key/)
})

test('the signed bytes separate fields: moving text between them changes them', () => {
  const base = made().decision
  assert.notDeepEqual(decisionBytes({ ...base, choice: 'a', comment: 'b' }), decisionBytes({ ...base, choice: 'ab', comment: '' }))
  assert.match(Buffer.from(decisionBytes(base)).toString('utf8'), /^se-mesh\/decision\/v1\n\[/)
})
