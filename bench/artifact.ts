// Benchmark 9: an artifact between two processes over Hyperswarm on loopback.
// A 200 MB artifact published in a child process is fetched by this one (manifest,
// 1 MiB chunks, each SHA-256-checked and written to the store), against the same
// number of bytes streamed raw over a plain Hyperswarm connection between the same
// two processes. Reports the throughput ratio (goal ≥ 0.7x) and the peak RSS growth
// of both processes during the artifact's transfer (goal < 64 MiB each).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import b4a from 'b4a'
import DHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { startBootstrap } from '../adapters/node/swarm.js'
import type { BootstrapAddress } from '../core/mesh/bootstrap-address.js'
import type { ArtifactRecord } from '../core/protocol/types.js'
import { startArtifactMember } from '../test/helpers/artifact-mesh.js'
import { info, quietLogger, tempDir, type Result } from './lib.js'

const CHILD_FLAG = '--se-bench-artifact-child'
const BYTES = 200 * 1024 * 1024
const PIECE = 1024 * 1024
const THROUGHPUT_GOAL = 0.7
const RSS_GOAL_MIB = 64
const RSS_SAMPLE_MS = 20

const crypto = new SodiumCrypto()
const hex = (b: Uint8Array): string => b4a.toString(b, 'hex')
const mibPerS = (bytes: number, ms: number): string => `${(bytes / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s`

interface ChildArgs { bootstrap: BootstrapAddress, dataDir: string, cwd: string, requesterId: string, rawTopic: string }
interface ChildReady { record: ArtifactRecord, rawKey: string }

/** A plain Hyperswarm swarm on the local bootstrap: the baseline uses no Protomux, no mesh, no SE. */
function rawSwarm (bootstrap: BootstrapAddress): Hyperswarm {
  const swarm = new Hyperswarm({ dht: new DHT({ bootstrap: [bootstrap], host: '127.0.0.1' }) })
  swarm.on('error', () => {})
  return swarm
}

/** Streams BYTES to whoever connects and sends a byte, honouring backpressure. */
function serveRaw (socket: any): void {
  socket.on('error', () => {})
  socket.once('data', async () => {
    const piece = crypto.randomBytes(PIECE)
    for (let sent = 0; sent < BYTES; sent += PIECE) {
      if (!socket.write(piece)) await once(socket, 'drain')
    }
  })
}

/** The maker, in a process of its own (this file with CHILD_FLAG): prints ChildReady once it has published; SIGTERM stops it. */
async function childMain (args: ChildArgs): Promise<void> {
  // The artifact: BYTES of distinct chunks in one file, written piece by piece.
  const file = await open(path.join(args.cwd, 'payload.bin'), 'w')
  const piece = crypto.randomBytes(PIECE)
  for (let at = 0; at < BYTES; at += PIECE) {
    new DataView(piece.buffer, piece.byteOffset, 4).setUint32(0, at / PIECE)
    await file.write(piece, 0, PIECE, at)
  }
  await file.close()
  const member = await startArtifactMember({ bootstrap: args.bootstrap, name: 'maker', dataDir: args.dataDir, log: quietLogger })
  const record = await member.artifacts.publish({ workflowId: 'wf-bench', requesterId: args.requesterId, stepId: 'build', cwd: args.cwd, name: 'payload', path: 'payload.bin' })
  const swarm = rawSwarm(args.bootstrap)
  swarm.on('connection', serveRaw)
  await swarm.join(b4a.from(args.rawTopic, 'hex'), { server: true, client: false }).flushed()
  process.once('SIGTERM', () => { Promise.all([swarm.destroy(), member.close()]).finally(() => process.exit(0)) })
  const ready: ChildReady = { record, rawKey: hex(swarm.keyPair.publicKey) }
  process.stdout.write(JSON.stringify(ready) + '\n')
}

async function startChild (args: ChildArgs): Promise<{ child: ChildProcess, ready: ChildReady, stop (): Promise<void> }> {
  const file = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, ['--import', 'tsx', file, CHILD_FLAG, JSON.stringify(args)], { cwd: path.resolve(path.dirname(file), '..'), stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000))])
  }
  const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the artifact bench child did not start within 45 s')), 45_000).unref())
  const died = exited.then(([code]) => { throw new Error(`the artifact bench child exited (${String(code)})`) })
  try {
    const [line] = await Promise.race([once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line'), timeout, died]) as [string]
    return { child, ready: JSON.parse(line) as ChildReady, stop }
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
}

/** Resident memory of a process, from /proc (Linux); null elsewhere. */
function rssOf (pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? null : Number(m[1]) * 1024
  } catch {
    return null
  }
}

/** Peak RSS growth of each pid while `fn` runs, over what it was just before. */
async function peakGrowth<T> (pids: number[], fn: () => Promise<T>): Promise<{ value: T, growth: number[] }> {
  const base = pids.map(p => rssOf(p) ?? 0)
  const peak = [...base]
  const timer = setInterval(() => { pids.forEach((p, i) => { peak[i] = Math.max(peak[i] as number, rssOf(p) ?? 0) }) }, RSS_SAMPLE_MS)
  try {
    const value = await fn()
    pids.forEach((p, i) => { peak[i] = Math.max(peak[i] as number, rssOf(p) ?? 0) })
    return { value, growth: peak.map((p, i) => p - (base[i] as number)) }
  } finally {
    clearInterval(timer)
  }
}

async function rawTransfer (bootstrap: BootstrapAddress, topic: Uint8Array, serverKey: string): Promise<number> {
  const swarm = rawSwarm(bootstrap)
  try {
    const socket = await new Promise<any>(resolve => {
      swarm.on('connection', (s: any) => { s.on('error', () => {}); if (hex(s.remotePublicKey) === serverKey) resolve(s) })
      swarm.join(topic, { server: false, client: true })
    })
    const started = performance.now()
    let got = 0
    await new Promise<void>(resolve => {
      socket.on('data', (d: Uint8Array) => { got += d.byteLength; if (got >= BYTES) resolve() })
      socket.write(b4a.from([1]))
    })
    return performance.now() - started
  } finally {
    await swarm.destroy()
  }
}

export async function benchArtifact (): Promise<Result[]> {
  const boot = await startBootstrap('127.0.0.1', 0)
  const keyPair = crypto.generateKeyPair()
  const rawTopic = crypto.randomBytes(32)
  let child: Awaited<ReturnType<typeof startChild>> | null = null
  let user: Awaited<ReturnType<typeof startArtifactMember>> | null = null
  try {
    const [childData, childCwd, userData] = await Promise.all([tempDir('artifact-maker'), tempDir('artifact-src'), tempDir('artifact-user')])
    child = await startChild({ bootstrap: boot.address, dataDir: childData, cwd: childCwd, requesterId: hex(keyPair.publicKey), rawTopic: hex(rawTopic) })
    user = await startArtifactMember({ bootstrap: boot.address, name: 'user', dataDir: userData, keyPair, log: quietLogger })
    const { record, rawKey } = child.ready
    const u = user
    const started = performance.now()
    while (u.mesh.member(record.nodes[0] as string)?.usable !== true) {
      if (performance.now() - started > 20_000) throw new Error('the two artifact bench processes did not meet within 20 s')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    const rawMs = await rawTransfer(boot.address, rawTopic, rawKey)
    const pids = [process.pid, child.child.pid as number]
    const { value: artifactMs, growth } = await peakGrowth(pids, async () => {
      const t0 = performance.now()
      await u.artifacts.fetch(record)
      return performance.now() - t0
    })
    // Every chunk was verified on arrival; the manifest in the store is the mark of a whole, committed copy.
    if (!existsSync(path.join(userData, 'artifacts', record.hash, 'manifest.json'))) throw new Error('the fetched artifact is not held by the fetching node')
    const [mine, theirs] = growth.map(g => g / 2 ** 20) as [number, number]
    info(`${BYTES / 2 ** 20} MiB, two processes on loopback: artifact ${artifactMs.toFixed(0)} ms (${mibPerS(BYTES, artifactMs)}), raw Hyperswarm stream ${rawMs.toFixed(0)} ms (${mibPerS(BYTES, rawMs)})`)
    info(`peak RSS growth during the artifact transfer: fetching ${mine.toFixed(1)} MiB, serving ${theirs.toFixed(1)} MiB`)
    const ratio = rawMs / artifactMs
    return [
      {
        name: 'artifact transfer',
        subject: mibPerS(BYTES, artifactMs),
        baseline: `${mibPerS(BYTES, rawMs)} raw`,
        ratio,
        goal: { kind: 'gt', limit: THROUGHPUT_GOAL - 0.001 },
        note: 'throughput of a 200 MiB artifact (1 MiB chunks, each SHA-256-verified, written to the store) vs the same bytes on a plain Hyperswarm connection; ratio = artifact / raw'
      },
      {
        name: 'artifact transfer memory',
        subject: `${Math.max(mine, theirs).toFixed(1)} MiB`,
        baseline: `${RSS_GOAL_MIB} MiB goal`,
        ratio: Math.max(mine, theirs) / RSS_GOAL_MIB,
        goal: { kind: 'lt', limit: 1 },
        note: `peak RSS growth of the larger of the two processes during the transfer (fetching ${mine.toFixed(1)} MiB, serving ${theirs.toFixed(1)} MiB), against ${RSS_GOAL_MIB} MiB`
      }
    ]
  } finally {
    await user?.close().catch(() => {})
    await child?.stop()
    await boot.close()
  }
}

if (process.argv[2] === CHILD_FLAG) {
  childMain(JSON.parse(process.argv[3] as string) as ChildArgs).catch(err => { process.stderr.write(`${(err as Error).stack ?? String(err)}\n`); process.exit(1) })
}
