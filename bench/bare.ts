// Benchmark 7: a headless node on Bare against the same node on Node, each a
// real process joining a mesh (a DHT bootstrap and one member in this process):
//  a. time from spawn to the member seen `up` through the node's own API;
//  b. resident memory (VmRSS) once idle in the mesh, heartbeating.
// Rounds alternate between the runtimes so machine noise falls on both alike.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBootstrap } from '../adapters/node/swarm.js'
import { connectNode } from '../adapters/node/client.js'
import { startLocalNode } from '../adapters/node/local-node.js'
import { NodeSystemInfo } from '../adapters/node/system.js'
import { meshConfigFrom } from '../adapters/node/mesh-config.js'
import { info, median, ms, now, quietLogger, tempDir, type Result } from './lib.js'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ROUNDS = 3
const IDLE_MS = 5000
const MEMORY_GOAL = 0.6

interface Sample { joinedMs: number, rssMb: number }

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
  try {
    let joinedMs = NaN
    while (Number.isNaN(joinedMs)) {
      if (child.exitCode !== null) throw new Error(`${runtime} node exited: ${stderr}`)
      if (now() - started > 30_000) throw new Error(`${runtime} node did not join within 30 s: ${stderr}`)
      const conn = await connectNode(dataDir).catch(() => null)
      if (conn !== null) {
        const nodes = await conn.api.listNodes().catch(() => [])
        conn.close()
        if (nodes.some(n => n.nodeId === memberKey && n.state === 'up')) joinedMs = now() - started
      }
      if (Number.isNaN(joinedMs)) await new Promise(resolve => setTimeout(resolve, 10))
    }
    await new Promise(resolve => setTimeout(resolve, IDLE_MS))
    return { joinedMs, rssMb: await rssMb(child.pid as number) }
  } finally {
    child.kill('SIGTERM')
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

export async function benchBare (): Promise<Result[]> {
  const boot = await startBootstrap('127.0.0.1', 0)
  const bootstrap = `${boot.address.host}:${boot.address.port}`
  const mesh = meshConfigFrom({ mesh: 'bench', meshSecret: 'bench', bootstrap }, () => {})
  const member = await startLocalNode({ dataDir: await tempDir('bare-member'), name: 'member', log: quietLogger, ...(mesh === undefined ? {} : { mesh }) })
  try {
    const samples: Record<keyof typeof COMMANDS, Sample[]> = { bare: [], node: [] }
    for (let i = 0; i < ROUNDS; i++) {
      for (const runtime of (i % 2 === 0 ? ['bare', 'node'] : ['node', 'bare']) as Array<keyof typeof COMMANDS>) {
        samples[runtime].push(await measure(runtime, bootstrap, member.node.id))
      }
    }
    const bareRss = median(samples.bare.map(s => s.rssMb))
    const nodeRss = median(samples.node.map(s => s.rssMb))
    const bareJoin = median(samples.bare.map(s => s.joinedMs))
    const nodeJoin = median(samples.node.map(s => s.joinedMs))
    info(`${ROUNDS} rounds each, alternating; RSS read ${IDLE_MS / 1000} s after joining; every node is a separate process started cold`)
    const floor = { bare: await emptyRssMb('bare'), node: await emptyRssMb('node') }
    info(`the runtimes alone (a process that loads nothing): bare ${floor.bare.toFixed(1)} MiB, node ${floor.node.toFixed(1)} MiB`)
    info(`bare RSS ${samples.bare.map(s => s.rssMb.toFixed(1)).join(', ')} MiB; node RSS ${samples.node.map(s => s.rssMb.toFixed(1)).join(', ')} MiB`)
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
        name: 'start to joined: Bare / Node',
        subject: `${ms(bareJoin)} ms Bare`,
        baseline: `${ms(nodeJoin)} ms Node`,
        ratio: bareJoin / nodeJoin,
        goal: null,
        note: 'from spawning the process to the other member seen up through the node\'s own API, median of the rounds'
      }
    ]
  } finally {
    await member.close()
    await boot.close()
  }
}
