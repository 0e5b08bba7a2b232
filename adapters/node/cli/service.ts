// A node as a service: `se node start --detach` (a node in the background, its
// output in a log file in the data dir), `se node stop` and `se node status`.
// Who runs on a data dir is read from its lock (core/node/data-dir-lock.ts), so
// these work alike for a detached node and for one started in a terminal.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { EXIT_CODES, SeError } from '../../../core/errors.js'
import { VERSION } from '../../../core/constants.js'
import { dataDirHolder } from '../../../core/node/data-dir-lock.js'
import type { NodeInfo } from '../../../core/protocol/types.js'
import { CLI_ENTRY } from '../config.js'
import { connectNode } from '../client.js'
import { NodeFileSystem } from '../fs.js'
import type { CliIO } from './context.js'
import { shortDuration } from '../../../core/duration.js'

export const LOG_FILE = 'node.log'
export const PID_FILE = 'node.pid'
/** How long `--detach` waits for the node to be ready; a mesh join on a slow network takes a while. */
const READY_TIMEOUT_MS = 120_000
const POLL_MS = 100
/** Lines of the log shown when a detached node ends before it is ready. */
const LOG_TAIL_LINES = 15

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function holderPid (dataDir: string): Promise<number | null | undefined> {
  const holder = await dataDirHolder(new NodeFileSystem(), dataDir)
  // undefined: nobody holds it; null: somebody does, but has not said who yet.
  return holder === null ? undefined : holder.pid
}

/** The node's answer to a ping, or null while it does not answer (stopped, or still recovering). */
async function ping (dataDir: string): Promise<NodeInfo | null> {
  try {
    const conn = await connectNode(dataDir, { waitMs: 0 })
    try { return await conn.api.ping() } finally { conn.close() }
  } catch {
    return null
  }
}

/**
 * Starts `se node start ARGS` in a session of its own with its output in the data
 * dir's log, and returns once it answers (exit 0) or has ended (its exit code).
 */
export async function startDetached (io: CliIO, dataDir: string, args: string[], asJson: boolean): Promise<number> {
  const running = await holderPid(dataDir)
  if (running !== undefined) throw SeError.nodeRunning(dataDir, running)
  const { mkdir } = await import('node:fs/promises')
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const logFile = path.join(dataDir, LOG_FILE)
  const log = openSync(logFile, 'a', 0o600)
  const child = spawn(process.execPath, [CLI_ENTRY, 'node', 'start', '--data-dir', dataDir, ...args], { detached: true, stdio: ['ignore', log, log] })
  closeSync(log)
  let ended: number | null | undefined
  child.on('exit', (code, signal) => { ended = code ?? (signal === null ? 1 : 128) })
  child.unref()
  const began = Date.now()
  for (;;) {
    const info = await ping(dataDir)
    if (info !== null && info.pid === child.pid && await exists(path.join(dataDir, PID_FILE))) {
      if (asJson) io.out(JSON.stringify({ ...info, logFile, pidFile: path.join(dataDir, PID_FILE) }, null, 2))
      else io.err(`node ${info.name} (pid ${info.pid}) ready on ${dataDir}; log: ${logFile}; stop it with \`se node stop\``)
      return EXIT_CODES.OK
    }
    if (ended !== undefined) {
      io.err(`the node ended before it was ready (exit ${ended ?? '?'}); the end of ${logFile}:`)
      io.err(await logTail(logFile))
      return ended === 0 || ended === null ? EXIT_CODES.FAILED : ended
    }
    if (Date.now() - began > READY_TIMEOUT_MS) {
      io.err(`the node (pid ${child.pid ?? '?'}) is not ready after ${READY_TIMEOUT_MS / 1000} s; it goes on starting; see ${logFile} or \`se node status\``)
      return EXIT_CODES.FAILED
    }
    await sleep(POLL_MS)
  }
}

const exists = async (file: string): Promise<boolean> => await readFile(file).then(() => true, () => false)

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function logTail (file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).map(l => `  ${l}`).join('\n')
}

/** SIGTERM to the node holding the data dir, then waits until it has let go of it. */
export async function stopNode (io: CliIO, dataDir: string, timeoutSec: number, asJson: boolean): Promise<number> {
  const pid = await holderPid(dataDir)
  if (pid === undefined || pid === null) {
    if (asJson) io.out(JSON.stringify({ dataDir, running: false }, null, 2))
    else io.err(`no node is running on ${dataDir}`)
    return EXIT_CODES.OK
  }
  const began = Date.now()
  try {
    process.kill(pid, 'SIGTERM')
  } catch (err) {
    // Gone between the look and the signal: stopped all the same.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
  if (!asJson) io.err(`stopping the node on ${dataDir} (pid ${pid}): running steps get a grace period, then are checkpointed`)
  // Stopped once it has let go of the data dir and its process has ended.
  while (await holderPid(dataDir) !== undefined || alive(pid)) {
    if (Date.now() - began > timeoutSec * 1000) throw SeError.nodeStopTimedOut(dataDir, pid, timeoutSec)
    await sleep(POLL_MS)
  }
  const ms = Date.now() - began
  if (asJson) io.out(JSON.stringify({ dataDir, running: false, pid, stoppedInMs: ms }, null, 2))
  else io.err(`node stopped (pid ${pid}, ${(ms / 1000).toFixed(1)} s)`)
  return EXIT_CODES.OK
}

export interface NodeServiceStatus {
  dataDir: string
  running: boolean
  /** Answers on its socket: recovered and serving. */
  ready: boolean
  pid: number | null
  uptimeMs: number | null
  version: string | null
  cliVersion: string
  name: string | null
  nodeId: string | null
  mesh: string | null
  workflowsRunning: number | null
  workflowsWaiting: number | null
  logFile: string | null
}

export async function nodeStatus (dataDir: string): Promise<NodeServiceStatus> {
  const pid = await holderPid(dataDir)
  const info = pid === undefined ? null : await ping(dataDir)
  const logFile = path.join(dataDir, LOG_FILE)
  const hasLog = await exists(logFile)
  return {
    dataDir,
    running: pid !== undefined,
    ready: info !== null,
    pid: info?.pid ?? pid ?? null,
    uptimeMs: info === null ? null : Math.max(0, Date.now() - info.startedAt),
    version: info?.version ?? null,
    cliVersion: VERSION,
    name: info?.name ?? null,
    nodeId: info?.nodeId ?? null,
    mesh: info?.mesh ?? null,
    workflowsRunning: info?.workflowsRunning ?? null,
    workflowsWaiting: info?.workflowsWaiting ?? null,
    logFile: hasLog ? logFile : null
  }
}

export function renderNodeStatus (s: NodeServiceStatus): string {
  if (!s.running) return `no node is running on ${s.dataDir} (start one with \`se node start --detach\`)`
  if (!s.ready) return `node on ${s.dataDir}: starting (pid ${s.pid ?? '?'}), not answering yet${s.logFile === null ? '' : `; log: ${s.logFile}`}`
  return [
    `node      ${s.name ?? ''} (${(s.nodeId ?? '').slice(0, 12)})`,
    `state     ready`,
    `pid       ${s.pid ?? ''}`,
    `uptime    ${shortDuration(s.uptimeMs ?? 0)}`,
    `version   ${s.version ?? ''}${s.version === s.cliVersion ? '' : ` (this CLI: ${s.cliVersion})`}`,
    `mesh      ${s.mesh ?? 'none (alone)'}`,
    `workflows ${s.workflowsRunning ?? 0} running, ${s.workflowsWaiting ?? 0} waiting`,
    `data dir  ${s.dataDir}`,
    ...(s.logFile === null ? [] : [`log       ${s.logFile}`])
  ].join('\n')
}
