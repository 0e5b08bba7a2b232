// Benchmark 10: workflows as graphs.
// a. fan-out: 8 instances of a 1 s step spread over 4 local node processes, against the
//    same 8 steps in a line on one node (goal < 0.3x: the parallelism, with the engine's
//    overhead visible in what is left over 1 s).
// b. scheduling cost: a 200-step graph of `true` (10 wide, 20 deep, each layer needing all
//    of the one before) against the same 200 steps in a line, per step, in the node's own
//    CPU time (goal within 1.2x); wall time as context.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SeNode } from '../core/node/se-node.js'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { connectNode } from '../adapters/node/client.js'
import { startBootstrap } from '../adapters/node/swarm.js'
import type { WorkflowStatus } from '../core/protocol/types.js'
import { info, median, ms, now, quietLogger, tempDir, type Result } from './lib.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SE_BIN = path.join(ROOT, 'adapters/node/bin/se.js')
const FAN_NODES = 4
const FAN_INSTANCES = 8
const GRAPH_WIDTH = 10
const GRAPH_DEPTH = 20
const ROUNDS = 3

interface NodeProc { child: ChildProcess, dataDir: string }

async function startNodeProcess (dataDir: string, args: string[]): Promise<NodeProc> {
  const child = spawn(process.execPath, [SE_BIN, 'node', 'start', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SE_SHUTDOWN_GRACE_SEC: '1' } })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const started = now()
  while (!err.includes('ready on')) {
    if (child.exitCode !== null || now() - started > 30_000) throw new Error(`node did not start: ${err}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return { child, dataDir }
}

async function stopNode (n: NodeProc): Promise<void> {
  if (n.child.exitCode !== null) return
  const exited = new Promise(resolve => n.child.once('exit', resolve))
  n.child.kill('SIGTERM')
  await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5000))])
  if (n.child.exitCode === null) n.child.kill('SIGKILL')
}

async function runVia (dataDir: string, definition: string, workdir: string): Promise<{ elapsed: number, status: WorkflowStatus }> {
  const c = await connectNode(dataDir)
  try {
    const start = now()
    const started = await c.api.executeWorkflow({ definition, source: 'bench.yaml', inputs: {}, workdir, requestedBy: 'bench' })
    const status = await c.api.watchWorkflow(started.id, () => {})
    const elapsed = now() - start
    if (status.state !== 'completed') throw new Error(`bench workflow ended ${status.state}: ${status.error ?? ''}`)
    return { elapsed, status }
  } finally {
    c.close()
  }
}

async function fanOut (): Promise<Result> {
  const boot = await startBootstrap('127.0.0.1', 0)
  const nodes: NodeProc[] = []
  try {
    const secret = `bench-fan-${Date.now()}`
    for (let i = 0; i < FAN_NODES; i++) {
      nodes.push(await startNodeProcess(await tempDir(`fan-${i}`), ['--name', `fan-${i}`, '--mesh', secret, '--mesh-secret', secret, '--bootstrap', `127.0.0.1:${boot.address.port}`, '--capability', 'fan', '--heartbeat-ms', '200']))
    }
    const home = nodes[0] as NodeProc
    // Every node must be a usable member before the fan-out, or it would not be spread.
    const deadline = now() + 30_000
    for (;;) {
      const c = await connectNode(home.dataDir)
      const up = (await c.api.listNodes()).filter(n => n.state === 'up').length
      c.close()
      if (up >= FAN_NODES) break
      if (now() > deadline) throw new Error(`only ${up} of ${FAN_NODES} nodes up`)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    const workdir = await tempDir('fan-work')
    const fan = JSON.stringify({ name: 'FAN', steps: [{ id: 's', requires: { capabilities: ['fan'] }, matrix: { i: Array.from({ length: FAN_INSTANCES }, (_, i) => i + 1) }, run: { command: 'sleep', args: ['1'] } }] })
    const line = JSON.stringify({ name: 'LINE', steps: Array.from({ length: FAN_INSTANCES }, (_, i) => ({ id: `s${i}`, run: { command: 'sleep', args: ['1'] } })) })
    const seq = await runVia(home.dataDir, line, workdir)
    const par = await runVia(home.dataDir, fan, workdir)
    const perNode = new Map<string, number>()
    for (const s of par.status.steps) perNode.set(s.node ?? '?', (perNode.get(s.node ?? '?') ?? 0) + 1)
    info(`fan-out: ${FAN_INSTANCES} instances of \`sleep 1\` on ${FAN_NODES} node processes in ${ms(par.elapsed)} ms, spread ${[...perNode.values()].join('/')}; the same in a line on one node ${ms(seq.elapsed)} ms`)
    return {
      name: 'graph fan-out wall time',
      subject: `${ms(par.elapsed)} ms`,
      baseline: `${ms(seq.elapsed)} ms in line`,
      ratio: par.elapsed / seq.elapsed,
      goal: { kind: 'lt', limit: 0.3 },
      note: `the engine's overhead is what is above 1000 ms: ${ms(par.elapsed - 1000)} ms (routing, ${FAN_INSTANCES} remote steps, their audit entries)`
    }
  } finally {
    await Promise.all(nodes.map(stopNode))
    await boot.close()
  }
}

function layered (): string {
  const steps = []
  for (let d = 0; d < GRAPH_DEPTH; d++) {
    for (let w = 0; w < GRAPH_WIDTH; w++) {
      steps.push({ id: `l${d}w${w}`, needs: d === 0 ? [] : Array.from({ length: GRAPH_WIDTH }, (_, k) => `l${d - 1}w${k}`), run: { command: 'true' } })
    }
  }
  return JSON.stringify({ name: 'GRAPH', steps })
}

function line (): string {
  return JSON.stringify({ name: 'LINE', steps: Array.from({ length: GRAPH_WIDTH * GRAPH_DEPTH }, (_, i) => ({ id: `s${i}`, run: { command: 'true' } })) })
}

async function schedulingCost (): Promise<Result> {
  const node = new SeNode(nodeRuntime(quietLogger), { dataDir: await tempDir('graph-node'), catalogueDirs: [] })
  await node.start()
  const workdir = await tempDir('graph-work')
  const measure = async (definition: string): Promise<{ wall: number, cpu: number }> => {
    const cpu0 = process.cpuUsage()
    const start = now()
    const status = await node.executeWorkflow({ definition, source: 'bench.yaml', inputs: {}, workdir, requestedBy: '' })
    const final = await node.watchWorkflow(status.id, () => {})
    const wall = now() - start
    const used = process.cpuUsage(cpu0)
    if (final.state !== 'completed') throw new Error(`bench workflow ended ${final.state}: ${final.error ?? ''}`)
    return { wall, cpu: (used.user + used.system) / 1000 }
  }
  try {
    const n = GRAPH_WIDTH * GRAPH_DEPTH
    await measure(line())
    const lines: Array<{ wall: number, cpu: number }> = []
    const graphs: Array<{ wall: number, cpu: number }> = []
    for (let round = 0; round < ROUNDS; round++) {
      lines.push(await measure(line()))
      graphs.push(await measure(layered()))
    }
    const [lineCpu, graphCpu] = [median(lines.map(r => r.cpu)) / n, median(graphs.map(r => r.cpu)) / n]
    const [lineWall, graphWall] = [median(lines.map(r => r.wall)) / n, median(graphs.map(r => r.wall)) / n]
    info(`${n} steps of \`true\`: in a line ${lineCpu.toFixed(2)} ms CPU and ${lineWall.toFixed(2)} ms wall per step; as a ${GRAPH_WIDTH}-wide, ${GRAPH_DEPTH}-deep graph ${graphCpu.toFixed(2)} ms CPU and ${graphWall.toFixed(2)} ms wall per step (median of ${ROUNDS})`)
    return {
      name: 'graph scheduling cost',
      subject: `${graphCpu.toFixed(2)} ms cpu/step`,
      baseline: `${lineCpu.toFixed(2)} ms in line`,
      ratio: graphCpu / lineCpu,
      goal: { kind: 'lt', limit: 1.2 },
      note: `the node's own CPU per step (the engine, its persistence, spawning), graph vs line; wall per step ${graphWall.toFixed(2)} vs ${lineWall.toFixed(2)} ms (${(graphWall / lineWall).toFixed(2)}x)`
    }
  } finally {
    await node.stop()
  }
}

export async function benchGraph (): Promise<Result[]> {
  return [await schedulingCost(), await fanOut()]
}
