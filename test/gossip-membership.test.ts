// The gossip engine alone, over tiny fakes: a virtual clock and links whose
// answers each test decides. Precedence, refutation, Lifeguard's shrinking
// suspicion, the retransmit limit, hostile updates, forgetting and leaving.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Membership } from '../core/mesh/gossip/membership.js'
import { BroadcastQueue } from '../core/mesh/gossip/broadcast-queue.js'
import { detectionBoundMs, gossipConfig, retransmitLimit, suspicionTimeouts } from '../core/mesh/gossip/config.js'
import { suspicionTimeoutMs } from '../core/mesh/gossip/suspicion.js'
import { acceptsNeighbour, bridges, dialsNeeded, neighbourTarget } from '../core/mesh/gossip/neighbourhood.js'
import type { GossipLinks, GossipState, GossipUpdate } from '../core/mesh/gossip/types.js'
import { VirtualClock } from './helpers/gossip-sim.js'
import { SeededRandom } from './helpers/seeded-random.js'

const SELF = 'a'.repeat(64)
const B = 'b'.repeat(64)
const C = 'c'.repeat(64)
const D = 'd'.repeat(64)
const config = gossipConfig({ probeIntervalMs: 1000, probeDeadlineMs: 1000, suspicionFloorMs: 0 })

const alive = (nodeId: string, incarnation = 0, meta: Uint8Array | null = new Uint8Array([1])): GossipUpdate => ({ nodeId, incarnation, state: 'alive', from: nodeId, meta })
const news = (nodeId: string, state: GossipState, incarnation: number, from: string): GossipUpdate => ({ nodeId, incarnation, state, from, meta: null })

/** An engine over fake links: `answers` says whether a ping to a member is answered. */
function engine (opts: { linked?: string[], answers?: (to: string) => boolean } = {}): { m: Membership, clock: VirtualClock, sent: GossipUpdate[][], changes: string[] } {
  const clock = new VirtualClock()
  const sent: GossipUpdate[][] = []
  const changes: string[] = []
  const answers = opts.answers ?? (() => true)
  const links: GossipLinks = {
    linked: () => opts.linked ?? [],
    ping: async (to, updates) => { sent.push(updates); if (answers(to)) return { updates: [] }; throw new Error('no answer') },
    pingReq: async (_via, target, updates) => { sent.push(updates); return { reached: answers(target), updates: [] } },
    sync: async () => []
  }
  const rng = new SeededRandom(7)
  const m = new Membership({ self: SELF, meta: new Uint8Array([9]), links, timers: clock, random: () => rng.next(), config, events: { changed: (k, prev, why) => changes.push(`${k.nodeId[0] ?? ''}:${prev ?? 'new'}->${k.state}: ${why}`) } })
  return { m, clock, sent, changes }
}

test('config: memberlist LAN defaults scaled to the probe interval, and the formulas derived from them', () => {
  assert.equal(config.probeTimeoutMs, 500)
  assert.equal(config.gossipIntervalMs, 200)
  assert.equal(config.pushPullIntervalMs, 30_000)
  assert.equal(retransmitLimit(config, 10), 8)
  assert.equal(retransmitLimit(config, 1000), 16)
  assert.deepEqual(suspicionTimeouts(config, 1000), { minMs: 12_000, maxMs: 72_000 })
  assert.deepEqual(suspicionTimeouts(config, 3), { minMs: 4000, maxMs: 24_000 })
  assert.equal(suspicionTimeouts({ ...config, suspicionFloorMs: 30_000 }, 10).minMs, 30_000)
  // 12 links: 12 s to the first probe, 1 s probe, 72 s suspicion, 5 hops × 16 × 200 ms.
  assert.equal(detectionBoundMs(config, 1000, 12), 12_000 + 1000 + 72_000 + 5 * 16 * 200)
})

test('neighbourhood: dial up to half the target, accept up to the target, target clamped', () => {
  const random = new SeededRandom(1)
  const dials = dialsNeeded({ neighbours: 2, dialling: ['x'], candidates: ['x', 'p', 'q', 'r', 's', 't'], target: 12, random: () => random.next() })
  assert.equal(dials.length, 3)
  assert.ok(!dials.includes('x'))
  assert.deepEqual(dialsNeeded({ neighbours: 6, dialling: [], candidates: ['p'], target: 12, random: Math.random }), [])
  assert.equal(acceptsNeighbour(11, 12), true)
  assert.equal(acceptsNeighbour(12, 12), false)
  assert.equal(neighbourTarget(undefined), 12)
  assert.equal(neighbourTarget(NaN), 12)
  assert.equal(neighbourTarget(1), 2)
  assert.equal(neighbourTarget(500), 64)
  // Bridges: a node at half its target or fewer (a pair, with a target of 2) reaches past its neighbourhood; one with no link revives instead.
  assert.equal(bridges(1, 2), true)
  assert.equal(bridges(2, 2), false)
  assert.equal(bridges(6, 12), true)
  assert.equal(bridges(7, 12), false)
  assert.equal(bridges(0, 12), false)
})

test('precedence: higher incarnation wins; at one incarnation suspect beats alive, dead and left beat both', () => {
  const { m } = engine()
  m.start()
  m.onPing(B, [alive(B, 1)])
  m.onPing(C, [news(B, 'suspect', 0, C)])
  assert.equal(m.member(B)?.state, 'alive', 'older suspicion ignored')
  m.onPing(C, [news(B, 'suspect', 1, C)])
  assert.equal(m.member(B)?.state, 'suspect')
  m.onPing(C, [alive(B, 1)])
  assert.equal(m.member(B)?.state, 'suspect', 'alive at the same incarnation does not refute')
  m.onPing(B, [alive(B, 2)])
  assert.equal(m.member(B)?.state, 'alive')
  m.onPing(C, [news(B, 'dead', 2, C)])
  assert.equal(m.member(B)?.state, 'dead')
  m.onPing(C, [news(B, 'suspect', 2, C), alive(B, 2)])
  assert.equal(m.member(B)?.state, 'dead')
  m.onPing(B, [alive(B, 3)])
  assert.equal(m.member(B)?.state, 'alive', 'a dead member that comes back with a higher incarnation is alive again')
  assert.equal(m.member(B)?.learned, 'direct')
  m.onPing(D, [news(D, 'dead', 5, C)])
  assert.equal(m.member(D), undefined, 'the death of a stranger adds nobody')
  m.stop()
})

test('refutation: suspicion or death of self at ≥ own incarnation raises it and queues alive with the metadata', () => {
  const { m, sent } = engine({ linked: [B] })
  m.start()
  m.onPing(B, [alive(B)])
  m.onPing(B, [news(SELF, 'suspect', 0, B)])
  assert.equal(m.incarnation, 1)
  m.onPing(B, [news(SELF, 'dead', 4, B)])
  assert.equal(m.incarnation, 5)
  m.onPing(B, [news(SELF, 'suspect', 2, B)])
  assert.equal(m.incarnation, 5, 'stale suspicion ignored')
  assert.equal(m.stats.refutations, 2)
  const ack = m.onPing(B, [])
  const own = ack.updates.find(u => u.nodeId === SELF)
  assert.deepEqual(own, { nodeId: SELF, incarnation: 5, state: 'alive', from: SELF, meta: new Uint8Array([9]) })
  assert.ok(sent.length >= 0)
  m.stop()
})

test('probe: no answer to direct and indirect probes makes a suspect; the suspicion expires into dead', async () => {
  const { m, clock, changes } = engine({ linked: [B, C, D], answers: to => to !== B })
  m.start()
  m.onPing(B, [alive(B)]); m.onPing(C, [alive(C)]); m.onPing(D, [alive(D)])
  await clock.run(4000)
  assert.equal(m.member(B)?.state, 'suspect')
  assert.ok(changes.some(c => c.startsWith('b:alive->suspect: no answer to direct or 2 indirect probes')), changes.join('\n'))
  // n = 4 live: min 4 s, max 24 s, k = 2 expected confirmations (4 − 2 ≥ 2).
  await clock.run(4000 + 24_000)
  assert.equal(m.member(B)?.state, 'dead')
  assert.ok(changes.some(c => /b:suspect->dead: suspected by a{12}, not refuted within \d+ ms/.test(c)), changes.join('\n'))
  assert.equal(m.member(C)?.state, 'alive')
  assert.equal(m.stats.deaths, 1)
  m.stop()
})

test('Lifeguard: each independent confirmation shortens the suspicion, down to the minimum', async () => {
  assert.equal(suspicionTimeoutMs(4000, 24_000, 0, 2), 24_000)
  assert.ok(Math.abs(suspicionTimeoutMs(4000, 24_000, 1, 2) - (24_000 - 20_000 * Math.log(2) / Math.log(3))) < 1e-6)
  assert.equal(suspicionTimeoutMs(4000, 24_000, 2, 2), 4000)
  assert.equal(suspicionTimeoutMs(4000, 24_000, 0, 0), 4000)
  const { m, clock } = engine()
  m.start()
  for (const id of [B, C, D, 'e'.repeat(64)]) m.onPing(id, [alive(id)])
  m.onPing(C, [news(B, 'suspect', 0, C)])
  await clock.run(5000)
  assert.equal(m.member(B)?.state, 'suspect', 'with no confirmation it lasts past the minimum')
  m.onPing(C, [news(B, 'suspect', 0, C)])
  m.onPing(D, [news(B, 'suspect', 0, D)])
  m.onPing('e'.repeat(64), [news(B, 'suspect', 0, 'e'.repeat(64))])
  await clock.run(5001)
  assert.equal(m.member(B)?.state, 'dead', 'two confirmations bring it to the minimum, already past')
  m.stop()
})

test('a suspect that refutes is alive again and its timer is cancelled', async () => {
  const { m, clock, changes } = engine()
  m.start()
  m.onPing(B, [alive(B)]); m.onPing(C, [alive(C)])
  m.onPing(C, [news(B, 'suspect', 0, C)])
  m.onPing(B, [alive(B, 1)])
  await clock.run(100_000)
  assert.equal(m.member(B)?.state, 'alive')
  assert.ok(changes.includes('b:suspect->alive: refuted suspicion'))
  m.stop()
})

test('broadcast queue: one entry per member, fewest-transmitted first, each sent at most the limit', () => {
  const q = new BroadcastQueue()
  q.push(alive(B, 0)); q.push(alive(C, 0)); q.push(alive(B, 1))
  assert.equal(q.size, 2)
  assert.deepEqual(q.take(1, 3).map(u => [u.nodeId, u.incarnation]), [[C, 0]])
  assert.deepEqual(q.take(1, 3).map(u => [u.nodeId, u.incarnation]), [[B, 1]], 'the untransmitted entry goes first')
  q.push(alive(D))
  assert.equal(q.take(1, 3)[0]?.nodeId, D)
  let sends = 0
  for (let i = 0; i < 20; i++) sends += q.take(16, 3).filter(u => u.nodeId === B).length
  assert.equal(sends, 2, 'B was sent once before, then twice more: three in all')
  assert.equal(q.size, 0)
})

test('broadcast queue: news of a state is urgent; metadata alone is not, unless it replaces urgent news not yet spent', () => {
  const q = new BroadcastQueue()
  q.push(alive(B, 0), false)
  assert.equal(q.urgent, 0)
  q.push(news(C, 'suspect', 0, B))
  assert.equal(q.urgent, 1)
  q.push(alive(C, 1), false)
  assert.equal(q.urgent, 1, 'the refutation that replaced a suspicion is still sent at once')
  for (let i = 0; i < 10; i++) q.take(16, 3)
  assert.equal(q.size, 0)
  assert.equal(q.urgent, 0)
})

test('fresh metadata of a settled member rides on probes and acks; a state change gets messages of its own', async () => {
  const { m, clock, sent } = engine({ linked: [B, C, D] })
  m.start()
  for (const id of [B, C, D]) m.onPing(id, [alive(id, 0)])
  await clock.run(clock.now() + 20_000)
  const quiet = sent.length
  // Every member's load refreshed: news, but no message beyond the probes'.
  for (const id of [B, C, D]) m.onPing(id, [alive(id, 1, new Uint8Array([2]))])
  m.setMeta(new Uint8Array([3]))
  await clock.run(clock.now() + 2000)
  const probes = 2
  assert.ok(sent.length - quiet <= probes + 1, `metadata alone sent ${sent.length - quiet} messages in two probe intervals`)
  assert.ok(sent.slice(quiet).some(u => u.some(x => x.nodeId === SELF && x.incarnation === 1)), 'this node\'s metadata rode on a probe')
  // A new incarnation with the same metadata is a refutation (of a suspicion this node may never have
  // heard): pushed at once too.
  const refuted = sent.length
  m.onPing(C, [alive(B, 2, new Uint8Array([2]))])
  await clock.run(clock.now() + config.gossipIntervalMs)
  assert.ok(sent.slice(refuted).filter(u => u.some(x => x.nodeId === B && x.incarnation === 2)).length >= config.gossipNodes, 'the refutation was pushed')
  // A suspicion is pushed to gossipNodes members at the next gossip interval, not left for the probes.
  const before = sent.length
  m.onPing(B, [news(C, 'suspect', 1, B)])
  await clock.run(clock.now() + config.gossipIntervalMs)
  const carrying = sent.slice(before).filter(u => u.some(x => x.nodeId === C && x.state === 'suspect')).length
  assert.ok(carrying >= config.gossipNodes, `a suspicion went out in ${carrying} messages within one gossip interval`)
  m.stop()
})

test('the retransmit limit holds on the wire: news rides on at most retransmitLimit(n) messages', () => {
  const { m } = engine()
  m.start()
  let carried = m.onPing(C, [news(C, 'alive', 0, C)]).updates.filter(u => u.nodeId === C).length
  for (let i = 0; i < 50; i++) carried += m.onPing(D, []).updates.filter(u => u.nodeId === C).length
  assert.equal(carried, retransmitLimit(config, 2))
  m.stop()
})

test('hostile and garbled updates are ignored and counted, never thrown', () => {
  const { m } = engine()
  m.start()
  const garbage = [
    { ...alive(B), nodeId: '' },
    { ...alive(B), incarnation: -1 },
    { ...alive(B), incarnation: NaN },
    { ...alive(B), incarnation: 2 ** 60 },
    { ...alive(B), incarnation: 1.5 },
    { ...alive(B), state: 'zombie' },
    { ...alive(B), meta: new Uint8Array(64 * 1024 + 1) },
    { ...alive(B), meta: 'not bytes' },
    { ...alive(SELF, 99), from: B },
    { ...alive(C), from: B },
    null,
    42,
    'x'
  ] as unknown as GossipUpdate[]
  assert.doesNotThrow(() => m.onPing(B, garbage))
  assert.doesNotThrow(() => m.onSync(B, garbage))
  assert.doesNotThrow(() => m.onPing(B, 'not a list' as unknown as GossipUpdate[]))
  assert.equal(m.members().length, 0)
  assert.equal(m.incarnation, 0, 'only this node speaks for itself')
  assert.equal(m.stats.ignored, garbage.length * 2)
  m.stop()
})

test('the member table is capped: a flood of invented ids cannot exhaust memory', () => {
  const clock = new VirtualClock()
  const links: GossipLinks = { linked: () => [], ping: async () => ({ updates: [] }), pingReq: async () => ({ reached: false, updates: [] }), sync: async () => [] }
  const m = new Membership({ self: SELF, meta: new Uint8Array(), links, timers: clock, random: Math.random, config, maxMembers: 100 })
  m.onSync(B, Array.from({ length: 500 }, (_, i) => alive(`x${i}`)))
  assert.equal(m.members().length, 100)
  assert.equal(m.stats.ignored, 400)
})

test('dead and left members are forgotten after forgetAfterMs', async () => {
  const { m, clock } = engine()
  m.start()
  m.onPing(B, [alive(B)]); m.onPing(C, [alive(C)])
  m.onPing(C, [news(B, 'dead', 0, C), { ...alive(C, 1), state: 'left' }])
  assert.equal(m.member(B)?.state, 'dead')
  assert.equal(m.member(C)?.state, 'left')
  await clock.run(config.forgetAfterMs - 1)
  assert.equal(m.members().length, 2)
  await clock.run(config.forgetAfterMs + 1)
  assert.equal(m.members().length, 0)
  m.stop()
})

test('leave: left for self at incarnation + 1, sent at once to every linked member', () => {
  const { m, sent } = engine({ linked: [B, C] })
  m.start()
  m.leave()
  m.stop()
  assert.equal(sent.length, 2)
  for (const updates of sent) assert.deepEqual(updates.filter(u => u.nodeId === SELF).map(u => [u.state, u.incarnation]), [['left', 1]])
})

test('onPingReq: reached when linked to the target and it answers; a nack at once otherwise', async () => {
  const { m } = engine({ linked: [B], answers: () => true })
  m.start()
  assert.equal((await m.onPingReq(C, B, [])).reached, true)
  assert.equal((await m.onPingReq(C, D, [])).reached, false)
  m.stop()
})

test('a restarted node hearing its own alive news from before the restart speaks again above it, with what it is now', () => {
  const { m } = engine({ linked: [B] })
  m.start()
  const before = m.incarnation
  // What the mesh still holds of this node's earlier life: alive at incarnation 7, with other metadata.
  const ack = m.onPing(B, [{ nodeId: SELF, incarnation: 7, state: 'alive', from: SELF, meta: new Uint8Array([1, 2]) }])
  assert.ok(before < 7)
  assert.equal(m.incarnation, 8)
  const own = ack.updates.find(u => u.nodeId === SELF)
  assert.deepEqual(own === undefined ? null : [own.state, own.incarnation, [...(own.meta ?? [])]], ['alive', 8, [9]])
  // Its own news echoed back (same incarnation, same metadata) is no earlier life.
  m.onPing(B, [{ nodeId: SELF, incarnation: 8, state: 'alive', from: SELF, meta: new Uint8Array([9]) }])
  assert.equal(m.incarnation, 8)
  m.stop()
})

test('a node stopped (its goodbye still held by the mesh) and started again speaks above that goodbye, not waiting for it to be forgotten', () => {
  const { m } = engine({ linked: [B] })
  m.start()
  // Its earlier life said goodbye at incarnation 5: others hold it as left until they forget it.
  const ack = m.onPing(B, [{ nodeId: SELF, incarnation: 5, state: 'left', from: SELF, meta: null }])
  assert.equal(m.incarnation, 6)
  const own = ack.updates.find(u => u.nodeId === SELF)
  assert.deepEqual(own === undefined ? null : [own.state, own.incarnation], ['alive', 6])
  m.stop()
})
