// The RPC envelope written and read by hand (core/rpc/envelope.ts) against avsc's
// own encoding of the same Frame schema: the same bytes out, the same frames
// accepted and the same refused, over seeded random and mutated inputs; and the
// frame decoder's view-or-join paths against a reference that always joins.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import avro from 'avsc'
import { MESSAGES, namedType, remoteErrorType } from '../core/protocol/codec.js'
import { FRAME_SCHEMA, KINDS, decodeBody, decodeEnvelope, encodeEnvelope } from '../core/rpc/envelope.js'
import { FrameDecoder, encodeFrame } from '../core/rpc/framing.js'
import { Rng, avroLong, fuzzRounds, fuzzSeed, mutate } from './helpers/fuzz.js'

const FRAME = avro.Type.forSchema(FRAME_SCHEMA as never)
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

const IDS = [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, 2 ** 20, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), -(2 ** 30) - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 40, 9007199254740990, -9007199254740990]
const NAMES = ['', 'ping', 'heartbeat', 'not-in-the-protocol', 'é🚀', 'x'.repeat(200)]

function reference (id: number, kind: number, message: string, body: Uint8Array): Buffer {
  return Buffer.from(encodeFrame(FRAME.toBuffer({ id, kind: KINDS[kind], message, body: Buffer.from(body) })))
}

test('encodeEnvelope writes the bytes avsc writes for the Frame schema', () => {
  const ping = MESSAGES.get('ping')
  assert.ok(ping !== undefined)
  const bytesType = namedType('RemoteError')
  const remote = { code: 'TIMEOUT', message: 'late', hint: null, details: [{ file: 'a.yaml', path: 'steps[0]', line: 3, message: 'x' }] }
  for (const id of IDS) {
    for (const [kind] of KINDS.entries()) {
      for (const message of NAMES) {
        assert.equal(hex(encodeEnvelope(id, kind, message, null, null)), hex(reference(id, kind, message, Buffer.alloc(0))), `id ${id} kind ${kind} '${message}' with no body`)
        assert.equal(hex(encodeEnvelope(id, kind, message, bytesType, remote)), hex(reference(id, kind, message, bytesType.toBuffer(remote))), `id ${id} kind ${kind} '${message}'`)
      }
    }
  }
  assert.equal(hex(encodeEnvelope(7, 0, 'ping', ping.request, {})), hex(reference(7, 0, 'ping', ping.request.toBuffer({}))))
})

test('encodeEnvelope: bodies larger than the scratch buffer, one after another, and a value that does not fit', () => {
  const type = namedType('RemoteError')
  for (const size of [10, 64 * 1024 - 100, 64 * 1024, 200 * 1024, 3 * 1024 * 1024, 10]) {
    const value = { code: 'INTERNAL', message: 'm'.repeat(size), hint: null, details: [] }
    const frame = encodeEnvelope(9, 2, 'x', type, value)
    assert.equal(hex(frame), hex(reference(9, 2, 'x', type.toBuffer(value))), `a body of about ${size} bytes`)
  }
  assert.throws(() => encodeEnvelope(1, 0, 'ping', type, { code: 3 }))
  // A failed encode leaves nothing behind for the next.
  assert.equal(hex(encodeEnvelope(2, 1, 'ping', null, null)), hex(reference(2, 1, 'ping', Buffer.alloc(0))))
})

/** What avsc makes of a payload: the frame's fields, or that it refuses it. */
function avscReads (payload: Buffer): { id: number, kind: string, message: string, body: string } | 'refused' {
  try {
    const f = FRAME.fromBuffer(payload) as { id: number, kind: string, message: string, body: Buffer }
    return { id: f.id, kind: f.kind, message: f.message, body: hex(f.body) }
  } catch {
    return 'refused'
  }
}

function handReads (payload: Buffer): { id: number, kind: string, message: string, body: string } | 'refused' {
  try {
    const e = decodeEnvelope(payload)
    return { id: e.id, kind: e.kind, message: e.message, body: hex(payload.subarray(e.bodyStart)) }
  } catch {
    return 'refused'
  }
}

test('decodeEnvelope accepts and refuses what avsc does, with the same fields', (t) => {
  const rng = new Rng(fuzzSeed(t, 'rpc envelope'))
  const samples: Buffer[] = []
  for (const id of IDS) for (const message of NAMES) samples.push(FRAME.toBuffer({ id, kind: rng.pick(KINDS), message, body: rng.bytes(rng.int(40)) }))
  const hostile = (): Buffer => {
    switch (rng.int(5)) {
      case 0: return rng.bytes(rng.int(48))
      // Lengths and counts that lie, overlong varints, enum indexes out of range.
      case 1: return Buffer.concat([avroLong(rng.int(1000)), avroLong(rng.int(12) - 3), avroLong(rng.int(20) - 5), rng.bytes(rng.int(24))])
      case 2: return Buffer.concat([Buffer.alloc(rng.int(12), 0xff), rng.bytes(rng.int(8))])
      case 3: return Buffer.concat([avroLong(1), avroLong(0), avroLong(4), Buffer.from('ping'), avroLong(rng.int(10) - 3), rng.bytes(rng.int(6))])
      default: return mutate(rng, rng.pick(samples))
    }
  }
  for (const s of samples) assert.deepEqual(handReads(s), avscReads(s))
  const rounds = fuzzRounds(20_000)
  let accepted = 0
  for (let i = 0; i < rounds; i++) {
    const payload = hostile()
    const want = avscReads(payload)
    assert.deepEqual(handReads(payload), want, `payload ${payload.toString('hex')}`)
    if (want !== 'refused') accepted++
  }
  t.diagnostic(`${rounds} hostile payloads, ${accepted} of them valid frames`)
})

test('decodeBody reads a body in place and refuses a truncated one or one with bytes after it', () => {
  const remote = { code: 'TIMEOUT', message: 'late', hint: 'wait', details: [] }
  const frame = Buffer.from(encodeEnvelope(3, 2, 'ping', remoteErrorType(), remote)).subarray(4)
  const e = decodeEnvelope(frame)
  assert.deepEqual({ ...decodeBody(remoteErrorType(), frame, e.bodyStart) }, remote)
  assert.throws(() => decodeBody(remoteErrorType(), frame.subarray(0, frame.length - 1), e.bodyStart), /truncated/)
  assert.throws(() => decodeBody(remoteErrorType(), Buffer.concat([frame, Buffer.from([0])]), e.bodyStart), /trailing/)
})

/** The decoder as it was: every chunk joined onto what came before. */
function referenceFrames (chunks: Uint8Array[]): string[] {
  let all = Buffer.concat(chunks.map(c => Buffer.from(c)))
  const out: string[] = []
  while (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) {
    out.push(all.subarray(4, 4 + all.readUInt32BE(0)).toString('hex'))
    all = all.subarray(4 + all.readUInt32BE(0))
  }
  return out
}

test('FrameDecoder: frames in random chunkings come out as the joined stream holds them', (t) => {
  const rng = new Rng(fuzzSeed(t, 'frame decoder'))
  for (let round = 0; round < fuzzRounds(500); round++) {
    const stream = Buffer.concat(Array.from({ length: 1 + rng.int(8) }, () => Buffer.from(encodeFrame(rng.bytes(rng.chance(0.2) ? rng.int(70_000) : rng.int(40))))))
    const chunks: Buffer[] = []
    for (let at = 0; at < stream.length;) {
      const n = rng.chance(0.3) ? 1 + rng.int(3) : 1 + rng.int(rng.chance(0.5) ? 64 : 20_000)
      chunks.push(stream.subarray(at, at + n))
      at += n
    }
    const decoder = new FrameDecoder(1 << 20)
    const got: string[] = []
    for (const c of chunks) for (const f of decoder.push(c)) got.push(Buffer.from(f).toString('hex'))
    assert.deepEqual(got, referenceFrames(chunks))
    assert.equal(decoder.partial, false)
  }
  // A push that completes nothing returns an empty list that cannot be added to by mistake.
  assert.throws(() => (new FrameDecoder(16).push(Uint8Array.of(0, 0)) as Uint8Array[]).push(Uint8Array.of(1)))
})
