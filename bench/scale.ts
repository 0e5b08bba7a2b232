// Benchmark 14: a mesh of a hundred nodes (issue 18), in this one process on a loopback DHT.
//  a. membership: 100 mesh nodes started ten at a time until every one knows every other,
//     against 2 nodes in the same run (goal: within 10 s of the first start);
//  b. gossip traffic: messages each node sends per second (probes, acks, indirect probes,
//     push-pull) once the mesh has settled, at 10 and 100 nodes (1,000: benchmark 13, in the
//     deterministic simulation); goal: growth no faster than log N;
//  c. detection: one node crashes (no goodbye); time until every survivor sees it down, at 10
//     and 100 nodes, against the bound the design states (detectionBoundMs), with 0 false downs;
//  d. a routed one-step workflow from a full node (SeNode, this process) to the one builder of a
//     100-node mesh against the same in a 2-node mesh (goal: within 1.5x). The builder runs in a
//     child process of its own and the 98 others (mesh nodes with a step server, as in the tests)
//     in another, so that what is measured is the mesh, not a hundred nodes sharing one event loop.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startLocalNode } from '../adapters/node/local-node.js'
import { startBootstrap } from '../adapters/node/swarm.js'
import { detectionBoundMs, gossipConfig } from '../core/mesh/gossip/config.js'
import type { Member } from '../core/mesh/mesh.js'
import type { SeNode } from '../core/node/se-node.js'
import { startArtifactMember } from '../test/helpers/artifact-mesh.js'
import { hex, meshConfig, meshOf, startChildProcess, waitUntil, type ChildNode } from './mesh.js'
import type { BootstrapAddress } from '../core/mesh/bootstrap-address.js'
import { cleanupTempDirs, info, median, ms, now, quietLogger, tempDir, type Result } from './lib.js'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'

const crypto = new SodiumCrypto()
const TIMING = { heartbeatMs: 500, suspectMs: 1500, downMs: 2000 }
const MEMBERSHIP_GOAL_MS = 10_000
const ROUTED_GOAL = 1.5
const ROUTED_RUNS = 15
/** How long traffic is counted once the mesh has settled. */
const TRAFFIC_WINDOW_MS = 10_000

type MeshMember = Awaited<ReturnType<typeof startArtifactMember>>

interface Started { boot: Awaited<ReturnType<typeof startBootstrap>>, members: MeshMember[], downs: Array<{ nodeId: string, at: number }>, mesh: { name: string, secret: string }, t0: number }

async function startMesh (n: number, tagged: number | null): Promise<Started> {
  const boot = await startBootstrap('127.0.0.1', 0)
  const secret = hex(crypto.randomBytes(16))
  const mesh = { name: `bench-scale-${n}-${secret.slice(0, 6)}`, secret }
  const downs: Started['downs'] = []
  const members: MeshMember[] = []
  const t0 = now()
  for (let i = 0; i < n; i += 10) {
    members.push(...await Promise.all(Array.from({ length: Math.min(10, n - i) }, async (_, j) => await startArtifactMember({
      bootstrap: boot.address, name: `s${n}-${i + j}`, dataDir: await tempDir(`scale${n}-${i + j}`), log: quietLogger, mesh, timing: TIMING,
      tags: i + j === tagged ? ['bench'] : [],
      onMemberChange: (m: Member) => { if (m.state === 'down') downs.push({ nodeId: m.nodeId, at: now() }) }
    }))))
  }
  return { boot, members, downs, mesh, t0 }
}

async function stopMesh (s: Started): Promise<void> {
  await Promise.all(s.members.map(async m => await m.close().catch(() => {})))
  await s.boot.close()
}

const knowsAll = (s: Started): boolean => s.members.every(m => m.mesh.usableMembers().length >= s.members.length - 1)

/** ms from the first start until every node knows every other. */
async function membershipMs (n: number): Promise<number> {
  const s = await startMesh(n, null)
  const startedMs = now() - s.t0
  try {
    await waitUntil(`${n} nodes to know each other`, () => knowsAll(s), 120_000)
    const total = now() - s.t0
    info(`${n} nodes: all started ${ms(startedMs)} ms after the first; full membership ${ms(total - startedMs)} ms after that`)
    return total
  } finally {
    await stopMesh(s)
  }
}

interface Settled { msgsPerNodePerS: number, detectMs: number, boundMs: number, falseDowns: number, breakdown: string }

/** Traffic once settled, then one crash: how long until every survivor sees it down. */
async function settledMesh (n: number): Promise<Settled> {
  const s = await startMesh(n, null)
  try {
    await waitUntil(`${n} nodes to know each other`, () => knowsAll(s), 120_000)
    // Settled: the news of every join passed on as many times as it is to be, by every node, and every
    // neighbourhood formed (no link opened or closed anywhere for four probe intervals).
    const known = now()
    const links = (): string => s.members.map(m => { const l = m.mesh.links(); return `${l.neighbours}/${l.work}` }).join(',')
    let seen = links()
    let steadySince = now()
    await waitUntil('the mesh to settle', () => {
      const l = links()
      if (l !== seen || s.members.some(m => m.mesh.membership.urgentNews > 0)) { seen = l; steadySince = now() }
      return now() - steadySince >= 4 * TIMING.heartbeatMs
    }, 60_000)
    const settleMs = now() - known
    const sent = (): number => s.members.reduce((sum, m) => sum + Object.values(m.mesh.membership.stats.sent).reduce((a, b) => a + b, 0), 0)
    // What the window's messages were, and the suspicions behind any news: a loaded machine's late probes show here.
    const counts = (): Record<string, number> => {
      const out: Record<string, number> = {}
      for (const m of s.members) {
        const st = m.mesh.membership.stats
        for (const [k, v] of Object.entries({ ...st.sent, suspicions: st.suspicions, refutations: st.refutations })) out[k] = (out[k] ?? 0) + v
      }
      return out
    }
    const before = sent()
    const countsBefore = counts()
    const began = now()
    await new Promise(resolve => setTimeout(resolve, TRAFFIC_WINDOW_MS))
    const seconds = (now() - began) / 1000
    const msgsPerNodePerS = (sent() - before) / n / seconds
    const breakdown = `${Object.entries(counts()).map(([k, v]) => `${k} ${((v - (countsBefore[k] ?? 0)) / n / seconds).toFixed(2)}`).join(', ')} (counted from ${ms(settleMs)} ms after full membership, once no node had news left to pass on and no link had changed for 4 probe intervals)`
    const victim = s.members[n - 1] as MeshMember
    const survivors = s.members.slice(0, n - 1)
    const crashed = now()
    await victim.crash()
    const config = gossipConfig({ probeIntervalMs: TIMING.heartbeatMs, probeDeadlineMs: TIMING.suspectMs, suspicionFloorMs: TIMING.downMs })
    const boundMs = detectionBoundMs(config, n, survivors[0]?.mesh.neighbourTarget ?? 12)
    await waitUntil('every survivor to see the crash', () => survivors.every(m => m.mesh.member(victim.nodeId)?.state === 'down'), boundMs * 2)
    const detectMs = now() - crashed
    const falseDowns = s.downs.filter(d => d.nodeId !== victim.nodeId).length
    s.members.pop()
    await victim.close().catch(() => {})
    return { msgsPerNodePerS, detectMs, boundMs, falseDowns, breakdown }
  } finally {
    await stopMesh(s)
  }
}

const CHILD_FLAG = '--se-bench-scale-child'
interface ChildArgs { bootstrap: BootstrapAddress, mesh: { name: string, secret: string }, count: number, tag: string | null, prefix: string }

/** In a child process: `count` mesh members (the first tagged `tag`), until stdin closes. */
async function childMain (args: ChildArgs): Promise<void> {
  const members: MeshMember[] = []
  for (let i = 0; i < args.count; i += 10) {
    members.push(...await Promise.all(Array.from({ length: Math.min(10, args.count - i) }, async (_, j) => await startArtifactMember({
      bootstrap: args.bootstrap, name: `${args.prefix}${i + j}`, dataDir: await tempDir(`scale-child-${i + j}`), log: quietLogger, mesh: args.mesh, timing: TIMING,
      tags: i + j === 0 && args.tag !== null ? [args.tag] : []
    }))))
  }
  process.stdout.write(JSON.stringify({ first: members[0]?.nodeId ?? null }) + '\n')
  process.stdin.resume()
  await new Promise(resolve => process.stdin.once('end', resolve))
  await Promise.all(members.map(async m => await m.close().catch(() => {})))
  await cleanupTempDirs()
  process.exit(0)
}

async function routedMs (n: number): Promise<{ medianMs: number, stepNode: string | null }> {
  const boot = await startBootstrap('127.0.0.1', 0)
  const secret = hex(crypto.randomBytes(16))
  const mesh = { name: `bench-routed-${n}-${secret.slice(0, 6)}`, secret }
  const a = await startLocalNode({ dataDir: await tempDir('scale-a'), name: 'scale-a', log: quietLogger, mesh: { ...meshConfig(mesh.name, mesh.secret, boot.address), timing: TIMING } })
  const node = a.node
  const file = fileURLToPath(import.meta.url)
  const children: Array<ChildNode<{ first: string }>> = []
  try {
    children.push(await startChildProcess<{ first: string }>(file, CHILD_FLAG, { bootstrap: boot.address, mesh, count: 1, tag: 'bench', prefix: 'builder-' } satisfies ChildArgs))
    if (n > 2) children.push(await startChildProcess<{ first: string }>(file, CHILD_FLAG, { bootstrap: boot.address, mesh, count: n - 2, tag: null, prefix: `other${n}-` } satisfies ChildArgs))
    const builder = { nodeId: (children[0] as ChildNode<{ first: string }>).ready.first }
    await waitUntil('the requester to know the builder', () => meshOf(node).member(builder.nodeId)?.usable === true, 60_000)
    await waitUntil(`the requester to know all ${n - 1} members`, () => meshOf(node).usableMembers().length >= n - 1, 120_000)
    const workdir = await tempDir('scale-work')
    const times: number[] = []
    let stepNode: string | null = null
    for (let i = 0; i < ROUTED_RUNS + 2; i++) {
      const r = await runRouted(node, workdir)
      stepNode = r.stepNode
      if (i >= 2) times.push(r.elapsed)
    }
    return { medianMs: median(times), stepNode }
  } finally {
    await a.close().catch(() => {})
    await Promise.all(children.map(async c => await c.stop()))
    await boot.close()
  }
}

async function runRouted (node: SeNode, workdir: string): Promise<{ elapsed: number, stepNode: string | null }> {
  const definition = JSON.stringify({ name: 'bench-scale', requires: { capabilities: ['bench'] }, steps: [{ id: 'one', run: { command: 'true' } }] })
  const start = now()
  const status = await node.executeWorkflow({ definition, source: 'bench.yaml', inputs: {}, workdir, requestedBy: '' })
  const final = await node.watchWorkflow(status.id, () => {})
  if (final.state !== 'completed') throw new Error(`routed bench workflow ended ${final.state}: ${final.error ?? ''}`)
  return { elapsed: now() - start, stepNode: final.steps[0]?.node ?? null }
}

export async function benchScale (): Promise<Result[]> {
  const results: Result[] = []
  const two = await membershipMs(2)
  const hundred = await membershipMs(100)
  results.push({ name: 'membership of 100 nodes', subject: `${ms(hundred)} to full membership`, baseline: `${ms(two)} for 2 nodes`, ratio: hundred / two, goal: null, note: `goal: within ${MEMBERSHIP_GOAL_MS / 1000} s of the first start: ${hundred <= MEMBERSHIP_GOAL_MS ? 'met' : 'MISSED'}` })
  results.push({ name: 'membership of 100 nodes within 10 s', subject: ms(hundred), baseline: ms(MEMBERSHIP_GOAL_MS), ratio: hundred / MEMBERSHIP_GOAL_MS, goal: { kind: 'lt', limit: 1 } })

  const ten = await settledMesh(10)
  const big = await settledMesh(100)
  const logRatio = (n: number): number => Math.log10(n) / Math.log10(10)
  info(`gossip messages per node per second: ${ten.msgsPerNodePerS.toFixed(2)} at 10, ${big.msgsPerNodePerS.toFixed(2)} at 100 (1,000 nodes: benchmark 13, simulated)`)
  info(`  per node per second at 10: ${ten.breakdown}`)
  info(`  per node per second at 100: ${big.breakdown}`)
  results.push({ name: 'gossip msgs/node/s, 100 vs 10 nodes', subject: `${big.msgsPerNodePerS.toFixed(2)}/s`, baseline: `${ten.msgsPerNodePerS.toFixed(2)}/s at 10`, ratio: big.msgsPerNodePerS / ten.msgsPerNodePerS, goal: { kind: 'lt', limit: logRatio(100) }, note: `log N grows ${logRatio(100)}x from 10 to 100` })
  for (const [n, d] of [[10, ten], [100, big]] as const) {
    results.push({ name: `crash detection at ${n} nodes`, subject: `${ms(d.detectMs)} until every survivor saw it down`, baseline: `bound ${ms(d.boundMs)}`, ratio: d.detectMs / d.boundMs, goal: { kind: 'lt', limit: 1 }, note: `${d.falseDowns} false downs` })
  }

  const routedTwo = await routedMs(2)
  const routedHundred = await routedMs(100)
  results.push({ name: 'routed 1-step workflow, 100-node mesh vs 2-node', subject: `${ms(routedHundred.medianMs)}/workflow`, baseline: `${ms(routedTwo.medianMs)}/workflow in 2 nodes`, ratio: routedHundred.medianMs / routedTwo.medianMs, goal: { kind: 'lt', limit: ROUTED_GOAL }, note: `median of ${ROUTED_RUNS}; the step ran on ${routedHundred.stepNode ?? '?'}` })
  return results
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  childMain(JSON.parse(process.argv[3] as string) as ChildArgs).catch(err => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
