// Fuzzing the HTTP port of a real `se node start --http`: random bytes, malformed
// request lines, headers and chunked bodies, aborted uploads, mutations of real
// requests (JSON API and Avro over HTTP), slow clients and a connection flood.
// After every batch the node must answer its health and a status call within a
// second; at the end it is alive, its trail verifies and its descriptors are back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import avro from 'avsc'
import { se } from './helpers/cli.js'
import { Responsiveness, Rng, TOKEN, finalChecks, fuzzRounds, fuzzSeed, inParallel, mutate, openFds, rejections, sleep, startFuzzNode, type FuzzNode } from './helpers/fuzz.js'
import { play, recordingProxy, type Plan } from './helpers/fuzz-net.js'

const HEADERS_TIMEOUT_MS = 1500
const REQUEST_TIMEOUT_MS = 3000
const MAX_CONNECTIONS = 48
const ENV = { SE_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), SE_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), SE_MAX_CONNECTIONS: String(MAX_CONNECTIONS), SE_HTTP_MAX_BODY: String(64 * 1024) }
const AUTH = `authorization: Bearer ${TOKEN}\r\n`
const ASKING = 'name: fuzz-ask\nsteps:\n  - id: ask\n    intervention: { prompt: "go?", choices: [approve, reject] }\n'
const PATHS = ['/api/v1/workflows', '/api/v1/execute', '/avro', '/health/live', '/metrics', '/api/v1/nodes', '/x', '/api/v1/workflows/wf-x/intervention', '/api/v1/events']

/** Real requests, as real clients put them on the wire: Node's http client and avsc's HTTP transceiver. */
async function captureRequests (t: any, n: FuzzNode): Promise<Buffer[]> {
  const proxy = await recordingProxy(t, { port: n.http })
  const port = (proxy.target as { port: number }).port
  const send = async (method: string, path: string, body: string | null, type = 'application/json'): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ method, host: '127.0.0.1', port, path, agent: false, headers: { authorization: `Bearer ${TOKEN}`, ...(body === null ? {} : { 'content-type': type }) } }, res => { res.resume(); res.on('end', resolve) })
      req.on('error', reject)
      req.end(body ?? undefined)
    })
  }
  await send('GET', '/api/v1/workflows', null)
  await send('POST', '/api/v1/execute', JSON.stringify({ command: 'echo', args: ['fuzz'], workdir: n.dataDir }))
  await send('POST', '/api/v1/workflows', JSON.stringify({ definition: ASKING, workdir: n.dataDir }))
  await send('GET', '/health/ready', null)
  const avpr = JSON.parse((await se(['protocol', '--avpr'], { dataDir: n.dataDir })).stdout)
  const client: any = avro.Service.forProtocol(avpr).createClient({ buffering: true } as any)
  client.use((wreq: any, _wres: any, next: any) => { wreq.headers.authorization = Buffer.from(`Bearer ${TOKEN}`); next() })
  client.createChannel((cb: any) => http.request({ method: 'POST', host: '127.0.0.1', port, path: '/avro', agent: false, headers: { authorization: `Bearer ${TOKEN}` } }).on('response', res => cb(null, res)))
  await new Promise<void>((resolve, reject) => client.emitMessage('ping', {}, {}, (err: unknown) => err != null ? reject(err) : resolve()))
  await new Promise<void>((resolve, reject) => client.emitMessage('listWorkflows', { states: ['running'] }, {}, (err: unknown) => err != null ? reject(err) : resolve()))
  client.destroyChannels({ noWait: true })
  await proxy.close()
  const sent = proxy.sent.filter(b => b.length > 0)
  assert.ok(sent.length >= 6, `captured ${sent.length} requests`)
  assert.ok(sent.some(b => b.includes('POST /avro')), 'an Avro IPC request is among them')
  return sent
}

interface Input { kind: string, plan: Plan }

function requestLine (rng: Rng): string {
  const method = rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PATCH', 'G ET', '', 'GET\0', 'X'.repeat(40), 'get'])
  const target = rng.pick([...PATHS, '//a:99999', '/%zz', '*', 'http://evil/x', '/' + 'a'.repeat(20_000), '', '/avro?x=%', '/api/v1/workflows/%ff%fe', '/\x01\x7f', ' /', '/api/v1/workflows/' + 'x'.repeat(3000)])
  const version = rng.pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1x', 'HTTP', '', 'http/1.1'])
  return `${method} ${target} ${version}\r\n`
}

function headerBlock (rng: Rng): string {
  const pool = [
    'Host: node\r\n', AUTH, 'Content-Type: application/json\r\n', 'Content-Length: 5\r\n', 'Content-Length: -1\r\n', 'Content-Length: 99999999999999999999\r\n',
    'Content-Length: 5\r\nContent-Length: 6\r\n', 'Content-Length: abc\r\n', 'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip, chunked\r\n', 'Transfer-Encoding: chunked\r\nContent-Length: 3\r\n',
    'NoColonHere\r\n', ' leading: space\r\n', 'bad header: x\r\n', 'X: a\r\n folded\r\n', 'X: \0\r\n', `X-Big: ${'b'.repeat(20_000)}\r\n`, 'Expect: 100-continue\r\n', 'Connection: upgrade\r\nUpgrade: websocket\r\n',
    'Authorization: Bearer \r\n', `Authorization: Bearer ${'z'.repeat(5000)}\r\n`, 'Content-Type: text/plain\r\n'
  ]
  let out = ''
  for (let i = rng.int(5); i > 0; i--) out += rng.pick(pool)
  return out
}

function chunkedBody (rng: Rng): Buffer {
  const parts: string[] = []
  for (let i = 1 + rng.int(4); i > 0; i--) {
    parts.push(rng.pick(['5\r\nhello\r\n', 'zz\r\n', '-5\r\nhello\r\n', 'ffffffffffffffff\r\n', '5;' + 'e'.repeat(20_000) + '\r\nhello\r\n', '5\r\nhel', '5\r\nhelloXX', '0\r\n\r\n', '0\r\nTrailer: \0\r\n\r\n', '3\r\n{}\n\r\n', '100000\r\n']))
  }
  return Buffer.from(parts.join(''))
}

function corpus (rng: Rng, count: number, captured: Buffer[]): Input[] {
  const inputs: Input[] = []
  const then = (): Plan['then'] => rng.pick(['close', 'end', 'hold'] as const)
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(['random', 'request-line', 'headers', 'chunked', 'aborted-upload', 'mutated', 'mutated', 'pipelined'])
    switch (kind) {
      case 'random':
        inputs.push({ kind, plan: { steps: [rng.bytes(1 + rng.int(2000))], then: then(), waitMs: 500 } })
        break
      case 'request-line':
        inputs.push({ kind, plan: { steps: [Buffer.from(requestLine(rng) + headerBlock(rng) + '\r\n')], then: then(), waitMs: 500 } })
        break
      case 'headers':
        inputs.push({ kind, plan: { steps: [Buffer.from(`${rng.pick(['GET', 'POST'])} ${rng.pick(PATHS)} HTTP/1.1\r\n` + headerBlock(rng) + headerBlock(rng) + '\r\n' + (rng.chance(0.5) ? '{"a":1}' : ''))], then: then(), waitMs: 500 } })
        break
      case 'chunked':
        inputs.push({ kind, plan: { steps: [Buffer.from(`POST ${rng.pick(['/avro', '/api/v1/workflows', '/api/v1/execute', '/x'])} HTTP/1.1\r\nHost: n\r\n${AUTH}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`), rng.int(30), chunkedBody(rng)], then: then(), waitMs: 500 } })
        break
      case 'aborted-upload': {
        const length = rng.pick([10, 1000, 60_000, 70_000, 1 << 20])
        const sent = rng.int(Math.min(length, 5000))
        inputs.push({ kind, plan: { steps: [Buffer.from(`POST ${rng.pick(['/avro', '/api/v1/workflows', '/api/v1/execute', '/x'])} HTTP/1.1\r\nHost: n\r\n${rng.chance(0.7) ? AUTH : ''}Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`), rng.int(30), rng.bytes(sent)], then: 'close' } })
        break
      }
      case 'mutated':
        inputs.push({ kind, plan: { steps: [mutate(rng, rng.pick(captured))], then: then(), waitMs: 500 } })
        break
      default: {
        // A valid request, then garbage on the same connection.
        const first = rng.pick(captured)
        inputs.push({ kind, plan: { steps: [first, rng.int(20), rng.chance(0.5) ? mutate(rng, rng.pick(captured)) : rng.bytes(1 + rng.int(500))], then: then(), waitMs: 500 } })
      }
    }
  }
  return inputs
}

const NO_INSIDES = /node_modules|\n\s+at .*\(|\.ts:\d+/

test('the HTTP port survives malformed, truncated, aborted and mutated requests, and slow clients', async t => {
  const seed = fuzzSeed(t, 'http')
  const rng = new Rng(seed)
  const n = await startFuzzNode(t, { env: ENV })
  const probe = new Responsiveness(n)
  await probe.check('start')
  const fdsBefore = openFds(n.pid)
  const captured = await captureRequests(t, n)
  const counts: Record<string, number> = {}
  const target = { port: n.http }

  // The inputs that stopped nodes before: a body announced and cut short, a chunk size of `zz`, a bad URL, an over-limit chunked /avro upload.
  const known: Input[] = [
    { kind: 'known', plan: { steps: [Buffer.from('POST /x HTTP/1.1\r\nHost: n\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\nab')], then: 'close' } },
    { kind: 'known', plan: { steps: [Buffer.from(`POST /api/v1/workflows HTTP/1.1\r\nHost: n\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 10\r\n\r\nab`)], then: 'close' } },
    { kind: 'known', plan: { steps: [Buffer.from('POST /x HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')], then: 'close' } },
    { kind: 'known', plan: { steps: [Buffer.from('GET //a:99999 HTTP/1.1\r\nHost: n\r\n\r\n')], then: 'end', waitMs: 1000 } },
    { kind: 'known', plan: { steps: [Buffer.from(`POST /avro HTTP/1.1\r\nHost: n\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n`), ...Array.from({ length: 20 }, () => Buffer.from(`4000\r\n${'\x01'.repeat(0x4000)}\r\n`)), 50], then: 'close' } }
  ]
  for (const input of known) await play(target, input.plan)
  counts.known = known.length
  await probe.check('the inputs that stopped nodes before')

  const total = fuzzRounds(240)
  const inputs = corpus(rng, total, captured)
  for (let b = 0; b < inputs.length; b += 40) {
    const batch = inputs.slice(b, b + 40)
    await inParallel(batch, 8, async input => {
      counts[input.kind] = (counts[input.kind] ?? 0) + 1
      const out = await play(target, input.plan)
      assert.doesNotMatch(out.reply.toString('latin1'), NO_INSIDES, `no stack trace or source path in an answer to ${input.kind}`)
    })
    await probe.check(`batch ${b / 40 + 1} (${batch.map(i => i.kind).join(', ')})`)
  }

  // Slow clients: each holds a connection, dribbling a byte at a time, and is cut at its deadline.
  const dribble = (text: string, everyMs: number): Array<Buffer | number> => [...text].flatMap(ch => [Buffer.from(ch), everyMs])
  const slowHeaders = Array.from({ length: 4 }, () => play(target, { steps: dribble(`GET /api/v1/workflows HTTP/1.1\r\nHost: node\r\n${AUTH}X-Padding: ${'p'.repeat(60)}\r\n\r\n`, 60), then: 'hold', waitMs: 6000 }))
  const slowBodies = Array.from({ length: 3 }, () => play(target, { steps: [Buffer.from(`POST /api/v1/workflows HTTP/1.1\r\nHost: n\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 400\r\n\r\n`), ...dribble('{"definition": "' + 'x'.repeat(100), 80)], then: 'hold', waitMs: 8000 }))
  const slowAvro = play(target, { steps: [Buffer.from(`POST /avro HTTP/1.1\r\nHost: n\r\n${AUTH}Content-Length: 300\r\n\r\n`), ...dribble('\x00\x00\x00\x40' + 'a'.repeat(60), 80)], then: 'hold', waitMs: 8000 })
  // Meanwhile everyone else is served as usual.
  await sleep(500)
  await probe.check('slow clients holding connections')
  const headerOutcomes = await Promise.all(slowHeaders)
  for (const o of headerOutcomes) {
    assert.ok(o.closedByNode, 'a client slow with its headers is cut by the node')
    assert.ok(o.ms < HEADERS_TIMEOUT_MS + 2000, `cut after ${o.ms} ms`)
  }
  const bodyOutcomes = await Promise.all([...slowBodies, slowAvro])
  for (const o of bodyOutcomes) {
    assert.ok(o.closedByNode, 'a client slow with its body is cut by the node')
    assert.ok(o.ms < REQUEST_TIMEOUT_MS + 2000, `cut after ${o.ms} ms`)
  }
  counts.slow = slowHeaders.length + slowBodies.length + 1
  await probe.check('slow clients')

  // A flood of idle connections: the port takes MAX_CONNECTIONS, closes the rest on arrival, and frees itself.
  const flood = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 16 }, async () => await play(target, { steps: [], then: 'hold', waitMs: 4000 })))
  const refusedAtOnce = flood.filter(o => o.closedByNode && o.ms < 1000).length
  assert.ok(refusedAtOnce >= 16, `${refusedAtOnce} connections past the cap were closed on arrival`)
  assert.ok(flood.filter(o => o.closedByNode).length === flood.length, 'idle connections are cut at the headers deadline')
  counts.flood = flood.length
  await probe.check('a connection flood')

  const rejected = await rejections(n)
  t.diagnostic(`se_rejected_connections_total: ${JSON.stringify(Object.fromEntries(rejected))}`)
  for (const key of ['http/header_timeout', 'http/body_timeout', 'avro-http/body_timeout', 'http/aborted', 'http/bad_request', 'http/too_many_connections']) {
    assert.ok((rejected.get(key) ?? 0) > 0, `${key} is counted`)
  }
  assert.ok((rejected.get('http/too_many_connections') ?? 0) >= 16)
  await finalChecks(t, n, fdsBefore, probe, counts)
})
