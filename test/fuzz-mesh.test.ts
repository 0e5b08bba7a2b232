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
import Protomux from 'protomux'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'
import { Responsiveness, Rng, TOKEN, finalChecks, fuzzRounds, fuzzSeed, inParallel, int32be, mutate, openFds, rejections, sleep, type FuzzNode } from './helpers/fuzz.js'
import { namedType } from '../core/protocol/codec.js'
import { encodeFrame } from '../core/rpc/framing.js'
import { REJECTIONS } from '../core/metrics/rejections.js'
import { createSwarmTransport } from '../adapters/shared/hyperswarm-transport.js'
import { MESH_PROTOCOL_VERSION } from '../core/mesh/handshake.js'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'

/** The node's handshake deadline (DEFAULT_TIMING.handshakeMs): half a hello is dropped after it. */
const HANDSHAKE_MS = 1500
const HELLO = namedType('MeshHello')

/** `opened`: the node took the connection (its hello arrived). */
interface StrangerOutcome { opened: boolean, closedByNode: boolean, ms: number, received: Buffer, key: string }
/** Bytes go on the RPC's Protomux channel, as a member's would; `{ raw }` straight onto the encrypted stream, under Protomux. */
type Step = Buffer | { raw: Buffer } | number | ((received: Buffer) => Buffer)

/** A stranger with a key of its own connects to `key`, waits for the node's hello, plays `steps`; then waits up to `waitMs` for the node to hang up. */
async function stranger (dht: any, key: Buffer, steps: Step[], waitMs: number): Promise<StrangerOutcome> {
  const began = Date.now()
  const keyPair = DHT.keyPair()
  const socket = dht.connect(key, { keyPair })
  const chunks: Buffer[] = []
  let closed = false
  let byUs = false
  socket.on('error', () => {})
  let heard: () => void = () => {}
  const nodeHello = new Promise<boolean>(resolve => { heard = () => resolve(true) })
  // The node's channels (see adapters/shared/hyperswarm-transport.ts): its hello and replies come on the RPC one.
  const rpc = Protomux.from(socket).createChannel({ protocol: 'se-mesh/rpc' })
  const message = rpc?.addMessage({ onmessage: (d: Uint8Array) => { chunks.push(Buffer.from(d)); heard() } })
  rpc?.open()
  const done = new Promise<void>(resolve => socket.once('close', () => { closed = true; resolve() }))
  // The node's hello is the sign that the node holds the connection (a Noise stream can open on our side only, under load).
  const opened = await Promise.race([nodeHello, done.then(() => false), sleep(5000).then(() => false)])
  if (opened) {
    for (const step of steps) {
      if (closed) break
      if (typeof step === 'number') await sleep(step)
      else if (typeof step === 'function') message?.send(step(Buffer.concat(chunks)))
      else if (Buffer.isBuffer(step)) message?.send(step)
      else socket.write(step.raw)
    }
    await Promise.race([done, sleep(waitMs)])
  }
  if (!closed) { byUs = true; socket.destroy() }
  await Promise.race([done, sleep(1000)])
  return { opened, closedByNode: opened && !byUs, ms: Date.now() - began, received: Buffer.concat(chunks), key: b4a.toString(keyPair.publicKey, 'hex') }
}

/** A hello as a member would send it, but with the stranger's guesses for its fields. */
function hello (rng: Rng, fields: { version?: number, nodeId?: string, proof?: Buffer } = {}): Buffer {
  return Buffer.from(encodeFrame(HELLO.toBuffer({ version: fields.version ?? MESH_PROTOCOL_VERSION, nodeId: fields.nodeId ?? rng.bytes(32).toString('hex'), name: 'stranger', proof: fields.proof ?? rng.bytes(32) })))
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
      case 'random': return { steps: [rng.chance(0.5) ? rng.bytes(1 + rng.int(2000)) : { raw: rng.bytes(1 + rng.int(2000)) }], waitMs: wait }
      case 'oversized-hello': return { steps: [Buffer.concat([int32be(1025 + rng.int(0x7ffffff0)), rng.bytes(rng.int(100))])], waitMs: wait }
      case 'garbled-hello': { const body = rng.bytes(1 + rng.int(300)); return { steps: [Buffer.concat([int32be(body.length), body])], waitMs: wait } }
      case 'forged-proof': return { steps: [hello(rng)], waitMs: wait }
      case 'forged-id': return { steps: [hello(rng, { nodeId: target.key })], waitMs: wait }
      case 'future-version': return { steps: [hello(rng, { version: MESH_PROTOCOL_VERSION + 1 + rng.int(1000) })], waitMs: wait }
      case 'hello-then-garbage': return { steps: [Buffer.concat([hello(rng), rng.bytes(1 + rng.int(500)), int32be(0x7fffffff)])], waitMs: wait }
      // The node's own hello, as it came: mutated and sent back.
      case 'mutated-real-hello': return { steps: [(received: Buffer) => mutate(rng, received)], waitMs: wait }
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
      assert.ok(out.closedByNode, `the node hangs up on stranger ${out.key.slice(0, 12)} (${kind}, still open after ${out.ms} ms):\n${target.proc.stderr().split('\n').filter(l => l.includes(out.key.slice(0, 12))).join('\n')}`)
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
  counts.strangersTheNodeTook = opened
  await finalChecks(t, n, fdsBefore, probe, counts)
})

test('the mesh transport takes so many connections and closes the rest on arrival', async t => {
  const bootstrap = await localBootstrap(t)
  const [host, port] = bootstrap.split(':')
  const keyPair = new SodiumCrypto().generateKeyPair()
  const transport = await createSwarmTransport(keyPair, [{ host: host as string, port: Number(port) }], { maxConnections: 3 })
  t.after(() => transport.destroy())
  let accepted = 0
  // Connections the transport hands over are greeted, then stay open, as a slow handshake would hold them.
  transport.onConnection(link => { accepted++; link.write(Buffer.from('hello')) })
  await transport.join(b4a.alloc(32, 7))
  const dht = new DHT({ bootstrap: [{ host: host as string, port: Number(port) }], host: '127.0.0.1' } as any)
  t.after(() => dht.destroy())
  const before = REJECTIONS.samples().find(s => s.labels.port === 'mesh' && s.labels.reason === 'too_many_connections')?.value ?? 0
  const outcomes = await Promise.all(Array.from({ length: 6 }, async () => await stranger(dht, b4a.from(keyPair.publicKey) as Buffer, [Buffer.from('hello?')], 1500)))
  assert.equal(accepted, 3, 'three connections are handed to the mesh')
  assert.equal(outcomes.filter(o => o.opened).length, 3, 'and only they are served')
  const refused = (REJECTIONS.samples().find(s => s.labels.port === 'mesh' && s.labels.reason === 'too_many_connections')?.value ?? 0) - before
  assert.ok(refused >= 2, `${refused} connections past the cap were refused and counted`)
})
