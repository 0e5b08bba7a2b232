// The RPC envelope on the wire: a frame's 4-byte length, then the Avro record
// Frame { id: long, kind: FrameKind, message: string, body: bytes }. Written and
// read here by hand, so that a call costs one buffer and one copy: the body is
// encoded into a scratch buffer with the envelope in front of it, and read in
// place from the frame that carried it. The bytes are exactly those avsc writes
// for the FRAME schema (test/rpc-envelope.test.ts holds the two together).
import b4a from 'b4a'
import { MESSAGES, type AvroType } from '../protocol/codec.js'

export const FRAME_SCHEMA = {
  type: 'record',
  name: 'Frame',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'kind', type: { type: 'enum', name: 'FrameKind', symbols: ['CALL', 'REPLY', 'ERROR', 'EVENT', 'CANCEL'] } },
    { name: 'message', type: 'string' },
    { name: 'body', type: 'bytes' }
  ]
} as const

export type FrameKind = 'CALL' | 'REPLY' | 'ERROR' | 'EVENT' | 'CANCEL'
/** FrameKind symbols by their enum index, as they go on the wire. */
export const KINDS: readonly FrameKind[] = FRAME_SCHEMA.fields[1].type.symbols
export const KIND = { CALL: 0, REPLY: 1, ERROR: 2, EVENT: 3, CANCEL: 4 } as const

const HEADER_BYTES = 4
const MAX_LONG = 9007199254740990
/** Most bytes a zigzag varint of a safe integer takes. */
const MAX_VARINT_BYTES = 10
/** Bytes kept in front of the body for the envelope, besides the message name. */
const ENVELOPE_RESERVE = HEADER_BYTES + 3 * MAX_VARINT_BYTES + 1
/** The scratch buffer starts this big and grows for a larger body; one bigger than the cap is not kept. */
const SCRATCH_BYTES = 64 * 1024
const SCRATCH_KEEP_BYTES = 1024 * 1024

let scratch = b4a.allocUnsafeSlow(SCRATCH_BYTES)

/** UTF-8 names of the protocol's messages (and the empty one of a connection-wide error); any other name a peer sent is encoded each time. */
const NAMES = new Map<string, Uint8Array>([['', b4a.alloc(0)], ...[...MESSAGES.keys()].map(name => [name, b4a.from(name, 'utf8')] as [string, Uint8Array])])

function nameBytes (message: string): Uint8Array {
  return NAMES.get(message) ?? b4a.from(message, 'utf8')
}

function varintBytes (n: number): number {
  // Zigzag, then 7 bits a byte.
  let z = n >= 0 ? n * 2 : -n * 2 - 1
  let bytes = 1
  while (z >= 128) { z = Math.floor(z / 128); bytes++ }
  return bytes
}

/** avsc's writeLong: zigzag varint, integer arithmetic where it cannot overflow. */
function writeLong (buf: Uint8Array, pos: number, n: number): number {
  if (n >= -1073741824 && n < 1073741824) {
    let m = n >= 0 ? n << 1 : (~n << 1) | 1
    while (m > 0x7f) {
      buf[pos++] = (m & 0x7f) | 0x80
      m >>>= 7
    }
    buf[pos++] = m
    return pos
  }
  let f = n >= 0 ? n * 2 : (-n * 2) - 1
  while (f >= 128) {
    buf[pos++] = (f % 128) | 0x80
    f = Math.floor(f / 128)
  }
  buf[pos++] = f
  return pos
}

/**
 * One whole frame, length prefix included: the envelope, and `value` encoded with `type` as its body
 * (no body when `type` is null). Throws what avsc throws when the value does not fit the type.
 */
export function encodeEnvelope (id: number, kind: number, message: string, type: AvroType | null, value: unknown): Uint8Array {
  const name = nameBytes(message)
  const bodyAt = ENVELOPE_RESERVE + name.byteLength
  let buf = bodyAt < scratch.byteLength ? scratch : grown(bodyAt)
  let end = type === null ? bodyAt : type.encode(value, buf, bodyAt)
  if (end < 0) {
    // Short by -end bytes: write again into a buffer big enough.
    buf = grown(buf.byteLength - end)
    end = (type as AvroType).encode(value, buf, bodyAt)
  }
  return finish(buf, id, kind, name, bodyAt, end)
}

/** A scratch buffer of at least `bytes`; kept for next time unless it is unusually big. */
function grown (bytes: number): Uint8Array {
  const bigger = b4a.allocUnsafeSlow(Math.max(scratch.byteLength * 2, bytes))
  if (bigger.byteLength <= SCRATCH_KEEP_BYTES) scratch = bigger
  return bigger
}

function finish (buf: Uint8Array, id: number, kind: number, name: Uint8Array, bodyAt: number, end: number): Uint8Array {
  const bodyBytes = end - bodyAt
  const envelopeBytes = varintBytes(id) + 1 + varintBytes(name.byteLength) + name.byteLength + varintBytes(bodyBytes)
  const start = bodyAt - envelopeBytes - HEADER_BYTES
  const length = end - start - HEADER_BYTES
  buf[start] = length >>> 24
  buf[start + 1] = (length >>> 16) & 0xff
  buf[start + 2] = (length >>> 8) & 0xff
  buf[start + 3] = length & 0xff
  let pos = writeLong(buf, start + HEADER_BYTES, id)
  buf[pos++] = kind << 1
  pos = writeLong(buf, pos, name.byteLength)
  buf.set(name, pos)
  pos = writeLong(buf, pos + name.byteLength, bodyBytes)
  // The socket may keep what it is given until it is sent: it gets a copy of its own.
  const out = b4a.allocUnsafe(end - start)
  out.set(buf.subarray(start, end))
  return out
}

/** A frame read: where its body lies in the payload that carried it (from bodyStart to the payload's end). */
export interface Envelope {
  id: number
  kind: FrameKind
  message: string
  bodyStart: number
}

/** avsc's readLong, on a plain byte array: returns the value and leaves the position in `at.pos`. */
function readLong (buf: Uint8Array, at: { pos: number }): number {
  let pos = at.pos
  let n = 0
  let k = 0
  let b = 0
  let h = 0
  do {
    b = buf[pos++] ?? 0
    h = b & 0x80
    n |= (b & 0x7f) << k
    k += 7
  } while (h !== 0 && k < 28)
  if (h !== 0) {
    let f = n
    let fk = 268435456
    do {
      b = buf[pos++] ?? 0
      f += (b & 0x7f) * fk
      fk *= 128
    } while ((b & 0x80) !== 0)
    at.pos = pos
    return (f % 2 !== 0 ? -(f + 1) : f) / 2
  }
  at.pos = pos
  return (n >> 1) ^ -(n & 1)
}

/** Reads a frame's envelope; throws, as avsc would for the FRAME schema, on bytes that are not one. */
export function decodeEnvelope (payload: Uint8Array): Envelope {
  const end = payload.byteLength
  const at = { pos: 0 }
  const id = readLong(payload, at)
  if (at.pos > end) throw new Error('truncated buffer')
  // avsc's bound for a long it reads as a number (a little inside Number.MAX_SAFE_INTEGER).
  if (!(id >= -MAX_LONG && id <= MAX_LONG)) throw new Error('potential precision loss')
  const index = readLong(payload, at)
  if (at.pos > end) throw new Error('truncated buffer')
  const kind = KINDS[index]
  if (kind === undefined) throw new Error(`invalid FrameKind enum index: ${index}`)
  const nameLength = readLong(payload, at)
  if (nameLength < 0 || at.pos + nameLength > end) throw new Error('truncated buffer')
  const message = b4a.toString(payload as Buffer, 'utf8', at.pos, at.pos + nameLength)
  at.pos += nameLength
  const bodyLength = readLong(payload, at)
  if (bodyLength < 0 || at.pos + bodyLength > end) throw new Error('truncated buffer')
  if (at.pos + bodyLength < end) throw new Error('trailing data')
  return { id, kind, message, bodyStart: at.pos }
}

/** The body of a frame, decoded in place with `type`; throws as avsc's fromBuffer would on the body alone. */
export function decodeBody (type: AvroType, payload: Uint8Array, bodyStart: number): any {
  const { value, offset } = type.decode(payload, bodyStart)
  if (offset < 0) throw new Error('truncated buffer')
  if (offset < payload.byteLength) throw new Error('trailing data')
  return value
}
