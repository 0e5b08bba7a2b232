// Fuzzing the decoders every port relies on, in process: each Avro type of the
// protocol (through the avsc guard), our RPC frame decoder, and the bounded Avro
// IPC frame readers. A decode may fail, but it must fail fast, and never loop for
// a count or a length that the bytes cannot hold.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import avro from 'avsc'
import { MESSAGES, namedType, remoteErrorType } from '../core/protocol/codec.js'
import { MAX_EMPTY_ITEMS, avscGuarded } from '../core/protocol/avsc-guard.js'
import { HttpFrameReader, NettyFrameReader, httpFrames, nettyFrame, type AvroMessage } from '../core/protocol/avro-frames.js'
import { FrameDecoder, encodeFrame } from '../core/rpc/framing.js'
import { HOSTILE_INTS, Rng, avroLong, fuzzRounds, fuzzSeed, int32be, mutate } from './helpers/fuzz.js'

const frameError = (err: unknown): boolean => ['BAD_FRAME', 'FRAME_TOO_LARGE'].includes((err as { code?: string }).code ?? '')

/** Far more than any decode of a few kilobytes needs; a loop over a wire count takes seconds. */
const DECODE_BUDGET_MS = 100

interface Decodable { toBuffer (v: unknown): Buffer, fromBuffer (b: Buffer): unknown }

/** A valid value of an avsc type, from the seeded generator (avsc's own `random()` cannot be seeded, so runs would not replay). */
function randomValue (type: any, rng: Rng, depth = 0): unknown {
  const deep = depth > 4
  switch (type.typeName as string) {
    case 'null': return null
    case 'boolean': return rng.chance(0.5)
    case 'int': return rng.int(2000) - 1000
    case 'long': return rng.chance(0.3) ? Date.now() : rng.int(100_000)
    case 'float': case 'double': return rng.next() * 100
    case 'string': return rng.bytes(rng.int(deep ? 3 : 24)).toString('base64')
    case 'bytes': return rng.bytes(rng.int(32))
    case 'fixed': return rng.bytes(type.size)
    case 'enum': return rng.pick(type.symbols)
    case 'array': return Array.from({ length: deep ? 0 : rng.int(4) }, () => randomValue(type.itemsType, rng, depth + 1))
    case 'map': return Object.fromEntries(Array.from({ length: deep ? 0 : rng.int(4) }, (_, i) => [`k${i}`, randomValue(type.valuesType, rng, depth + 1)]))
    case 'record': case 'error': return Object.fromEntries(type.fields.map((f: any) => [f.name, randomValue(f.type, rng, depth + 1)]))
    default: {
      // A union: null when it may be, deep down; otherwise any branch.
      const branches = type.types as any[]
      const branch = deep ? (branches.find(b => b.typeName === 'null') ?? branches[0]) : rng.pick(branches)
      return randomValue(branch, rng, depth + 1)
    }
  }
}

test('the guard refuses block counts the buffer cannot hold, and keeps real arrays and maps', () => {
  assert.equal(avscGuarded(), true)
  const cases: Array<[unknown, Buffer]> = [
    [{ type: 'map', values: 'null' }, Buffer.concat([avroLong(2 ** 40), Buffer.from([2, 0x61])])],
    [{ type: 'array', items: 'null' }, avroLong(2 ** 40)],
    [{ type: 'array', items: { type: 'record', name: 'Empty', fields: [] } }, avroLong(2 ** 33)],
    [{ type: 'array', items: 'long' }, Buffer.concat([avroLong(2 ** 31), Buffer.from([2, 4, 6])])],
    [{ type: 'array', items: 'string' }, Buffer.concat([avroLong(-(2 ** 40)), avroLong(3), Buffer.from([2, 0x61])])],
    [{ type: 'map', values: 'string' }, Buffer.concat([avroLong(1), avroLong(-3), Buffer.from('abc')])]
  ]
  for (const [schema, bytes] of cases) {
    const type = avro.Type.forSchema(schema as any)
    const began = Date.now()
    assert.throws(() => type.fromBuffer(bytes), /invalid|truncated/i, JSON.stringify(schema))
    assert.ok(Date.now() - began < DECODE_BUDGET_MS, `refused at once: ${JSON.stringify(schema)}`)
  }
  // Items that take no bytes are allowed, up to a bound: an array of nulls is odd, not hostile.
  const nulls = avro.Type.forSchema({ type: 'array', items: 'null' } as any)
  assert.equal((nulls.fromBuffer(nulls.toBuffer(new Array(1000).fill(null))) as unknown[]).length, 1000)
  assert.throws(() => nulls.fromBuffer(nulls.toBuffer(new Array(MAX_EMPTY_ITEMS + 1).fill(null))), /take no bytes/)
  const nested = avro.Type.forSchema({ type: 'map', values: { type: 'array', items: 'string' } } as any)
  const decoded = nested.fromBuffer(nested.toBuffer({ a: ['x', 'y'], b: [] })) as Record<string, string[]>
  assert.deepEqual(decoded, { a: ['x', 'y'], b: [] })
  const proto = nested.fromBuffer(Buffer.concat([avroLong(1), avroLong(9), Buffer.from('__proto__'), avroLong(1), avroLong(1), Buffer.from('p'), avroLong(0), avroLong(0)])) as Record<string, unknown>
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'a "__proto__" key is data, not a prototype')
  assert.deepEqual(Object.keys(proto), ['__proto__'])
  // A resolver (an older writer's schema) reads through the same guard.
  const writer = avro.Type.forSchema({ type: 'array', items: 'int' } as any)
  const reader = avro.Type.forSchema({ type: 'array', items: 'long' } as any)
  const resolver = reader.createResolver(writer)
  assert.deepEqual(reader.fromBuffer(writer.toBuffer([1, 2, 3]), resolver), [1, 2, 3])
  assert.throws(() => reader.fromBuffer(avroLong(2 ** 30), resolver), /invalid/)
})

test('every protocol type decodes mutated and random bytes fast, throwing or not', t => {
  const rng = new Rng(fuzzSeed(t, 'codec'))
  const types: Array<[string, Decodable]> = [['RemoteError', remoteErrorType() as unknown as Decodable], ['MeshHello', namedType('MeshHello') as unknown as Decodable]]
  for (const m of MESSAGES.values()) {
    types.push([`${m.name} request`, m.request as unknown as Decodable], [`${m.name} response`, m.response as unknown as Decodable])
    if (m.stream !== null) types.push([`${m.name} event`, m.stream as unknown as Decodable])
  }
  let decodes = 0
  let slowest = 0
  const rounds = fuzzRounds(40)
  for (const [name, type] of types) {
    for (let i = 0; i < rounds; i++) {
      const valid = type.toBuffer(randomValue(type, rng))
      const input = rng.chance(0.2) ? rng.bytes(rng.int(300)) : mutate(rng, valid)
      // The fastest of up to three tries: a pause of the machine is not the decoder's, a loop over a wire count is.
      let ms = Infinity
      for (let tries = 0; tries < 3 && ms >= DECODE_BUDGET_MS; tries++) {
        const began = performance.now()
        try { type.fromBuffer(input) } catch {}
        ms = Math.min(ms, performance.now() - began)
      }
      slowest = Math.max(slowest, Math.round(ms))
      assert.ok(ms < DECODE_BUDGET_MS, `${name}: a ${input.length}-byte input took ${Math.round(ms)} ms (${input.toString('hex').slice(0, 200)})`)
      decodes++
    }
  }
  t.diagnostic(`${decodes} decodes of ${types.length} types; slowest ${slowest} ms`)
})

test('the frame readers give back what was framed, however it is cut, and refuse hostile lengths before buffering', t => {
  const rng = new Rng(fuzzSeed(t, 'frames'))
  const limits = { maxMessageBytes: 64 * 1024, maxBuffers: 16 }
  for (let i = 0; i < fuzzRounds(200); i++) {
    const messages: AvroMessage[] = Array.from({ length: 1 + rng.int(3) }, () => ({ id: rng.int(1000), payload: Array.from({ length: 1 + rng.int(4) }, () => rng.bytes(rng.int(2000))) }))
    const stream = Buffer.concat(messages.map(m => Buffer.from(nettyFrame(m))))
    const reader = new NettyFrameReader(limits)
    const out: AvroMessage[] = []
    for (let at = 0; at < stream.length;) { const n = 1 + rng.int(700); out.push(...reader.push(stream.subarray(at, at + n))); at += n }
    assert.deepEqual(out.map(m => [m.id, m.payload.map(p => Buffer.from(p).toString('hex'))]), messages.map(m => [m.id, m.payload.map(p => Buffer.from(p).toString('hex'))]))
    assert.equal(reader.partial, false)
    const one = messages[0] as AvroMessage
    const body = Buffer.from(httpFrames(one.payload))
    const http = new HttpFrameReader(limits)
    const sent = one.payload.filter(p => p.length > 0).map(p => Buffer.from(p).toString('hex'))
    const readAll = (): AvroMessage | null => {
      let got: AvroMessage | null = null
      for (let at = 0; at < body.length;) { const n = 1 + rng.int(700); got = http.push(body.subarray(at, at + n)) ?? got; at += n }
      http.end()
      return got
    }
    // HTTP framing ends a message with an empty frame, so empty buffers cannot be sent;
    // a message of nothing but empty buffers is an empty body, which must be refused.
    if (sent.length === 0) assert.throws(readAll, (err: unknown) => (err as { code?: string }).code === 'BAD_FRAME')
    else assert.deepEqual(readAll()?.payload.map(p => Buffer.from(p).toString('hex')), sent)
  }
  for (const count of HOSTILE_INTS) {
    const reader = new NettyFrameReader(limits)
    const header = Buffer.concat([int32be(1), int32be(count), int32be(rng.pick(HOSTILE_INTS))])
    if (count >= 1 && count <= limits.maxBuffers) {
      try { reader.push(header) } catch (err) { assert.ok(frameError(err), String(err)) }
    } else {
      assert.throws(() => reader.push(header), frameError)
    }
    const http = new HttpFrameReader(limits)
    if (count < 0 || count > limits.maxMessageBytes) assert.throws(() => http.push(int32be(count)), frameError)
  }
  const badFrame = (err: unknown): boolean => (err as { code?: string }).code === 'BAD_FRAME'
  assert.throws(() => new HttpFrameReader(limits).end(), badFrame, 'an empty body')
  assert.throws(() => { const r = new HttpFrameReader(limits); r.push(int32be(5)); r.end() }, badFrame, 'a body that ends inside a frame')
  assert.throws(() => new HttpFrameReader(limits).push(Buffer.concat([int32be(1), Buffer.from('x'), int32be(0), Buffer.from('more')])), badFrame, 'bytes after the message')
  const decoder = new FrameDecoder(1024)
  assert.throws(() => decoder.push(int32be(0x7fffffff)), (err: unknown) => (err as { code?: string }).code === 'FRAME_TOO_LARGE')
  const good = new FrameDecoder(1024)
  assert.equal(good.push(Buffer.from(encodeFrame(Buffer.from('abc'))).subarray(0, 5)).length, 0)
  assert.equal(good.partial, true)
})
