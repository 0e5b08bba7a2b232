// A forwarding member that tampers with a person's signed decision in transit (issue 17).
// The holder is a real `se node start` process with a policy that lets person ann
// approve; the forger is a test double of a malicious member: an in-process Mesh on the
// node adapters (real Hyperswarm transport, real handshake with the mesh secret, real
// RPC), joined to the same loopback mesh, that calls the holder's resumeWorkflow as any
// member would. Ann's decisions are signed here with the functions `se approve` uses.
// Every change to what she decided is refused with NOT_ALLOWED naming why and leaves the
// workflow waiting, and the holder keeps the refusal in its trail naming the forger; only
// a rewrite of the unsigned `decidedBy` gets through, and then the holder's trail names
// ann by her key, not the name the forger wrote.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { createSwarmTransport } from '../adapters/shared/hyperswarm-transport.js'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { decodePersonKey } from '../core/access/person-key.js'
import { signDecision, type SignedDecision } from '../core/access/decision.js'
import { SeError } from '../core/errors.js'
import { toHex } from '../core/hex.js'
import { meshKeys } from '../core/mesh/keys.js'
import { DEFAULT_TIMING, Mesh } from '../core/mesh/mesh.js'
import type { InterventionResult, MeshPeerApi, NodeCapabilities } from '../core/protocol/types.js'
import { json, se, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, nodesOf } from './helpers/mesh.js'
import { defer } from './helpers/tmp.js'

const quiet = { info () {}, warn () {}, error () {} }

interface Forger { nodeId: string, mesh: Mesh }

/** A member of 'test-mesh' (the secret meshNode uses) that serves nothing and only calls out. */
async function forgerMember (t: TestContext, bootstrap: string, name: string): Promise<Forger> {
  const { crypto, clock, log } = nodeRuntime(quiet)
  const keyPair = crypto.generateKeyPair()
  const nodeId = toHex(keyPair.publicKey)
  const [host, port] = bootstrap.split(':')
  const caps: NodeCapabilities = { nodeId, name, runtime: 'node', version: '0', platform: 'linux', arch: 'x64', engines: [], tools: [], credentials: [], tags: [], cpus: 1, memoryTotalMb: 1, memoryFreeMb: 1, loadAverage: 0 }
  const nothing = async (): Promise<never> => { throw new Error(`${name} serves nothing`) }
  const mesh = new Mesh({
    transport: await createSwarmTransport(keyPair, [{ host: host as string, port: Number(port) }]),
    keys: meshKeys(crypto, 'test-mesh', 'right-secret'),
    crypto, clock, log, nodeId, name, allow: null, peers: [],
    // The holder runs with FAST_TIMING: beat as often, or it takes the forger for down.
    timing: { ...DEFAULT_TIMING, heartbeatMs: 200, suspectMs: 800, downMs: 1600 },
    host: {
      capabilities: async () => caps,
      sample: () => ({ nodeId, loadAverage: 0, cpus: 1, memoryUsedMb: 0, memoryTotalMb: 1, workflowsRunning: 0, workloadsRunning: 0, sentAt: Date.now() }),
      audit: () => {},
      findNodesForWorkflow: async () => [],
      runStep: nothing,
      cancelStep: async () => false,
      attachStep: nothing,
      findCommands: async () => [],
      allowedActions: () => [],
      acceptAuditEntry: async () => true,
      listWorkflows: async () => [],
      resumeWorkflow: nothing,
      membersChanged: () => {},
      tick: () => {}
    }
  })
  await mesh.start()
  defer(t, () => mesh.stop())
  return { nodeId, mesh }
}

type Trail = Array<{ entry: { event: string, message: string, decision: { decision: { person: string, name: string, choice: string }, signature: string } | null } }>

test('a forwarding member that rewrites a signed decision in transit is caught; a rewritten decidedBy does not change who the trail names', async t => {
  const bootstrap = await localBootstrap(t)
  const dir = await tempDir(t)
  const keyFile = path.join(dir, 'ann.json')
  const made = json(await se(['key', 'new', '--json'], { dataDir: dir, env: { SE_PERSON_KEY: keyFile, USER: 'ann' } }))
  const ann = made.publicKey as string
  const policy = path.join(dir, 'policy.yaml')
  await writeFile(policy, `roles:\n  release: [${made.person as string}]\nallow:\n  approve: [release]\n  read: ['*']\n`)
  const holder = await meshNode(t, bootstrap, 'holder', { extra: ['--policy', policy] })
  const forger = await forgerMember(t, bootstrap, 'forger')
  await waitFor('the holder to see the forger up', async () => (await nodesOf(holder)).some(r => r.nodeId === forger.nodeId && r.state === 'up'))
  const api = await waitFor('the forger to reach the holder', async () => {
    const m = forger.mesh.member(holder.key)
    return m?.usable === true ? m.api as MeshPeerApi : undefined
  })

  await writeFile(path.join(dir, 'ask.yaml'), 'name: RELEASE\nsteps:\n  - { id: ship, intervention: { prompt: "Ship?", choices: [approve, reject] } }\n')
  const execute = async (): Promise<string> => json(await se(['execute', 'ask.yaml', '--json'], { dataDir: holder.dataDir, cwd: dir })).id as string
  const id = await execute()
  const other = await execute()

  // Ann's key, read and used as `se approve` does (adapters/node/cli/key.ts signedDecision).
  const { crypto } = nodeRuntime(quiet)
  const { key, name } = decodePersonKey(crypto, await readFile(keyFile, 'utf8'), keyFile)
  assert.equal(name, 'ann')
  const sign = (workflowId: string, stepId: string, choice: string, comment: string | null): SignedDecision =>
    signDecision(crypto, key, { workflowId, stepId, choice, comment, name, decidedAt: Date.now() })
  const genuine = sign(id, 'ship', 'approve', 'go')
  const sent = (signed: SignedDecision, over: Partial<InterventionResult> = {}): InterventionResult =>
    ({ choice: signed.decision.choice, comment: signed.decision.comment, decidedBy: signed.decision.name, stepId: signed.decision.stepId, signed, ...over })
  const edited = (over: Partial<SignedDecision['decision']>): SignedDecision => ({ decision: { ...genuine.decision, ...over }, signature: genuine.signature })

  const trailOf = async (workflowId: string): Promise<Trail> => json<Trail>(await se(['audit', '--workflow', workflowId, '--json'], { dataDir: holder.dataDir }))
  let refusals = 0
  const refused = async (what: string, result: InterventionResult, why: RegExp): Promise<void> => {
    const err = await api.resumeWorkflow(id, result).then(() => null, (e: unknown) => e)
    assert.ok(err instanceof SeError, `${what}: refused with an SeError, got ${String(err)}`)
    assert.equal(err.code, 'NOT_ALLOWED', `${what}: ${err.message}`)
    assert.match(err.message, why, what)
    const status = json(await se(['status', id, '--json'], { dataDir: holder.dataDir }))
    assert.equal(status.state, 'waiting_intervention', `${what}: the workflow still waits`)
    assert.deepEqual(status.interventions.map((i: { stepId: string }) => i.stepId), ['ship'], `${what}: still asking the same question`)
    const trail = await trailOf(id)
    assert.ok(!trail.some(r => r.entry.event === 'intervention_resolved'), `${what}: nothing resolved in the trail`)
    // The holder keeps each refusal in its own trail, naming the member that carried it and why.
    assert.equal(trail.filter(r => r.entry.event === 'action_refused').length, ++refusals, `${what}: the refusal is in the holder's trail`)
    const last = trail.filter(r => r.entry.event === 'action_refused').at(-1)?.entry.message ?? ''
    assert.match(last, new RegExp(`^forger \\(${forger.nodeId.slice(0, 8)}\\) `), what)
    assert.ok(last.endsWith(err.reason), `${what}: ${last}`)
  }
  const forged = (why: string): RegExp => new RegExp(`^NOT_ALLOWED: a decision on workflow ${id} said to be by person ${ann.slice(0, 12)} does not hold: ${why}`)

  // 1. Ann's decision as she signed it, the answer beside it changed.
  await refused('choice changed to reject', sent(genuine, { choice: 'reject' }), forged('it chose approve, not reject'))
  await refused('comment changed', sent(genuine, { comment: 'ship it, ann says so' }), forged('its comment is not the one sent with it'))
  await refused('comment dropped', sent(genuine, { comment: null }), forged('its comment is not the one sent with it'))

  // 2. What she signed changed to match: the signature no longer holds.
  const signatureBroken = forged('its signature does not match what it says')
  await refused('signed choice changed to reject', sent(edited({ choice: 'reject' })), signatureBroken)
  await refused('signed comment changed', sent(edited({ comment: 'ship it' })), signatureBroken)
  await refused('signed name changed to bob', sent(edited({ name: 'bob' }), { decidedBy: 'bob' }), signatureBroken)
  await refused('signed time moved on', sent(edited({ decidedAt: genuine.decision.decidedAt + 1 })), signatureBroken)
  const bob = crypto.generateKeyPair()
  await refused('ann\'s signature under bob\'s key', sent(edited({ person: toHex(bob.publicKey), name: 'bob' })),
    new RegExp(`^NOT_ALLOWED: a decision on workflow ${id} said to be by person ${toHex(bob.publicKey).slice(0, 12)} does not hold: its signature does not match what it says`))

  // 3. Decisions ann really made, for another question, replayed against this one.
  await refused('signed for another workflow', sent(sign(other, 'ship', 'approve', 'go')), new RegExp(`^NOT_ALLOWED: a decision on workflow ${id} .* does not hold: it is about workflow ${other}, not ${id}`))
  const forDeploy = sign(id, 'deploy', 'approve', 'go')
  await refused('signed for another step, sent for this one', sent(forDeploy, { stepId: 'ship' }), forged('it answers step deploy, not ship'))
  await refused('signed for another step, sent for the first asked', sent(forDeploy, { stepId: '' }), forged('it answers step deploy, not ship'))
  await refused('old enough to be a replay', sent(signDecision(crypto, key, { ...genuine.decision, decidedAt: Date.now() - 11 * 60_000 })), forged('it was made more than 600 s ago'))
  // The signature stripped, the forger claiming ann's name: then it is the forger's own approve, which the policy does not give it.
  await refused('unsigned, claiming to be ann', { choice: 'approve', comment: 'go', decidedBy: 'ann', stepId: 'ship', signed: null },
    /^NOT_ALLOWED: forger \([0-9a-f]{8}\) may not answer interventions on holder: .*policy\.yaml:4 allow\.approve\[0\] allows approve to role release/)
  assert.equal(json(await se(['status', other, '--json'], { dataDir: holder.dataDir })).state, 'waiting_intervention', 'the other workflow was not answered either')

  // 4. Ann's genuine decision with only the unsigned decidedBy rewritten: it is hers, and the trail says so.
  const done = await api.resumeWorkflow(id, sent(genuine, { decidedBy: 'bob' }))
  assert.equal(done.state, 'completed')
  const trail = await trailOf(id)
  const resolved = trail.filter(r => r.entry.event === 'intervention_resolved')
  assert.equal(resolved.length, 1, 'resolved once')
  const entry = resolved[0]?.entry
  assert.match(entry?.message ?? '', new RegExp(`^RELEASE step ship: approve by ann \\(person ${ann.slice(0, 12)}, signed\\) via forger \\(go\\)$`))
  assert.doesNotMatch(entry?.message ?? '', /bob/)
  assert.equal(entry?.decision?.decision.person, ann)
  assert.equal(entry?.decision?.decision.name, 'ann')
  assert.equal(entry?.decision?.signature, genuine.signature)
  assert.ok(!trail.some(r => /bob/.test(r.entry.message)), 'bob is named nowhere in the trail')
  const verify = await se(['audit', '--verify'], { dataDir: holder.dataDir })
  assert.equal(verify.code, 0, verify.stdout + verify.stderr)
})
