// `se dashboard`: the full-screen view over the local node. With no node running
// it starts one in this process, in a mesh of its own on an embedded loopback
// bootstrap so it works offline; `--demo` adds two more local nodes with other
// capabilities and starts a workflow that is routed and asks for approval.
import { execa, type ResultPromise } from 'execa'
import { appendFileSync, existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { SeError } from '../../../core/errors.js'
import type { NodeApi } from '../../../core/protocol/types.js'
import type { Logger } from '../../../core/ports.js'
import { DashboardModel } from '../../../tui/view-model.js'
import { DashboardSource, REFRESH_MS } from '../../../tui/source.js'
import { DashboardScreen } from '../../../tui/screen.js'
import { detectTerminal } from '../../../tui/glyphs.js'
import { connectNode } from '../client.js'
import { CLI_ENTRY, PACKAGE_ROOT } from '../config.js'
import { startLocalNode } from '../local-node.js'
import { meshConfigFrom } from '../mesh-config.js'
import { startBootstrap } from '../swarm.js'
import type { CliIO } from './context.js'
import { catalogueRequest, deployRequest } from './requests.js'

export interface DashboardOptions {
  demo: boolean
  readonly: boolean
  refreshMs: number
  /** Draw with ASCII only (also SE_ASCII=1; without either it is detected from TERM and the locale). */
  ascii?: boolean
}

const DEMO_MESH = 'se-local'
const DEMO_WORKFLOW = 'DEMO_ROUTING'
const DEMO_NODES = [
  { name: 'builder', args: ['--capability', 'builder'], env: {}, bare: false },
  // No podman and few tools: an edge box, so routing has a reason to choose. It runs on Bare
  // where `npm install` built the Bare node, as an edge device would.
  { name: 'edge', args: ['--capability', 'edge'], env: { SE_TOOLS: 'sh,git' }, bare: true }
]
const BARE_NODE = [path.join(PACKAGE_ROOT, 'node_modules', '.bin', 'bare'), path.join(PACKAGE_ROOT, 'bare', 'se-node.cjs')]
const BARE_BUNDLE = path.join(PACKAGE_ROOT, 'dist', 'bare', 'se-node.cjs')
const DEMO_JOIN_TIMEOUT_MS = 20_000

export async function runDashboard (io: CliIO, dataDir: string, opts: DashboardOptions): Promise<number> {
  if (!io.isTTY || process.stdin.isTTY !== true) {
    throw SeError.badInput('the dashboard needs a terminal', 'run it in a terminal (over SSH works); for scripts use the other commands with --json')
  }
  const cleanups: Array<() => Promise<unknown>> = []
  const logFile = path.join(dataDir, 'dashboard.log')
  // The terminal belongs to the dashboard: node messages go to a file.
  const log: Logger = {
    info: m => appendLog(logFile, 'info', m),
    warn: m => appendLog(logFile, 'warn', m),
    error: m => appendLog(logFile, 'error', m)
  }
  let api: NodeApi
  let meshArgs: string[] | null = null
  try {
    try {
      const conn = await connectNode(dataDir)
      api = conn.api
      cleanups.push(async () => conn.close())
    } catch (err) {
      if (!(err instanceof SeError) || err.code !== 'NO_NODE') throw err
      const boot = await startBootstrap('127.0.0.1', 0)
      cleanups.push(async () => await boot.close())
      const bootstrap = `${boot.address.host}:${boot.address.port}`
      const secret = Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2)
      meshArgs = ['--mesh', DEMO_MESH, '--mesh-secret', secret, '--bootstrap', bootstrap]
      const mesh = meshConfigFrom({ mesh: DEMO_MESH, meshSecret: secret, bootstrap }, m => log.warn(m))
      const local = await startLocalNode({ dataDir, log, ...(mesh === undefined ? {} : { mesh }) })
      api = local.node
      cleanups.push(async () => await local.close())
    }
    const terminal = detectTerminal(process.env, opts.ascii === true)
    log.info(`dashboard draws with ${terminal.ascii ? 'ASCII' : 'Unicode'} (${terminal.reason})`)
    const model = new DashboardModel({ readonly: opts.readonly, ascii: terminal.ascii })
    const source = new DashboardSource(api, model, { refreshMs: opts.refreshMs, onError: err => model.setMessage(`refresh failed: ${err.message}`) })
    await source.start()
    const workdir = process.cwd()
    const requests = { deploy: async (file: string) => await deployRequest(file, workdir), execute: (name: string, inputs: Record<string, string>) => catalogueRequest(name, workdir, inputs) }
    // With a person key, every decision made here is signed by that person (issue 17).
    const { personSigner } = await import('./key.js')
    const sign = await personSigner()
    if (sign !== null) log.info('decisions from this dashboard are signed with your person key')
    const screen = new DashboardScreen({ api, model, source, user: process.env.USER ?? 'dashboard', requests, ...(sign === null ? {} : { sign }) })
    // The terminal going away (an SSH session dropped, a tmux pane killed) or a kill ends the
    // dashboard as q does: the demo nodes and the node it runs stop, and nothing is left behind.
    const onSignal = (): void => {
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
      try { screen.close() } catch {}
    }
    for (const signal of ['SIGHUP', 'SIGTERM'] as const) process.on(signal, onSignal)
    cleanups.push(async () => { for (const signal of ['SIGHUP', 'SIGTERM'] as const) process.off(signal, onSignal) })
    if (opts.demo) {
      if (meshArgs === null) model.setMessage('--demo adds nodes only to a dashboard that runs its own node; a node is already running here')
      else void startDemo(meshArgs, api, model, cleanups, log)
    }
    await screen.done
    return 0
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {})
  }
}

async function startDemo (meshArgs: string[], api: NodeApi, model: DashboardModel, cleanups: Array<() => Promise<unknown>>, log: Logger): Promise<void> {
  model.setMessage('demo: starting nodes builder and edge…')
  const procs: ResultPromise[] = []
  for (const demo of DEMO_NODES) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `se-demo-${demo.name}-`))
    const onBare = demo.bare && existsSync(BARE_NODE[0] as string) && existsSync(BARE_BUNDLE)
    const [file, ...start] = onBare ? BARE_NODE : [process.execPath, CLI_ENTRY, 'node', 'start']
    const proc = execa(file as string, [...start, '--data-dir', dir, '--name', demo.name, ...demo.args, ...meshArgs], {
      env: { ...demo.env, SE_SHUTDOWN_GRACE_SEC: '2' }, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', reject: false
    })
    procs.push(proc)
    // They stop when the dashboard quits, and take their data with them.
    cleanups.push(async () => { proc.kill('SIGTERM'); await proc; await rm(dir, { recursive: true, force: true }) })
    // One at a time: nodes that join a topic at the same instant can take many seconds to find each other.
    const started = Date.now()
    while (Date.now() - started < DEMO_JOIN_TIMEOUT_MS) {
      if ((await api.listNodes().catch(() => [])).some(n => n.name === demo.name && n.state === 'up')) break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
  try {
    const s = await api.executeWorkflow(catalogueRequest(DEMO_WORKFLOW, os.tmpdir()))
    model.setMessage(`demo: ${s.name} is routed to builder; press a when it asks`, { workflowId: s.id, state: s.state })
  } catch (err) {
    log.warn(`demo workflow: ${(err as Error).message}`)
    model.setMessage(`demo: could not start ${DEMO_WORKFLOW}: ${(err as Error).message}`)
  }
}

function appendLog (file: string, level: string, message: string): void {
  try { appendFileSync(file, `${new Date().toISOString()} ${level} ${message}\n`) } catch {}
}

export { REFRESH_MS }
