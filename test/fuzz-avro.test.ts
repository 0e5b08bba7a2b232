// Fuzzing Avro IPC on a real `se node start --avro-tcp --http`: random bytes,
// hostile Netty and HTTP frame lengths and counts, truncations and mutations of
// frames a real avsc client sent (handshake and calls), block counts that no
// buffer can hold (a handshake announcing 2^40 metadata entries once froze a node
// for a minute, then killed it), floods of pipelined calls and of client
// protocols, and clients that stop halfway through a frame.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import avro from 'avsc'
import { se } from './helpers/cli.js'
import { HOSTILE_INTS, Responsiveness, Rng, TOKEN, avroLong, finalChecks, fuzzRounds, fuzzSeed, inParallel, int32be, mutate, openFds, rejections, sleep, startFuzzNode, type FuzzNode } from './helpers/fuzz.js'
import { play, recordingProxy, type Plan } from './helpers/fuzz-net.js'
import { NettyFrameReader, nettyFrame } from '../core/protocol/avro-frames.js'

const FRAME_TIMEOUT_MS = 2000
const IDLE_MS = 4000
const ENV = { SE_FRAME_TIMEOUT_MS: String(FRAME_TIMEOUT_MS), SE_AVRO_IDLE_MS: String(IDLE_MS), SE_HTTP_HEADERS_TIMEOUT_MS: '2000', SE_HTTP_REQUEST_TIMEOUT_MS: '3000', SE_HTTP_MAX_BODY: String(256 * 1024) }

interface Client { call (message: string, request: Record<string, unknown>): Promise<any>, close (): void }

/** avsc's own client, from nothing but the node's .avpr, over TCP or HTTP. */
function avscClient (avpr: unknown, transport: 'tcp' | 'http', port: number): Client {
  const client: any = avro.Service.forProtocol(avpr as any).createClient({ buffering: true } as any)
  client.use((wreq: any, _wres: any, next: any) => { wreq.headers.authorization = Buffer.from(`Bearer ${TOKEN}`); next() })
  let socket: net.Socket | null = null
  if (transport === 'tcp') {
    socket = net.connect(port, '127.0.0.1')
    client.createChannel(socket)
  } else {
    client.createChannel((cb: any) => http.request({ method: 'POST', host: '127.0.0.1', port, path: '/avro', agent: false, headers: { authorization: `Bearer ${TOKEN}` } }).on('response', res => cb(null, res)))
  }
  return {
    call: async (message, request) => await new Promise((resolve, reject) => client.emitMessage(message, request, { timeout: 5000 }, (err: any, res: any) => err != null ? reject(err) : resolve(res))),
    close: () => { client.destroyChannels({ noWait: true }); socket?.destroy() }
  }
}

interface Captured { avpr: unknown, tcpFrames: Buffer[], httpBodies: Buffer[] }

/** What a real avsc client sends: its Netty frames on TCP (the first carries the handshake), its request bodies over HTTP. */
async function capture (t: TestContext, n: FuzzNode): Promise<Captured> {
  const avpr = JSON.parse((await se(['protocol', '--avpr'], { dataDir: n.dataDir })).stdout)
  const tcpProxy = await recordingProxy(t, { port: n.avroTcp as number })
  const tcp = avscClient(avpr, 'tcp', (tcpProxy.target as { port: number }).port)
  assert.equal((await tcp.call('ping', {})).dataDir, n.dataDir)
  await tcp.call('listWorkflows', { states: ['running', 'completed'] })
  await tcp.call('getWorkflowStatus', { workflowId: 'wf-none' }).catch(() => null)
  await tcp.call('readAudit', { query: { workflowId: null, fromSeq: 0, limit: 3 } })
  tcp.close()
  const httpProxy = await recordingProxy(t, { port: n.http })
  const overHttp = avscClient(avpr, 'http', (httpProxy.target as { port: number }).port)
  await overHttp.call('ping', {})
  await overHttp.call('listWorkflows', { states: ['running'] })
  overHttp.close()
  await tcpProxy.close()
  await httpProxy.close()
  const reader = new NettyFrameReader({ maxMessageBytes: 1 << 20, maxBuffers: 1024 })
  const tcpFrames = proxyBytes(tcpProxy.sent).flatMap(b => reader.push(b)).map(m => Buffer.from(nettyFrame(m)))
  assert.ok(tcpFrames.length >= 4, `captured ${tcpFrames.length} TCP frames`)
  const httpBodies = proxyBytes(httpProxy.sent).map(raw => raw.subarray(raw.indexOf('\r\n\r\n') + 4)).filter(b => b.length > 0)
  assert.ok(httpBodies.length >= 2, `captured ${httpBodies.length} HTTP bodies`)
  return { avpr, tcpFrames, httpBodies }
}

function proxyBytes (sent: Buffer[]): Buffer[] {
  return sent.filter(b => b.length > 0)
}

/** An Avro handshake request (clientHash, no protocol, serverHash) whose metadata map announces `count` entries, framed for Netty. */
function hugeMetaHandshake (count: number): Buffer {
  const body = Buffer.concat([Buffer.alloc(16, 1), Buffer.from([0]), Buffer.alloc(16, 2), Buffer.from([2]), avroLong(count)])
  return Buffer.concat([int32be(1), int32be(1), int32be(body.length), body])
}

/** The first real frame (handshake and call), then a listWorkflows call whose request is `tail`: an array count beyond its bytes, say. */
function afterHandshake (first: Buffer, tail: Buffer): Buffer {
  const name = Buffer.from('listWorkflows')
  const call = Buffer.concat([Buffer.from([0]), avroLong(name.length), name, tail])
  return Buffer.concat([first, int32be(2), int32be(1), int32be(call.length), call])
}

/** A handshake carrying its protocol under a hash of its own: each one new to the node's protocol cache. */
function protocolHandshake (rng: Rng, avpr: unknown): Buffer {
  const text = Buffer.from(JSON.stringify(avpr))
  const body = Buffer.concat([rng.bytes(16), Buffer.from([2]), avroLong(text.length), text, rng.bytes(16), Buffer.from([0])])
  return Buffer.concat([int32be(rng.int(1000)), int32be(1), int32be(body.length), body])
}

function httpRequest (body: Buffer, rng: Rng): Buffer {
  const chunked = rng.chance(0.3)
  const head = `POST /avro HTTP/1.1\r\nHost: n\r\nAuthorization: Bearer ${TOKEN}\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`}\r\n\r\n`
  return Buffer.concat([Buffer.from(head), chunked ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body])
}

interface Input { port: 'tcp' | 'http', kind: string, plan: Plan }

function corpus (rng: Rng, count: number, c: Captured): Input[] {
  const inputs: Input[] = []
  const first = c.tcpFrames[0] as Buffer
  const then = (): Plan['then'] => rng.pick(['close', 'end', 'hold'] as const)
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(['random', 'netty-lengths', 'truncated', 'mutated-first', 'mutated-later', 'block-count', 'http-random', 'http-mutated', 'http-lengths'])
    switch (kind) {
      case 'random':
        inputs.push({ port: 'tcp', kind, plan: { steps: [rng.bytes(1 + rng.int(3000))], then: then(), waitMs: 500 } })
        break
      case 'netty-lengths':
        inputs.push({ port: 'tcp', kind, plan: { steps: [Buffer.concat([int32be(rng.int(100)), int32be(rng.pick(HOSTILE_INTS)), int32be(rng.pick(HOSTILE_INTS)), rng.bytes(rng.int(64))])], then: then(), waitMs: 500 } })
        break
      case 'truncated':
        inputs.push({ port: 'tcp', kind, plan: { steps: [first.subarray(0, rng.int(first.length))], then: rng.pick(['close', 'end'] as const), waitMs: 500 } })
        break
      case 'mutated-first':
        inputs.push({ port: 'tcp', kind, plan: { steps: [mutate(rng, first)], then: then(), waitMs: 500 } })
        break
      case 'mutated-later':
        inputs.push({ port: 'tcp', kind, plan: { steps: [first, 20, mutate(rng, rng.pick(c.tcpFrames.slice(1)))], then: then(), waitMs: 500 } })
        break
      case 'block-count':
        inputs.push({ port: 'tcp', kind, plan: { steps: [rng.chance(0.5) ? hugeMetaHandshake(rng.pick([2 ** 40, 2 ** 31, 2 ** 53 - 1, 100_000])) : afterHandshake(first, Buffer.concat([avroLong(rng.pick([2 ** 40, 2 ** 33, -(2 ** 40)])), rng.bytes(rng.int(8))]))], then: then(), waitMs: 500 } })
        break
      case 'http-random':
        inputs.push({ port: 'http', kind, plan: { steps: [httpRequest(rng.bytes(1 + rng.int(2000)), rng)], then: then(), waitMs: 500 } })
        break
      case 'http-mutated':
        inputs.push({ port: 'http', kind, plan: { steps: [httpRequest(mutate(rng, rng.pick(c.httpBodies)), rng)], then: then(), waitMs: 500 } })
        break
      default:
        inputs.push({ port: 'http', kind, plan: { steps: [httpRequest(Buffer.concat([int32be(rng.pick(HOSTILE_INTS)), rng.bytes(rng.int(64)), rng.chance(0.5) ? int32be(0) : Buffer.alloc(0)]), rng)], then: then(), waitMs: 500 } })
    }
  }
  return inputs
}

test('Avro IPC on TCP and HTTP survives hostile frames, mutated calls, floods and stalled clients', async t => {
  const seed = fuzzSeed(t, 'avro')
  const rng = new Rng(seed)
  const n = await startFuzzNode(t, { avroTcp: true, env: ENV })
  const probe = new Responsiveness(n)
  await probe.check('start')
  const fdsBefore = openFds(n.pid)
  const captured = await capture(t, n)
  const tcp = { port: n.avroTcp as number }
  const web = { port: n.http }
  const counts: Record<string, number> = {}
  const count = (kind: string, by = 1): void => { counts[kind] = (counts[kind] ?? 0) + by }

  // The 52 bytes that froze a node, then died of an out-of-memory error.
  const began = Date.now()
  const frozen = await play(tcp, { steps: [hugeMetaHandshake(2 ** 40)], then: 'hold', waitMs: 3000 })
  assert.ok(frozen.closedByNode && Date.now() - began < 2000, 'a handshake announcing 2^40 entries is answered and dropped at once')
  assert.match(frozen.reply.toString('latin1'), /invalid/i, 'with avsc\'s handshake error')
  count('known')
  await probe.check('a 2^40-entry handshake map')

  const inputs = corpus(rng, fuzzRounds(300), captured)
  for (let b = 0; b < inputs.length; b += 50) {
    const batch = inputs.slice(b, b + 50)
    await inParallel(batch, 8, async input => {
      count(`${input.port}:${input.kind}`)
      const out = await play(input.port === 'tcp' ? tcp : web, input.plan)
      assert.doesNotMatch(out.reply.toString('latin1'), /node_modules|\n\s+at .*\(/, `no stack trace in an answer to ${input.kind}`)
    })
    await probe.check(`batch ${b / 50 + 1}`)
  }

  // Hundreds of valid pipelined calls on one connection: the node works through them and everyone else is served meanwhile.
  const ping = captured.tcpFrames[1] as Buffer
  const pipelined = play(tcp, { steps: [captured.tcpFrames[0] as Buffer, Buffer.concat(Array.from({ length: 400 }, () => ping))], then: 'hold', waitMs: 3000 })
  await probe.check('400 pipelined calls')
  const piped = await pipelined
  assert.ok(piped.reply.length > 0, 'the pipelined calls are answered')
  count('pipelined-calls', 400)

  // A handshake per connection, each with a protocol under a hash of its own: avsc's protocol cache stays bounded.
  await inParallel(Array.from({ length: 150 }, (_, i) => i), 8, async () => { await play(tcp, { steps: [protocolHandshake(rng, captured.avpr)], then: 'end', waitMs: 1000 }) })
  count('client-protocols', 150)
  await probe.check('150 client protocols')

  // Clients that begin a frame and never finish it, or say nothing at all: cut at the frame deadline and the idle timeout.
  const stalls = await Promise.all([
    ...Array.from({ length: 3 }, async () => await play(tcp, { steps: [int32be(1), int32be(1), int32be(500), Buffer.from('abc'), 900, Buffer.from('d'), 900, Buffer.from('e'), 900, Buffer.from('f')], then: 'hold', waitMs: 6000 })),
    ...Array.from({ length: 2 }, async () => await play(tcp, { steps: [], then: 'hold', waitMs: IDLE_MS + 3000 }))
  ])
  for (const s of stalls.slice(0, 3)) assert.ok(s.closedByNode && s.ms < FRAME_TIMEOUT_MS + 1500, `a stalled frame is cut (${s.ms} ms)`)
  for (const s of stalls.slice(3)) assert.ok(s.closedByNode && s.ms >= IDLE_MS - 200 && s.ms < IDLE_MS + 2000, `an idle connection is cut (${s.ms} ms)`)
  count('stalled', stalls.length)
  await probe.check('stalled clients')

  // Real clients still get their answers, on both transports.
  for (const transport of ['tcp', 'http'] as const) {
    const client = avscClient(captured.avpr, transport, transport === 'tcp' ? tcp.port : web.port)
    assert.equal((await client.call('ping', {})).dataDir, n.dataDir, `a real client over ${transport} after the fuzzing`)
    client.close()
  }
  await sleep(100)
  const rejected = await rejections(n)
  t.diagnostic(`se_rejected_connections_total: ${JSON.stringify(Object.fromEntries(rejected))}`)
  for (const key of ['avro-tcp/bad_frame', 'avro-tcp/frame_too_large', 'avro-tcp/bad_handshake', 'avro-tcp/frame_timeout', 'avro-tcp/idle', 'avro-http/bad_frame']) {
    assert.ok((rejected.get(key) ?? 0) > 0, `${key} is counted`)
  }
  await finalChecks(t, n, fdsBefore, probe, counts)
})
