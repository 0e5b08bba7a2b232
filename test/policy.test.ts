// A node's policy file (issue 17): parsed with every problem named by file, line and
// path, and asked who may do what, naming the rule either way.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { allowedActions, approversProblem, decide, parsePolicy } from '../core/access/policy.js'
import { policyRefusals } from '../core/node/node-facts.js'
import type { SeError } from '../core/errors.js'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const ANN = 'c'.repeat(64)
const BOB = 'd'.repeat(64)

const POLICY = `roles:
  laptops: [${A}]
  release: [person:${ANN}]
allow:
  run:
    - laptops
    - { who: [${B}], capabilities: [builder] }
  approve:
    - { who: release, workflows: [RELEASE] }
  read: ['*']
`

test('who may do what, and by which rule', () => {
  const p = parsePolicy(POLICY, 'policy.yaml')
  const laptop = { nodeKey: A, personKey: null }
  const edge = { nodeKey: B, personKey: null }
  const yes = decide(p, 'run', laptop)
  assert.ok(yes.allowed && yes.rule.line === 6 && yes.rule.path === 'allow.run[0]')
  assert.equal(decide(p, 'run', edge, { capabilities: ['builder'] }).allowed, true, 'B runs builder steps')
  const no = decide(p, 'run', edge, { capabilities: ['gpu'] })
  assert.equal(no.allowed, false)
  assert.match(no.allowed ? '' : no.reason, /policy\.yaml:6 allow\.run\[0\] allows run to role laptops; policy\.yaml:7 allow\.run\[1\] allows run to node bbbbbbbb for steps needing builder/)
  assert.equal(decide(p, 'approve', { nodeKey: B, personKey: ANN }, { workflow: 'RELEASE' }).allowed, true, 'a person of the role, from any member')
  assert.equal(decide(p, 'approve', { nodeKey: A, personKey: BOB }, { workflow: 'RELEASE' }).allowed, false)
  assert.equal(decide(p, 'approve', { nodeKey: B, personKey: ANN }, { workflow: 'OTHER' }).allowed, false, 'only the workflows named')
  assert.equal(decide(p, 'read', edge).allowed, true)
  const session = decide(p, 'session', laptop)
  assert.deepEqual(session, { allowed: false, reason: 'policy.yaml allows session to nobody' }, 'what a policy file does not allow is refused')
})

test('every problem at once, by file, line and path', () => {
  const text = `roles:
  laptops: [${A}, not-a-key]
  Bad Name: []
allow:
  aprove: [laptops]
  run: [lapotps]
  approve:
    - { who: laptops, capabilities: [x] }
extra: 1
`
  const err = (() => { try { parsePolicy(text, 'policy.yaml'); return null } catch (e) { return e as SeError } })()
  assert.equal(err?.code, 'VALIDATION_FAILED')
  const lines = (err?.details ?? []).map(d => `${d.line ?? '-'} ${d.path ?? ''}: ${d.message}`)
  assert.deepEqual(lines, [
    "9 extra: unknown key 'extra' (expected roles, allow)",
    '2 roles.laptops[1]: "not-a-key" is not a node key (64 hex characters), person:KEY or user:NAME',
    "3 roles.Bad Name: 'Bad Name' is not a role name (lower-case letters, digits, - and _, starting with a letter)",
    "5 allow.aprove: unknown action 'aprove' (expected one of: run, approve, session, deploy, read, relay)",
    "6 allow.run[0]: 'lapotps' is no role of this file (roles: laptops, Bad Name), node key (64 hex characters), person:KEY, user:NAME or '*'",
    "8 allow.approve[0].capabilities: unknown key 'capabilities' (expected who, workflows)"
  ])
})

test('an empty file allows nothing; broken YAML says where', () => {
  assert.equal(decide(parsePolicy('', 'p.yaml'), 'read', { nodeKey: A, personKey: null }).allowed, false)
  assert.throws(() => parsePolicy('allow: [\n', 'p.yaml'), (e: SeError) => e.code === 'VALIDATION_FAILED' && /not valid YAML/.test(e.details[0]?.message ?? ''))
  assert.throws(() => parsePolicy('- a\n', 'p.yaml'), (e: SeError) => /expected a mapping with roles and allow/.test(e.details[0]?.message ?? ''))
})

test('allowedActions lists what a caller may do, scoped grants as action:scope, and policyRefusals words what is missing', () => {
  const a = 'a'.repeat(64)
  const policy = parsePolicy(`roles:\n  ci: [${a}]\nallow:\n  run: [{ who: ci, capabilities: [builder, gpu] }]\n  approve: [{ who: [ci], workflows: [RELEASE] }]\n  read: ['*']\n`, 'p.yaml')
  assert.deepEqual(allowedActions(policy, { nodeKey: a, personKey: null }), ['run:builder', 'run:gpu', 'approve:RELEASE', 'read'])
  assert.deepEqual(allowedActions(policy, { nodeKey: 'b'.repeat(64), personKey: null }), ['read'])
  const member = (allows: string[] | null, self = false): Parameters<typeof policyRefusals>[0] => ({ nodeId: a, name: 'b', self, state: 'up', lastSeen: null, capabilities: {} as never, sample: null, latencyMs: null, allows, learned: null, link: null })
  assert.equal(policyRefusals(member(['run:builder', 'run:gpu', 'approve:RELEASE', 'read'])), 'session; run only builder, gpu; approve only RELEASE')
  assert.equal(policyRefusals(member(['run', 'approve', 'session', 'deploy', 'read', 'relay'])), null)
  assert.equal(policyRefusals(member(null)), null, 'an older member says nothing: no mark')
  assert.equal(policyRefusals(member(['read'], true)), null, 'never this node itself')
})

test('a key of digits only is read as written, not as the number YAML would make of it', () => {
  const digits = '1234567890'.repeat(6) + '1234'
  const withE = '12e4' + '0'.repeat(60)
  const policy = parsePolicy(`roles:\n  ci: [${digits}]\nallow:\n  run: [ci, ${withE}]\n  read: [{ who: ${digits} }]\n`, 'p.yaml')
  assert.equal(decide(policy, 'run', { nodeKey: digits, personKey: null }).allowed, true)
  assert.equal(decide(policy, 'run', { nodeKey: withE, personKey: null }).allowed, true)
  assert.equal(decide(policy, 'read', { nodeKey: digits, personKey: null }).allowed, true)
})

test('approversProblem: a role the policy lacks, a node key, or too few people for the quorum can never decide', () => {
  const [ann, bob] = ['a'.repeat(64), 'b'.repeat(64)]
  const policy = parsePolicy(`roles:\n  release: [person:${ann}, person:${bob}, ${'c'.repeat(64)}]\n`, 'p.yaml')
  assert.equal(approversProblem(policy, ['release'], 2), null)
  assert.match(approversProblem(policy, ['release'], 3) ?? '', /a quorum of 3 can never be met: release name 2 people/)
  assert.match(approversProblem(policy, ['relese'], 1) ?? '', /'relese' is no role of p\.yaml \(roles: release\)/)
  assert.match(approversProblem(null, ['release'], 1) ?? '', /this node has none/)
  assert.equal(approversProblem(null, [`person:${ann}`], 1), null)
})
