// Regressions the chaos suite found in mesh membership, reproduced without a
// network: a peer whose first calls (its gossip, saying what it can do) arrive
// together with its hello (a node that just restarted, on a loaded machine) must
// still be announced as usable, or what waits on it (its undelivered audit
// entries) waits for good.
import assert from 'node:assert/strict'
import b4a from 'b4a'
import { test, type TestContext } from 'node:test'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { toHex } from '../core/hex.js'
import { helloProof, meshKeys } from '../core/mesh/keys.js'
import { DEFAULT_TIMING, Mesh, type MeshHost } from '../core/mesh/mesh.js'
import { MESH_PROTOCOL_VERSION } from '../core/mesh/handshake.js'
import type { MeshTransport, PeerLink } from '../core/ports.js'
import { namedType } from '../core/protocol/codec.js'
import type { NodeCapabilities, NodeSample } from '../core/protocol/types.js'
import { encodeFrame } from '../core/rpc/framing.js'
import { RpcPeer, type Handler } from '../core/rpc/peer.js'
import { connectionPair } from './helpers/memory-connection.js'
import { eventually } from './helpers/tmp.js'

const crypto = new SodiumCrypto()
const quiet = { info () {}, warn () {}, error () {} }
const clock = { now: () => Date.now() }
const keys = meshKeys(crypto, 'team', 'secret')

const caps = (nodeId: string, name: string): NodeCapabilities => ({
  nodeId, name, runtime: 'node', version: '0', platform: 'linux', arch: 'x64', engines: ['process'], tools: [], credentials: [], tags: [], cpus: 1, memoryTotalMb: 1, memoryFreeMb: 1, loadAverage: 0
})
const sample = (nodeId: string): NodeSample => ({ nodeId, loadAverage: 0, cpus: 1, memoryUsedMb: 0, memoryTotalMb: 1, workflowsRunning: 0, workloadsRunning: 0, sentAt: Date.now() })

/** A transport that hands the mesh whatever links the test makes. */
function fakeTransport (publicKey: Uint8Array): MeshTransport & { connect (link: PeerLink): void } {
  let listener: ((link: PeerLink) => void) | null = null
  return {
    publicKey,
    onConnection (l) { listener = l },
    connect (link) { listener?.(link) },
    async join () {},
    joinPeer () {},
    leavePeer () {},
    async announce () {},
    async unannounce () {},
    async lookup () { return [] },
    async destroy () {}
  }
}

/** A node's side of the mesh, answering nothing of substance. */
function hostOf (nodeId: string, over: Partial<MeshHost> = {}): MeshHost {
  return {
    capabilities: async () => caps(nodeId, 'a'),
    sample: () => sample(nodeId),
    audit: () => {},
    findNodesForWorkflow: async () => [],
    findCommands: async () => [],
    allowedActions: () => [],
    runStep: async () => { throw new Error('not here') },
    cancelStep: async () => false,
    attachStep: async () => { throw new Error('not here') },
    acceptAuditEntry: async () => true,
    listWorkflows: async () => [],
    resumeWorkflow: async () => { throw new Error('not here') },
    membersChanged: () => {},
    tick: () => {},
    ...over
  }
}

/** Node a's mesh on a fake transport, started, with what its host is told going to `over`. */
async function meshOfA (t: TestContext, over: Partial<MeshHost>): Promise<{ mesh: Mesh, transport: ReturnType<typeof fakeTransport>, aId: string }> {
  const a = crypto.generateKeyPair()
  const aId = toHex(a.publicKey)
  const transport = fakeTransport(a.publicKey)
  const mesh = new Mesh({ transport, keys, crypto, clock, log: quiet, nodeId: aId, name: 'a', allow: null, peers: [], timing: DEFAULT_TIMING, host: hostOf(aId, over) })
  await mesh.start()
  t.after(() => mesh.stop())
  return { mesh, transport, aId }
}

test('a peer whose capabilities arrive with its hello is announced usable once its connection is in place', async t => {
  const b = crypto.generateKeyPair()
  const bId = toHex(b.publicKey)
  const changes: boolean[] = []
  const { mesh, transport } = await meshOfA(t, { membersChanged: member => { changes.push(member.usable) } })

  const [atA, atB] = connectionPair({ labels: ['a', 'b'] })
  const handshakeHash = crypto.randomBytes(64)
  const hello = namedType('MeshHello').toBuffer({ version: MESH_PROTOCOL_VERSION, nodeId: bId, name: 'b', proof: b4a.from(helloProof(crypto, keys, handshakeHash, b.publicKey)) })
  // What b says of itself: alive, with what it can do.
  const bAlive = { nodeId: bId, incarnation: 1, state: 'alive', from: bId, meta: namedType('GossipMeta').toBuffer({ capabilities: caps(bId, 'b'), sample: sample(bId) }) }
  // B's side: its hello and its first RPC frame go out in one write, and a's hello is not for its RpcPeer.
  let helloSent = false
  let helloSeen = false
  const bRpc = new RpcPeer({
    label: 'b',
    write: data => {
      atB.write(helloSent ? data : b4a.concat([encodeFrame(hello), data]))
      helloSent = true
    },
    onData: l => atB.onData(d => { if (helloSeen) l(d); else helloSeen = true }),
    onClose: l => atB.onClose(l),
    close: () => atB.close()
  }, {
    handlers: new Map<string, Handler>([
      ['gossipSync', async () => [bAlive]],
      ['gossipPing', async () => ({ updates: [] })],
      ['neighbour', async () => true],
      ['allowedActions', async () => []]
    ])
  })
  t.after(() => bRpc.close())
  transport.connect({ ...atA, label: 'b', remotePublicKey: b.publicKey, handshakeHash, write: d => atA.write(d), onData: l => atA.onData(l), onClose: l => atA.onClose(l), close: () => atA.close() })
  void bRpc.call('gossipSync', { state: [bAlive] }).catch(() => {})

  await eventually('b to be usable at a', () => mesh.member(bId)?.usable === true)
  await eventually('a to be told b is usable', () => changes.includes(true), 2000)
})

test('a node of the previous mesh protocol is refused at the hello, naming both versions, and audited', async t => {
  const old = crypto.generateKeyPair()
  const oldId = toHex(old.publicKey)
  const audits: string[] = []
  const { mesh, transport } = await meshOfA(t, { audit: e => { audits.push(e.message) } })
  const [atA, atOld] = connectionPair({ labels: ['a', 'old'] })
  const handshakeHash = crypto.randomBytes(64)
  let closed = false
  atOld.onClose(() => { closed = true })
  transport.connect({ ...atA, label: 'old', remotePublicKey: old.publicKey, handshakeHash, write: d => atA.write(d), onData: l => atA.onData(l), onClose: l => atA.onClose(l), close: () => atA.close() })
  // What a node of the previous release sends: a right proof, under version 1.
  atOld.write(encodeFrame(namedType('MeshHello').toBuffer({ version: MESH_PROTOCOL_VERSION - 1, nodeId: oldId, name: 'old', proof: b4a.from(helloProof(crypto, keys, handshakeHash, old.publicKey)) })))
  await eventually('the old node to be refused', () => closed && audits.some(m => m.includes('peer_rejected') || /mesh protocol/.test(m)))
  const refusal = audits.find(m => /mesh protocol/.test(m)) ?? ''
  assert.match(refusal, new RegExp(`speaks mesh protocol ${MESH_PROTOCOL_VERSION - 1}, this node mesh protocol ${MESH_PROTOCOL_VERSION}`))
  assert.equal(mesh.member(oldId), undefined, 'nothing of it is a member')
})
