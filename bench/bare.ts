// Benchmark 7: a headless node on Bare against the same node on Node, each a
// real process joining a mesh (a DHT bootstrap and one member in this process,
// both new for each measurement):
//  a. time from spawn to the member seen `up` through the node's own API;
//  b. resident memory (VmRSS) once idle in the mesh, heartbeating;
//  c. the Bare node's memory against a plain Hyperswarm peer on Bare (bench/bare-peer.ts,
//     bundled as the node is), joined and idle as long: what the node adds to its swarm.
// Rounds alternate the order of the runtimes so machine noise falls on all alike.
import { spawn, type ChildProcess } from 'node:child_process'
import { symlink } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBootstrap } from '../adapters/node/swarm.js'
import { connectNode } from '../adapters/node/client.js'
import { startLocalNode } from '../adapters/node/local-node.js'
import { NodeSystemInfo } from '../adapters/node/system.js'
import { meshConfigFrom } from '../adapters/node/mesh-config.js'
import { info, median, ms, now, quietLogger, tempDir, type Result } from './lib.js'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ROUNDS = 5
const IDLE_MS = 5000
const MEMORY_GOAL = 0.6
/** Issue 16: the Bare node idle within 1.15x of a plain Hyperswarm peer on Bare. */
const PEER_MEMORY_GOAL = 1.15
/** Issue 16: the Node node joined within 1.2x of the Bare node's time. */
const JOIN_GOAL = 1.2

/** `servingMs`: to the node's first answer on its socket (its own start, before the mesh has formed). */
interface Sample { joinedMs: number, rssMb: number, servingMs?: number }

const COMMANDS = {
  bare: (args: string[]) => [path.join(REPO, 'node_modules', '.bin', 'bare'), path.join(REPO, 'bare', 'se-node.cjs'), ...args],
  node: (args: string[]) => [process.execPath, path.join(REPO, 'adapters', 'node', 'bin', 'se.js'), 'node', 'start', ...args]
}

const system = new NodeSystemInfo()

async function rssMb (pid: number): Promise<number> {
  const usage = await system.processUsage(pid)
  if (usage === null) throw new Error(`process ${pid} is gone`)
  return usage.rssBytes / 2 ** 20
}

async function measure (runtime: keyof typeof COMMANDS, bootstrap: string, memberKey: string): Promise<Sample> {
  const dataDir = await tempDir(`bare-${runtime}`)
  const [file, ...args] = COMMANDS[runtime](['--data-dir', dataDir, '--name', `bench-${runtime}`, '--mesh', 'bench', '--mesh-secret', 'bench', '--bootstrap', bootstrap])
  const started = now()
  const child: ChildProcess = spawn(file as string, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SE_TOOLS: 'git,sh' } })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  // One connection, asked again and again: a fresh one each time would leave the node holding the
  // garbage of dozens of clients it would never have at rest (on Bare, 64 KiB of read buffer each).
  let conn: Awaited<ReturnType<typeof connectNode>> | null = null
  try {
    let joinedMs = NaN
    let servingMs = NaN
    while (Number.isNaN(joinedMs)) {
      if (child.exitCode !== null) throw new Error(`${runtime} node exited: ${stderr}`)
      if (now() - started > 30_000) throw new Error(`${runtime} node did not join within 30 s: ${stderr}`)
      conn ??= await connectNode(dataDir, { waitMs: 0 }).catch(() => null)
      if (conn !== null) {
        const nodes = await conn.api.listNodes().catch(() => { conn?.close(); conn = null; return null })
        if (nodes !== null && Number.isNaN(servingMs)) servingMs = now() - started
        if (nodes?.some(n => n.nodeId === memberKey && n.state === 'up') === true) joinedMs = now() - started
      }
      if (Number.isNaN(joinedMs)) await new Promise(resolve => setTimeout(resolve, 10))
    }
    conn?.close()
    conn = null
    await new Promise(resolve => setTimeout(resolve, IDLE_MS))
    return { joinedMs, servingMs, rssMb: await rssMb(child.pid as number) }
  } finally {
    conn?.close()
    child.kill('SIGTERM')
    await new Promise(resolve => child.once('exit', resolve))
  }
}

/** The plain peer, bundled into a temp dir that sees the repository's node_modules (for its addons). */
async function buildPeer (): Promise<string> {
  const dir = await tempDir('bare-peer')
  const out = path.join(dir, 'peer.cjs')
  await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'))
  const build = spawn(process.execPath, [path.join(REPO, 'bare', 'build.mjs'), '--entry', path.join(REPO, 'bench', 'bare-peer.ts'), '--outfile', out], { stdio: 'inherit' })
  const code = await new Promise(resolve => build.once('exit', resolve))
  if (code !== 0) throw new Error(`bundling bench/bare-peer.ts failed (exit ${String(code)})`)
  return out
}

/** A plain Hyperswarm peer on Bare, on a topic of its own: start to joined (its join flushed), and RSS once idle as long as a node. */
async function measurePeer (peer: string, bootstrap: string, round: number): Promise<Sample> {
  const topic = Buffer.alloc(32, round + 1).toString('hex')
  const started = now()
  const child = spawn(path.join(REPO, 'node_modules', '.bin', 'bare'), [peer, bootstrap, topic], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  try {
    const joinedMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the plain peer did not join within 30 s: ${stderr}`)), 30_000)
      child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('joined')) { clearTimeout(timer); resolve(now() - started) } })
      child.once('exit', () => { clearTimeout(timer); reject(new Error(`the plain peer exited: ${stderr}`)) })
    })
    await new Promise(resolve => setTimeout(resolve, IDLE_MS))
    return { joinedMs, rssMb: await rssMb(child.pid as number) }
  } finally {
    child.kill('SIGKILL')
    await new Promise(resolve => child.once('exit', resolve))
  }
}

/** The runtime alone: RSS of a process that loads nothing and waits, for the floor under each node. */
async function emptyRssMb (runtime: keyof typeof COMMANDS): Promise<number> {
  const [file, ...args] = runtime === 'bare'
    ? [path.join(REPO, 'node_modules', '.bin', 'bare'), '-e', 'setTimeout(() => {}, 3000)']
    : [process.execPath, '-e', 'setTimeout(() => {}, 3000)']
  const child = spawn(file as string, args, { stdio: 'ignore' })
  try {
    await new Promise(resolve => setTimeout(resolve, 1000))
    return await rssMb(child.pid as number)
  } finally {
    child.kill('SIGKILL')
  }
}

/**
 * A DHT bootstrap and, for a node, the member it is to see: new for every measurement, so no
 * node joins a topic still announced by the nodes measured (and killed) before it, whose
 * records would send it dialling the dead first.
 */
async function isolated (runtime: keyof typeof COMMANDS | 'peer', round: number, peer: string): Promise<Sample> {
  const boot = await startBootstrap('127.0.0.1', 0)
  const bootstrap = `${boot.address.host}:${boot.address.port}`
  try {
    if (runtime === 'peer') return await measurePeer(peer, bootstrap, round)
    const mesh = meshConfigFrom({ mesh: 'bench', meshSecret: 'bench', bootstrap }, () => {})
    const member = await startLocalNode({ dataDir: await tempDir('bare-member'), name: 'member', log: quietLogger, ...(mesh === undefined ? {} : { mesh }) })
    try {
      return await measure(runtime, bootstrap, member.node.id)
    } finally {
      await member.close()
    }
  } finally {
    await boot.close()
  }
}

export async function benchBare (): Promise<Result[]> {
  const peer = await buildPeer()
  const samples: Record<keyof typeof COMMANDS | 'peer', Sample[]> = { bare: [], node: [], peer: [] }
  for (let i = 0; i < ROUNDS; i++) {
    for (const runtime of (i % 2 === 0 ? ['bare', 'node', 'peer'] : ['peer', 'node', 'bare']) as Array<keyof typeof samples>) {
      samples[runtime].push(await isolated(runtime, i, peer))
    }
  }
  const peerRss = median(samples.peer.map(s => s.rssMb))
  const bareRss = median(samples.bare.map(s => s.rssMb))
  const nodeRss = median(samples.node.map(s => s.rssMb))
  const bareJoin = median(samples.bare.map(s => s.joinedMs))
  const nodeJoin = median(samples.node.map(s => s.joinedMs))
  info(`${ROUNDS} rounds each, alternating; RSS read ${IDLE_MS / 1000} s after joining; every node is a separate process started cold`)
  const floor = { bare: await emptyRssMb('bare'), node: await emptyRssMb('node') }
  info(`the runtimes alone (a process that loads nothing): bare ${floor.bare.toFixed(1)} MiB, node ${floor.node.toFixed(1)} MiB`)
  info(`bare RSS ${samples.bare.map(s => s.rssMb.toFixed(1)).join(', ')} MiB; node RSS ${samples.node.map(s => s.rssMb.toFixed(1)).join(', ')} MiB; plain peer RSS ${samples.peer.map(s => s.rssMb.toFixed(1)).join(', ')} MiB`)
  info(`start to joined: bare ${samples.bare.map(s => ms(s.joinedMs)).join(', ')} ms; node ${samples.node.map(s => ms(s.joinedMs)).join(', ')} ms; plain peer (its join flushed) ${samples.peer.map(s => ms(s.joinedMs)).join(', ')} ms`)
  const serving = (runtime: keyof typeof COMMANDS): number => median(samples[runtime].map(s => s.servingMs ?? NaN))
  return [
    {
      name: 'idle memory: Bare / Node',
      subject: `${bareRss.toFixed(1)} MiB Bare`,
      baseline: `${nodeRss.toFixed(1)} MiB Node`,
      ratio: bareRss / nodeRss,
      goal: { kind: 'lt', limit: MEMORY_GOAL },
      note: 'resident memory (VmRSS) of a headless node idle in a 2-node mesh, median of the rounds'
    },
    {
      name: 'idle memory: Bare node / plain Hyperswarm peer on Bare',
      subject: `${bareRss.toFixed(1)} MiB node`,
      baseline: `${peerRss.toFixed(1)} MiB peer`,
      ratio: bareRss / peerRss,
      goal: { kind: 'lt', limit: PEER_MEMORY_GOAL },
      note: 'VmRSS of the Bare node idle in the mesh against a Hyperswarm peer with its DHT node (bench/bare-peer.ts, bundled alike) joined and idle as long; what the node adds to its swarm'
    },
    {
      name: 'start to joined: Node / Bare',
      subject: `${ms(nodeJoin)} ms Node`,
      baseline: `${ms(bareJoin)} ms Bare`,
      ratio: nodeJoin / bareJoin,
      goal: { kind: 'lt', limit: JOIN_GOAL },
      note: 'from spawning the process to the other member seen up through the node\'s own API, median of the rounds'
    },
    {
      name: 'start to serving: Node / Bare',
      subject: `${ms(serving('node'))} ms Node`,
      baseline: `${ms(serving('bare'))} ms Bare`,
      ratio: serving('node') / serving('bare'),
      goal: null,
      note: 'the part of start to joined that is the node\'s own start: to its first answer on its socket; the rest is the mesh forming, alike on both'
    }
  ]
}
