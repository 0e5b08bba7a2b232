// Fuzzing a mesh node's peer port: strangers (Hyperswarm keys that do not hold
// the mesh secret) connect over a local DHT to the node's key and send garbage,
// oversized, garbled and forged hellos (a real hello of the node's own, mutated,
// among them), valid-looking hellos followed by garbage, half a hello and then
// silence; and random datagrams go to the node's own DHT port. The node must keep
// answering, keep its real member, and count each refusal.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import DHT from 'hyperdht'
import b4a from 'b4a'
import { waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'
import { Responsiveness, Rng, TOKEN, finalChecks, fuzzRounds, fuzzSeed, inParallel, int32be, mutate, openFds, rejections, sleep, type FuzzNode } from './helpers/fuzz.js'
import { namedType } from '../core/protocol/codec.js'
import { encodeFrame } from '../core/rpc/framing.js'

/** The node's handshake deadline (DEFAULT_TIMING.handshakeMs): half a hello is dropped after it. */
const HANDSHAKE_MS = 1500
const HELLO = namedType('MeshHello')

interface StrangerOutcome { opened: boolean, closedByNode: boolean, ms: number, received: Buffer }
type Step = Buffer | number | ((received: Buffer) => Buffer)

/** A stranger with a key of its own connects to `key` and plays `steps`; then waits up to `waitMs` for the node to hang up. */
async function stranger (dht: any, key: Buffer, steps: Step[], waitMs: number): Promise<StrangerOutcome> {
  const began = Date.now()
  const socket = dht.connect(key, { keyPair: DHT.keyPair() })
  const chunks: Buffer[] = []
  let closed = false
  let byUs = false
  socket.on('error', () => {})
  socket.on('data', (d: Buffer) => chunks.push(d))
  const done = new Promise<void>(resolve => socket.once('close', () => { closed = true; resolve() }))
  const opened = await Promise.race([new Promise<boolean>(resolve => socket.once('open', () => resolve(true))), done.then(() => false), sleep(5000).then(() => false)])
  if (opened) {
    for (const step of steps) {
      if (closed) break
      if (typeof step === 'number') await sleep(step)
      else if (typeof step === 'function') {
        await waitFor('the node\'s hello', async () => closed || chunks.length > 0, 2000).catch(() => null)
        socket.write(step(Buffer.concat(chunks)))
      } else socket.write(step)
    }
    await Promise.race([done, sleep(waitMs)])
  }
  if (!closed) { byUs = true; socket.destroy() }
  await Promise.race([done, sleep(1000)])
  return { opened, closedByNode: opened && !byUs, ms: Date.now() - began, received: Buffer.concat(chunks) }
}

/** A hello as a member would send it, but with the stranger's guesses for its fields. */
function hello (rng: Rng, fields: { version?: number, nodeId?: string, proof?: Buffer } = {}): Buffer {
  return Buffer.from(encodeFrame(HELLO.toBuffer({ version: fields.version ?? 1, nodeId: fields.nodeId ?? rng.bytes(32).toString('hex'), name: 'stranger', proof: fields.proof ?? rng.bytes(32) })))
}

/** The UDP ports the node process has open: its DHT node's. */
function udpPorts (pid: number): number[] {
  const inodes = new Set(readdirSync(`/proc/${pid}/fd`).map(fd => { try { return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] } catch { return undefined } }).filter(Boolean))
  return readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1).map(l => l.trim().split(/\s+/)).filter(c => c.length > 9 && inodes.has(c[9])).map(c => parseInt((c[1] as string).split(':')[1] as string, 16))
}

test('a mesh node survives strangers sending garbage and forged hellos, and garbage datagrams on its DHT port', async t => {
  const seed = fuzzSeed(t, 'mesh')
  const rng = new Rng(seed)
  const bootstrap = await localBootstrap(t)
  const env = { SE_TOKENS: `fuzzer:${TOKEN}` }
  const [target, friend] = await Promise.all([
    meshNode(t, bootstrap, 'target', { extra: ['--http', '127.0.0.1:0'], env }),
    meshNode(t, bootstrap, 'friend')
  ])
  await waitForStates(target, [friend], 'up')
  const n: FuzzNode = { node: target.proc, dataDir: target.dataDir, pid: target.proc.proc.pid as number, http: Number(/http: http:\/\/[^:\s]+:(\d+)/.exec(target.proc.stderr())?.[1]), avroTcp: null }
  const probe = new Responsiveness(n)
  await probe.check('start')
  const fdsBefore = openFds(n.pid)
  const [host, port] = bootstrap.split(':')
  const dht = new DHT({ bootstrap: [{ host: host as string, port: Number(port) }], host: '127.0.0.1' } as any)
  t.after(() => dht.destroy())
  const key = b4a.from(target.key, 'hex') as Buffer
  const counts: Record<string, number> = {}

  const kinds = ['random', 'oversized-hello', 'garbled-hello', 'forged-proof', 'forged-id', 'future-version', 'hello-then-garbage', 'mutated-real-hello', 'half-hello', 'silent']
  // Whatever arrives, the node hangs up within its handshake deadline at the latest.
  const wait = HANDSHAKE_MS + 2000
  const plan = (kind: string): { steps: Step[], waitMs: number } => {
    switch (kind) {
      case 'random': return { steps: [rng.bytes(1 + rng.int(2000))], waitMs: wait }
      case 'oversized-hello': return { steps: [Buffer.concat([int32be(1025 + rng.int(0x7ffffff0)), rng.bytes(rng.int(100))])], waitMs: wait }
      case 'garbled-hello': { const body = rng.bytes(1 + rng.int(300)); return { steps: [Buffer.concat([int32be(body.length), body])], waitMs: wait } }
      case 'forged-proof': return { steps: [hello(rng)], waitMs: wait }
      case 'forged-id': return { steps: [hello(rng, { nodeId: target.key })], waitMs: wait }
      case 'future-version': return { steps: [hello(rng, { version: 2 + rng.int(1000) })], waitMs: wait }
      case 'hello-then-garbage': return { steps: [Buffer.concat([hello(rng), rng.bytes(1 + rng.int(500)), int32be(0x7fffffff)])], waitMs: wait }
      // The node's own hello, as it came: mutated and sent back.
      case 'mutated-real-hello': return { steps: [(received: Buffer) => mutate(rng, received.length > 0 ? received : hello(rng))], waitMs: wait }
      case 'half-hello': { const h = hello(rng); return { steps: [h.subarray(0, 1 + rng.int(h.length - 1))], waitMs: wait } }
      default: return { steps: [], waitMs: wait }
    }
  }
  const total = fuzzRounds(80)
  const inputs = Array.from({ length: total }, (_, i) => kinds[i % kinds.length] as string)
  let opened = 0
  for (let b = 0; b < inputs.length; b += 20) {
    await inParallel(inputs.slice(b, b + 20), 5, async kind => {
      counts[kind] = (counts[kind] ?? 0) + 1
      const p = plan(kind)
      const out = await stranger(dht, key, p.steps, p.waitMs)
      if (!out.opened) return
      opened++
      assert.ok(out.closedByNode, `the node hangs up on a stranger (${kind})`)
      assert.ok(out.ms < p.waitMs + 5000, `and soon (${kind}: ${out.ms} ms)`)
    })
    await probe.check(`strangers ${b + 1}-${Math.min(b + 20, inputs.length)}`)
  }
  assert.ok(opened >= total * 0.8, `${opened} of ${total} stranger connections were opened`)

  // Garbage datagrams at the node's DHT port(s).
  const ports = udpPorts(n.pid)
  assert.ok(ports.length > 0, 'the node has a UDP port')
  const udp = dgram.createSocket('udp4')
  t.after(() => udp.close())
  const datagrams = fuzzRounds(400)
  for (let i = 0; i < datagrams; i++) {
    const body = rng.chance(0.5) ? rng.bytes(1 + rng.int(1200)) : Buffer.concat([Buffer.from([rng.pick([0x03, 0x13, 0x23, 0x33, 0x43])]), rng.bytes(rng.int(200))])
    for (const p of ports) udp.send(body, p, '127.0.0.1')
    if (i % 50 === 49) await sleep(20)
  }
  counts.datagrams = datagrams * ports.length
  await sleep(300)
  await probe.check('garbage datagrams')

  // The real member is still there, and still up.
  await waitForStates(target, [friend], 'up', 10_000)
  const rejected = await rejections(n)
  t.diagnostic(`se_rejected_connections_total: ${JSON.stringify(Object.fromEntries(rejected))}`)
  for (const reason of ['bad_handshake', 'frame_too_large', 'handshake_timeout']) assert.ok((rejected.get(`mesh/${reason}`) ?? 0) > 0, `mesh/${reason} is counted`)
  counts.strangers = total
  await finalChecks(t, n, fdsBefore, probe, counts)
})
