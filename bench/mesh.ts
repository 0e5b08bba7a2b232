// Benchmark 4: the mesh over Hyperswarm on loopback, with a DHT bootstrap in this process.
//  a. time from start to full membership for 2, 10 and 20 nodes (in this process);
//  b. an RPC round trip between two node processes against a raw length-prefixed echo
//     between two bare transports over the same kind of Hyperswarm connection;
//  c. a one-step workflow routed to the other node against the same workflow run locally.
// For b and c the second node (and the echo server) runs in a child process: this file,
// started again with CHILD_FLAG.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import b4a from 'b4a'
import type { Mesh } from '../core/mesh/mesh.js'
import type { MeshConfig, SeNode } from '../core/node/se-node.js'
import type { Connection, MeshTransport, PeerLink } from '../core/ports.js'
import type { NodeSample } from '../core/protocol/types.js'
import { RpcPeer, type Handler } from '../core/rpc/peer.js'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { startLocalNode, type LocalNode } from '../adapters/node/local-node.js'
import { startBootstrap } from '../adapters/node/swarm.js'
import { createSwarmTransport } from '../adapters/shared/hyperswarm-transport.js'
import type { BootstrapAddress } from '../core/mesh/bootstrap-address.js'
import { info, median, ms, now, percentile, quietLogger, tempDir, type Result } from './lib.js'

const CHILD_FLAG = '--se-bench-mesh-child'
const SIZES = [2, 10, 20]
const MEMBERSHIP_GOAL_MS = 2000
const MEMBERSHIP_ROUNDS = 3
/** Give up on a membership run after this long; the run then counts as missed. */
const MEMBERSHIP_TIMEOUT_MS = 15_000
const RPC_N = 1000
const RPC_WARMUP = 300
const RPC_ROUNDS = 3
/** The raw echo fails the bench after this long without a reply (the heartbeat's own timeout is the same). */
const ECHO_TIMEOUT_MS = 5000
/** A heartbeat may take this much longer than a raw echo of its bytes, p50 (issue 14). */
const RPC_GOAL = 1.3
const WF_N = 15
const WF_WARMUP = 3
/** Which parts run: SE_BENCH_MESH_PARTS=rpc (a comma list of membership, rpc, workflow) to profile one; all by default. */
const PARTS = new Set((process.env.SE_BENCH_MESH_PARTS ?? 'membership,rpc,workflow').split(',').map(p => p.trim()))

const crypto = new SodiumCrypto()
export const hex = (b: Uint8Array): string => b4a.toString(b4a.from(b.buffer, b.byteOffset, b.byteLength), 'hex')
const us = (msValue: number): string => `${(msValue * 1000).toFixed(0)} µs`
const sleep = (msValue: number): Promise<void> => new Promise(resolve => setTimeout(resolve, msValue))

export function meshConfig (name: string, secret: string, bootstrap: BootstrapAddress): MeshConfig {
  return { name, secret, transport: async kp => await createSwarmTransport(kp, [bootstrap]), allow: null, peers: [], timing: {}, neighbours: 12 }
}

/** The node's mesh; SeNode keeps it private, and the bench needs its members. */
export function meshOf (node: SeNode): Mesh {
  const mesh = node.mesh
  if (mesh === null) throw new Error(`node ${node.name} has no mesh`)
  return mesh
}

export async function waitUntil (what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs
  while (!ok()) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(2)
  }
}

// ---- a. membership

interface Membership { n: number, startedMs: number, fullMs: number, firstMs: number, seen: number }

/** Starts n nodes at once on a fresh bootstrap; ms until every node has every other as a usable member. */
async function membership (n: number): Promise<Membership> {
  const boot = await startBootstrap('127.0.0.1', 0)
  const dirs = await Promise.all(Array.from({ length: n }, async (_, i) => await tempDir(`mesh${n}-${i}`)))
  const secret = hex(crypto.randomBytes(16))
  const name = `bench-${n}-${secret.slice(0, 8)}`
  const nodes: LocalNode[] = []
  try {
    const t0 = now()
    const started = await Promise.allSettled(dirs.map(async (dataDir, i) => await startLocalNode({ dataDir, name: `m${n}-${i}`, log: quietLogger, mesh: meshConfig(name, secret, boot.address) })))
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value)
    const failed = started.find(s => s.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    const startedMs = now() - t0
    const meshes = nodes.map(l => meshOf(l.node))
    // When each node first saw all the others.
    const complete = meshes.map(() => NaN)
    const full = (): boolean => {
      let all = true
      meshes.forEach((m, i) => {
        if (m.usableMembers().length === n - 1) { if (Number.isNaN(complete[i])) complete[i] = now() - t0 } else all = false
      })
      return all
    }
    let fullMs = NaN
    try {
      await waitUntil(`${n} nodes to see each other`, full, MEMBERSHIP_TIMEOUT_MS)
      fullMs = now() - t0
    } catch {
      // Reported as NaN with how far it got.
    }
    const seen = Math.min(...meshes.map(m => m.usableMembers().length))
    return { n, startedMs, fullMs, firstMs: Math.min(...complete.filter(Number.isFinite)), seen }
  } finally {
    await Promise.all(nodes.map(async l => await l.close().catch(() => {})))
    await boot.close()
  }
}

// ---- b. raw echo over a bare Hyperswarm connection

/** Splits a byte stream into length-prefixed frames. */
function framer (onFrame: (payload: Buffer) => void): (data: Uint8Array) => void {
  let buffered: Buffer = Buffer.alloc(0)
  return data => {
    buffered = buffered.byteLength === 0 ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.concat([buffered, data])
    while (buffered.byteLength >= 4) {
      const length = buffered.readUInt32BE(0)
      if (buffered.byteLength < 4 + length) break
      onFrame(buffered.subarray(4, 4 + length))
      buffered = buffered.subarray(4 + length)
    }
  }
}

function frameOf (payloadBytes: number, replyBytes = 0): Buffer {
  const out = Buffer.alloc(4 + payloadBytes, 0x61)
  out.writeUInt32BE(payloadBytes, 0)
  if (payloadBytes >= 4) out.writeUInt32BE(replyBytes, 4)
  return out
}

/** Answers each frame with a frame of the size named in its first four bytes. */
function serveEcho (link: PeerLink): void {
  const replies = new Map<number, Buffer>()
  link.onData(framer(payload => {
    const size = payload.byteLength >= 4 ? payload.readUInt32BE(0) : payload.byteLength
    let reply = replies.get(size)
    if (reply === undefined) { reply = frameOf(size); replies.set(size, reply) }
    link.write(reply)
  }))
}

interface Echo { call (): Promise<void>, close (): Promise<void> }

async function echoClient (bootstrap: BootstrapAddress, topic: Uint8Array, serverKey: string, requestBytes: number, replyBytes: number): Promise<Echo> {
  const transport: MeshTransport = await createSwarmTransport(crypto.generateKeyPair(), [bootstrap])
  const request = frameOf(requestBytes - 4, replyBytes - 4)
  let link: PeerLink | null = null
  const open: PeerLink[] = []
  let waiting: { resolve (): void, reject (err: Error): void, since: number } | null = null
  // Hyperswarm may keep either of two duplicate connections: the newest open one carries the requests, and a
  // request in flight when its connection changes is sent again on the one that takes over.
  const use = (l: PeerLink | null): void => {
    link = l
    if (l !== null && waiting !== null) l.write(request)
  }
  transport.onConnection(l => {
    if (hex(l.remotePublicKey) !== serverKey) { l.close(); return }
    open.push(l)
    l.onClose(() => {
      open.splice(open.indexOf(l), 1)
      if (link === l) use(open[open.length - 1] ?? null)
    })
    l.onData(framer(() => {
      if (link !== l) return
      const done = waiting
      waiting = null
      done?.resolve()
    }))
    use(l)
  })
  await transport.join(topic)
  await waitUntil('the echo connection', () => link !== null, 10_000)
  // A lost reply fails the bench instead of hanging it; one watchdog, so that no call pays for a timer of its own.
  const watchdog = setInterval(() => {
    if (waiting === null || now() - waiting.since < ECHO_TIMEOUT_MS) return
    const lost = waiting
    waiting = null
    lost.reject(new Error(`the raw echo got no reply within ${ECHO_TIMEOUT_MS} ms`))
  }, ECHO_TIMEOUT_MS / 5)
  return {
    call: () => new Promise<void>((resolve, reject) => { waiting = { resolve, reject, since: now() }; (link as PeerLink).write(request) }),
    close: async () => { clearInterval(watchdog); await transport.destroy() }
  }
}

/** Bytes one heartbeat call puts on the wire each way, frame headers included. */
async function heartbeatBytes (sample: NodeSample): Promise<{ request: number, reply: number }> {
  const counts = { request: 0, reply: 0 }
  const pair = (count: (n: number) => void): Connection & { peer: ((d: Uint8Array) => void) | null, listener: ((d: Uint8Array) => void) | null } => {
    const c = {
      label: 'count',
      peer: null as ((d: Uint8Array) => void) | null,
      listener: null as ((d: Uint8Array) => void) | null,
      write: (d: Uint8Array) => { count(d.byteLength); const p = c.peer; setImmediate(() => p?.(d)) },
      onData: (l: (d: Uint8Array) => void) => { c.listener = l },
      onClose: () => {},
      close: () => {}
    }
    return c
  }
  const a = pair(n => { counts.request += n })
  const b = pair(n => { counts.reply += n })
  a.peer = d => b.listener?.(d)
  b.peer = d => a.listener?.(d)
  const handlers = new Map<string, Handler>([['heartbeat', async () => ({ ...sample, nodeId: sample.nodeId.replace(/./g, 'f') })]])
  const server = new RpcPeer(b, { handlers })
  const client = new RpcPeer(a)
  await client.call('heartbeat', { sample })
  client.close()
  server.close()
  return counts
}

async function sample (n: number, fn: () => Promise<unknown>, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const start = now()
    await fn()
    out.push(now() - start)
  }
}

// ---- the other process

interface ChildArgs { bootstrap: BootstrapAddress, name: string, secret: string, dataDir: string, echoTopic: string }
interface ChildReady { nodeId: string, echoKey: string, rpcKey: string }

/** The topic of the bare RpcPeer server: the echo's with its first byte changed. */
function rpcTopicOf (echoTopic: Uint8Array): Uint8Array {
  const topic = b4a.from(echoTopic)
  topic[0] = ((topic[0] as number) + 1) & 0xff
  return topic
}

/** Answers heartbeats with RpcPeer alone on bare Hyperswarm links: no node, no handshake, no mesh. */
function serveBareRpc (link: PeerLink): void {
  const handlers = new Map<string, Handler>([['heartbeat', async req => ({ ...(req.sample as NodeSample), nodeId: (req.sample as NodeSample).nodeId.replace(/./g, 'f') })]])
  void new RpcPeer(link, { handlers })
}

/** An RpcPeer client on a bare Hyperswarm link to serveBareRpc. */
async function bareRpcClient (bootstrap: BootstrapAddress, topic: Uint8Array, serverKey: string): Promise<{ peer (): RpcPeer, close (): Promise<void> }> {
  const transport = await createSwarmTransport(crypto.generateKeyPair(), [bootstrap])
  let peer: RpcPeer | null = null
  transport.onConnection(l => {
    if (hex(l.remotePublicKey) !== serverKey) { l.close(); return }
    // A duplicate replaces the connection, as a mesh member's does.
    const old = peer
    peer = new RpcPeer(l)
    old?.close()
  })
  await transport.join(topic)
  await waitUntil('the bare rpc connection', () => peer !== null, 10_000)
  return { peer: () => peer as RpcPeer, close: async () => { peer?.close(); await transport.destroy() } }
}

async function childMain (args: ChildArgs): Promise<void> {
  const local = await startLocalNode({ dataDir: args.dataDir, name: 'bench-b', tags: ['bench'], log: quietLogger, mesh: meshConfig(args.name, args.secret, args.bootstrap) })
  const echo = await createSwarmTransport(crypto.generateKeyPair(), [args.bootstrap])
  echo.onConnection(serveEcho)
  await echo.announce(b4a.from(args.echoTopic, 'hex'))
  const bareRpc = await createSwarmTransport(crypto.generateKeyPair(), [args.bootstrap])
  bareRpc.onConnection(serveBareRpc)
  await bareRpc.announce(rpcTopicOf(b4a.from(args.echoTopic, 'hex')))
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    Promise.all([echo.destroy(), bareRpc.destroy(), local.close()]).finally(() => process.exit(0))
  }
  // The bench closes stdin to stop this process; its own death closes it too.
  process.stdin.on('end', stop)
  process.stdin.on('close', stop)
  process.stdin.resume()
  process.on('SIGTERM', stop)
  const ready: ChildReady = { nodeId: local.node.id, echoKey: hex(echo.publicKey), rpcKey: hex(bareRpc.publicKey) }
  process.stdout.write(JSON.stringify(ready) + '\n')
}

async function startChild (args: ChildArgs): Promise<ChildNode<ChildReady>> {
  return await startChildProcess<ChildReady>(fileURLToPath(import.meta.url), CHILD_FLAG, args)
}

/** `lines`: the child's output after its first line (its replies, when it takes requests on stdin). */
export interface ChildNode<Ready> { child: ChildProcess, ready: Ready, lines: Interface, stop (): Promise<void> }

/**
 * Starts `file` again in a child process with `flag` and `args` (JSON); resolves with the
 * JSON of its first line of output. Closing its stdin (stop()) asks it to end.
 */
export async function startChildProcess<Ready> (file: string, flag: string, args: unknown, env: NodeJS.ProcessEnv = process.env): Promise<ChildNode<Ready>> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, flag, JSON.stringify(args)], { cwd: path.resolve(path.dirname(file), '..'), stdio: ['pipe', 'pipe', 'pipe'], env })
  let stderr = ''
  child.stderr?.on('data', d => { stderr += String(d) })
  const exited = once(child, 'exit').catch(() => {})
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.stdin?.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child node process did not start within 30 s: ${stderr}`)), 30_000)
      lines.once('line', l => { clearTimeout(timer); resolve(l) })
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`the child node process exited (${code}): ${stderr}`)) })
    })
    return { child, ready: JSON.parse(line) as Ready, lines, stop }
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
}

// ---- c. workflows

function workflowText (routed: boolean): string {
  return JSON.stringify({
    name: routed ? 'bench-routed' : 'bench-local',
    ...(routed ? { requires: { capabilities: ['bench'] } } : {}),
    steps: [{ id: 'one', run: { command: 'true' } }]
  })
}

async function runWorkflow (node: SeNode, workdir: string, routed: boolean): Promise<{ elapsed: number, stepNode: string | null }> {
  const definition = workflowText(routed)
  const start = now()
  const status = await node.executeWorkflow({ definition, source: 'bench.yaml', inputs: {}, workdir, requestedBy: '' })
  const final = await node.watchWorkflow(status.id, () => {})
  const elapsed = now() - start
  if (final.state !== 'completed') throw new Error(`${routed ? 'routed' : 'local'} bench workflow ended ${final.state}: ${final.error ?? ''}`)
  return { elapsed, stepNode: final.steps[0]?.node ?? null }
}

// ---- the benchmark

export async function benchMesh (): Promise<Result[]> {
  const results: Result[] = []

  // a. membership
  const fullMs = new Map<number, number>()
  for (const n of PARTS.has('membership') ? SIZES : []) {
    const times: number[] = []
    for (let round = 0; round < MEMBERSHIP_ROUNDS; round++) {
      const r = await membership(n)
      times.push(r.fullMs)
      info(`${String(n).padStart(2)} nodes, run ${round + 1}: all started in ${ms(r.startedMs)} ms; ` + (Number.isFinite(r.fullMs)
        ? `first node saw all others at ${ms(r.firstMs)} ms, every node at ${ms(r.fullMs)} ms`
        : `full membership not reached in ${MEMBERSHIP_TIMEOUT_MS} ms (fewest members seen ${r.seen}/${n - 1})`))
    }
    // A run that never completed makes the size's figure NaN: it counts as missed.
    fullMs.set(n, times.some(t => !Number.isFinite(t)) ? NaN : median(times))
  }
  const base = fullMs.get(SIZES[0] as number) as number
  for (const n of PARTS.has('membership') ? SIZES.slice(1) : []) {
    const t = fullMs.get(n) as number
    const last = n === SIZES[SIZES.length - 1]
    results.push({
      name: `mesh membership, ${n} nodes`,
      subject: `${ms(t)} ms`,
      baseline: `${ms(base)} ms 2 nodes`,
      ratio: t / base,
      // The goal is absolute (within 2 s); as a ratio to the 2-node time it is 2 s / that time.
      goal: last ? { kind: 'lt', limit: Math.floor(MEMBERSHIP_GOAL_MS / base * 100) / 100 } : null,
      ...(last ? { note: `goal: ${n} nodes all seeing each other within ${MEMBERSHIP_GOAL_MS} ms of start, i.e. ratio < ${MEMBERSHIP_GOAL_MS} ms / 2-node time; median of ${MEMBERSHIP_ROUNDS} runs, all nodes in one process` } : {})
    })
  }

  // b and c: node A here, node B (tag bench) and the echo server in a second process.
  const boot = await startBootstrap('127.0.0.1', 0)
  const secret = hex(crypto.randomBytes(16))
  const name = `bench-pair-${secret.slice(0, 8)}`
  const echoTopic = crypto.randomBytes(32)
  let a: LocalNode | null = null
  let other: Awaited<ReturnType<typeof startChild>> | null = null
  let echo: Echo | null = null
  let bareRpc: { close (): Promise<void> } | null = null
  try {
    const [aDir, bDir, workdir] = await Promise.all([tempDir('mesh-a'), tempDir('mesh-b'), tempDir('mesh-work')])
    other = await startChild({ bootstrap: boot.address, name, secret, dataDir: bDir, echoTopic: hex(echoTopic) })
    a = await startLocalNode({ dataDir: aDir, name: 'bench-a', log: quietLogger, mesh: meshConfig(name, secret, boot.address) })
    const node = a.node
    const mesh = meshOf(node)
    const bId = other.ready.nodeId
    await waitUntil('node A to see node B', () => mesh.member(bId)?.usable === true, 15_000)

    if (PARTS.has('rpc')) {
      // b. rpc round trip
      const self = (await node.listNodes()).find(m => m.self)?.sample
      if (self == null) throw new Error('node A has no sample')
      const bytes = await heartbeatBytes(self)
      echo = await echoClient(boot.address, echoTopic, other.ready.echoKey, bytes.request, bytes.reply)
      const heartbeat = async (): Promise<unknown> => {
        const rpc = mesh.member(bId)?.rpc
        if (rpc == null) throw new Error('node B is not connected')
        return await rpc.call('heartbeat', { sample: self }, { timeoutMs: ECHO_TIMEOUT_MS })
      }
      const e = echo
      const bare = await bareRpcClient(boot.address, rpcTopicOf(echoTopic), other.ready.rpcKey)
      bareRpc = bare
      const bareHeartbeat = async (): Promise<unknown> => await bare.peer().call('heartbeat', { sample: self }, { timeoutMs: ECHO_TIMEOUT_MS })
      await sample(RPC_WARMUP, heartbeat, [])
      await sample(RPC_WARMUP, e.call, [])
      await sample(RPC_WARMUP, bareHeartbeat, [])
      const rpc: number[] = []
      const raw: number[] = []
      const bareRpcTimes: number[] = []
      for (let round = 0; round < RPC_ROUNDS; round++) {
        await sample(RPC_N, e.call, raw)
        await sample(RPC_N, heartbeat, rpc)
        await sample(RPC_N, bareHeartbeat, bareRpcTimes)
      }
      const [p50, p99, rawP50, rawP99] = [median(rpc), percentile(rpc, 99), median(raw), percentile(raw, 99)]
      info(`two OS processes (node A here, node B and the echo server in a child); ${bytes.request} B request / ${bytes.reply} B reply; ${RPC_ROUNDS}×${RPC_N} calls each`)
      info(`heartbeat rpc  p50 ${us(p50)}  p99 ${us(p99)}`)
      info(`raw echo       p50 ${us(rawP50)}  p99 ${us(rawP99)}`)
      info(`context: the same heartbeat from an RpcPeer on a bare Hyperswarm link (no node, no handshake, no mesh) p50 ${us(median(bareRpcTimes))}  p99 ${us(percentile(bareRpcTimes, 99))}`)
      results.push({
        name: 'mesh rpc heartbeat p50',
        subject: `${us(p50)} p50`,
        baseline: `${us(rawP50)} echo p50`,
        ratio: p50 / rawP50,
        goal: { kind: 'lt', limit: RPC_GOAL },
        note: 'member.rpc.call(\'heartbeat\') between two node processes vs length-prefixed echo of the same sizes on a bare Hyperswarm connection'
      })
      results.push({
        name: 'mesh rpc heartbeat p99',
        subject: `${us(p99)} p99`,
        baseline: `${us(rawP99)} echo p99`,
        ratio: p99 / rawP99,
        goal: null
      })
    }

    if (PARTS.has('workflow')) {
      // c. routed vs local one-step workflow
      for (let i = 0; i < WF_WARMUP; i++) {
        await runWorkflow(node, workdir, false)
        await runWorkflow(node, workdir, true)
      }
      const local: number[] = []
      const routed: number[] = []
      for (let i = 0; i < WF_N; i++) {
        local.push((await runWorkflow(node, workdir, false)).elapsed)
        const r = await runWorkflow(node, workdir, true)
        if (r.stepNode !== bId) throw new Error(`the routed step ran on ${r.stepNode ?? 'no node'}, not node B`)
        routed.push(r.elapsed)
      }
      const [localMs, routedMs] = [median(local), median(routed)]
      const overhead = routedMs - localMs
      info(`one-step workflow (\`true\`), ${WF_N} runs each: local p50 ${ms(localMs)} ms, routed to B p50 ${ms(routedMs)} ms; overhead ${ms(overhead)} ms (goal < 20 ms)`)
      results.push({
        name: 'routed 1-step workflow',
        subject: `${ms(routedMs)} ms`,
        baseline: `${ms(localMs)} ms local`,
        ratio: routedMs / localMs,
        // The goal is absolute (overhead under 20 ms): as a ratio, (local + 20 ms) / local.
        goal: { kind: 'lt', limit: Math.floor((localMs + 20) / localMs * 100) / 100 },
        note: `routing overhead ${ms(overhead)} ms (median routed - median local); goal overhead < 20 ms, i.e. ratio < (local + 20 ms) / local`
      })
    }
  } finally {
    await echo?.close().catch(() => {})
    await bareRpc?.close().catch(() => {})
    await a?.close().catch(() => {})
    await other?.stop()
    await boot.close()
  }
  return results
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  childMain(JSON.parse(process.argv[3] as string) as ChildArgs).catch(err => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
