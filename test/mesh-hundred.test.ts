// A mesh of a hundred nodes in one process, on real Hyperswarm over a loopback
// DHT: every node comes to know every other by gossip while holding connections
// to a bounded neighbourhood only; a step needing what one node of the hundred
// has goes to it; and ten nodes killed at once are seen down by every survivor
// within the bound the design states, with no live node ever marked down.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loopbackBootstrap, startArtifactMember } from './helpers/artifact-mesh.js'
import { defer, eventually, makeTempDir } from './helpers/tmp.js'
import { gossipConfig, detectionBoundMs } from '../core/mesh/gossip/config.js'
import { DEFAULT_NEIGHBOURS } from '../core/mesh/gossip/neighbourhood.js'
import { DEFAULT_TIMING, type Member } from '../core/mesh/mesh.js'
import { Router } from '../core/mesh/router.js'
import type { NodeCapabilities, StepRequest } from '../core/protocol/types.js'
import { heavyFileTurn } from './helpers/heavy.js'

// One CPU-heavy file at a time (test/helpers/heavy.ts).
await heavyFileTurn()

const N = Number(process.env.SE_MESH_TEST_NODES ?? 100)
const KILLED = Math.max(1, Math.round(N / 10))
/**
 * The defaults: probe every second; a probe has 3 s, direct then through others; a suspect stays so
 * at least 6 s (8 s for N = 100: 4·log10 N intervals), up to 6 times that unless others confirm it.
 * A hundred nodes share this process's two cores, so a probe answered late is a real risk here.
 */
const TIMING = { heartbeatMs: DEFAULT_TIMING.heartbeatMs, suspectMs: DEFAULT_TIMING.suspectMs, downMs: DEFAULT_TIMING.downMs }
const ONLY = 'only-on-one'

const caps = (nodeId: string, name: string): NodeCapabilities => ({ nodeId, name, runtime: 'node', version: '0', platform: 'linux', arch: 'x64', engines: ['process'], tools: [], credentials: [], tags: [], cpus: 1, memoryTotalMb: 1, memoryFreeMb: 1, loadAverage: 0 })

test(`${N} nodes in one process: full membership by gossip with bounded connections, routing to the one capable node, and ${KILLED} crashes seen by every survivor`, { timeout: 600_000 }, async t => {
  const bootstrap = await loopbackBootstrap(t)
  const downs: Array<{ observer: string, nodeId: string, at: number }> = []
  const started = Date.now()
  type MeshNode = Awaited<ReturnType<typeof startArtifactMember>>
  const nodes: MeshNode[] = []
  const special = Math.floor(N * 0.57)
  // Ten a second, as machines joining a fleet would: a hundred handshakes at once on this
  // process's two cores would starve every node's probes, which no real mesh of machines shares.
  const start = async (i: number): Promise<MeshNode> => {
    const name = `n${String(i).padStart(3, '0')}`
    return await startArtifactMember({
      bootstrap, name, dataDir: await makeTempDir(t, `se-100-${name}-`), timing: TIMING, tags: i === special ? [ONLY] : [],
      onMemberChange: (m: Member) => { if (m.state === 'down') downs.push({ observer: name, nodeId: m.nodeId, at: Date.now() }) }
    })
  }
  const starting: Array<Promise<MeshNode>> = []
  for (let i = 0; i < N; i += 10) {
    for (let j = i; j < Math.min(N, i + 10); j++) starting.push(start(j))
    await new Promise(resolve => setTimeout(resolve, 1000))
  }
  nodes.push(...await Promise.all(starting))
  const lastStarted = Date.now()
  // Stopped together: one after another, a hundred goodbyes take minutes.
  defer(t, async () => { await Promise.all(nodes.map(async n => await n.close().catch(() => {}))) })
  const allStarted = Date.now() - started
  const knowsAll = (n: typeof nodes[number], others: typeof nodes): boolean => others.every(o => o === n || n.mesh.member(o.nodeId)?.usable === true)
  await eventually(`every one of ${N} nodes to know every other`, () => nodes.every(n => knowsAll(n, nodes)), 120_000, 100)
  const membershipMs = Date.now() - started
  t.diagnostic(`${N} nodes started over ${allStarted} ms; full membership ${membershipMs} ms after the first started, ${Date.now() - lastStarted} ms after the last`)

  // Each node holds its neighbourhood, no more; nothing has asked for work yet. (A neighbour
  // request refused leaves a connection for a moment, until its dialler's next round closes it.)
  const target = nodes[0]!.mesh.neighbourTarget
  assert.equal(target, DEFAULT_NEIGHBOURS)
  const within = (): boolean => nodes.every(n => { const l = n.mesh.links(); return l.neighbours + l.work <= target })
  await eventually('every node to hold no more connections than its neighbourhood', within, 30 * TIMING.heartbeatMs, 50).catch(() => {})
  const links = nodes.map(n => n.mesh.links())
  const over = nodes.filter(n => { const l = n.mesh.links(); return l.neighbours + l.work > target })
  for (const n of over) t.diagnostic(`${n.name}: ${[...n.mesh.members.values()].filter(m => m.connected && !m.neighbour).map(m => `work link to ${m.name} (dialled ${m.dialled}, busy ${m.rpc?.busy}, leases ${m.leases})`).join('; ')}`)
  const most = Math.max(...links.map(l => l.neighbours + l.work))
  t.diagnostic(`connections per node: most ${most}, mean ${(links.reduce((s, l) => s + l.neighbours + l.work, 0) / N).toFixed(1)} (neighbourhood target ${target}); a full mesh would hold ${N - 1}`)
  for (const [i, l] of links.entries()) assert.ok(l.neighbours + l.work <= target, `${nodes[i]!.name} holds ${l.neighbours} neighbour and ${l.work} work connections, over its target ${target}`)

  // A step needing what one node of the hundred has goes to that node, over a connection opened for it.
  const from = nodes[3]!
  const only = nodes[special]!
  const router = new Router({ members: from.mesh, local: () => caps(from.nodeId, from.name), clock: { now: () => Date.now() } as never, audit: () => {} })
  const routing = router.plan({ name: 'ONLY', requires: { capabilities: [ONLY] }, steps: [{ id: 'where', run: { command: 'true' } }] } as never)
  assert.equal(routing?.nodeId, only.nodeId, `routed to ${routing?.name}`)
  const wasLinked = from.mesh.member(only.nodeId)?.link
  const api = await from.mesh.reach(only.nodeId)
  const step: StepRequest = { workflowId: 'wf-only', workflowName: 'ONLY', stepId: 'where', attempt: 1, command: 'sh', args: ['-c', 'echo ran on $SE_NODE_ID'], cwd: null, env: {}, requires: [ONLY], timeoutMs: 30_000, container: null, uses: [], publish: [], outputs: false }
  const outcome = await api.runStep(step, () => {})
  assert.equal(outcome.exitCode, 0, outcome.stderr)
  if (wasLinked === null) assert.equal(from.mesh.member(only.nodeId)?.link, 'work', 'the step opened a work connection')
  // The capability is on the DHT too, for a node that gossip has not told yet (one that has just joined).
  assert.deepEqual(await from.mesh.lookupCapability(ONLY), [only.nodeId])
  assert.deepEqual(await from.mesh.lookupCapability('nobody-has-this'), [])
  assert.throws(() => router.plan({ name: 'NOBODY', requires: { capabilities: ['nobody-has-this'] }, steps: [{ id: 's', run: { command: 'true' } }] } as never),
    (err: Error) => /no node that is up meets capability 'nobody-has-this'/.test(err.message))

  // Ten crash at once (no goodbye): every survivor sees all ten down within the design's bound.
  const victims = nodes.filter((_, i) => i !== special && i !== 3).slice(-KILLED)
  const victimIds = new Set(victims.map(v => v.nodeId))
  const survivors = nodes.filter(n => !victimIds.has(n.nodeId))
  const config = gossipConfig({ probeIntervalMs: TIMING.heartbeatMs, probeDeadlineMs: TIMING.suspectMs, suspicionFloorMs: TIMING.downMs })
  const bound = detectionBoundMs(config, N, target)
  const killedAt = Date.now()
  await Promise.all(victims.map(async v => await v.crash()))
  await eventually(`every survivor to see all ${KILLED} crashed nodes down`, () => survivors.every(s => victims.every(v => s.mesh.member(v.nodeId)?.state === 'down')), bound + 5000, 100)
  const detectedMs = Date.now() - killedAt
  const firstSeen = Math.min(...downs.filter(d => victimIds.has(d.nodeId)).map(d => d.at)) - killedAt
  t.diagnostic(`${KILLED} crashes: first marked down after ${firstSeen} ms, by every survivor after ${detectedMs} ms (bound ${bound} ms for N=${N}, ${target} links: ${JSON.stringify({ probeIntervalMs: config.probeIntervalMs, probeDeadlineMs: config.probeDeadlineMs })})`)
  assert.ok(detectedMs <= bound, `detection took ${detectedMs} ms, over the bound ${bound} ms`)
  const falseDowns = downs.filter(d => !victimIds.has(d.nodeId))
  assert.deepEqual(falseDowns.map(d => `${d.observer} marked ${d.nodeId.slice(0, 8)} down`), [], 'no live node was ever marked down')
})
