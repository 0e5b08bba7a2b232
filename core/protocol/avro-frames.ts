// Avro IPC's two framings, read with every length and count checked before a
// byte is buffered: the HTTP transport's (buffers, each a 4-byte big-endian
// length then its bytes, a zero length ending the message) and the Netty framing
// Java's NettyTransceiver speaks on TCP (a serial and a buffer count, then the
// buffers). avsc's own decoders trust those numbers: a negative length loops
// forever, and a large count or length is buffered as announced.
import b4a from 'b4a'
import { SeError } from '../errors.js'

export interface AvroFrameLimits {
  /** Bytes in one message, all its buffers together. */
  maxMessageBytes: number
  /** Buffers in one message. */
  maxBuffers: number
}

/** One Avro IPC message as avsc's channels take it: a serial (null over HTTP) and its buffers. */
export interface AvroMessage { id: number | null, payload: Uint8Array[] }

const INT_BYTES = 4

/** Received bytes not yet read: taken a few at a time without copying all of them on every chunk. */
class ByteQueue {
  private chunks: Uint8Array[] = []
  length = 0

  push (chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.chunks.push(chunk)
    this.length += chunk.byteLength
  }

  /** The next `n` bytes, removed; the caller has checked that there are that many. */
  take (n: number): Uint8Array {
    if (n === 0) return b4a.alloc(0)
    const first = this.chunks[0] as Uint8Array
    let out: Uint8Array
    if (first.byteLength >= n) {
      out = first.subarray(0, n)
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
    } else {
      out = b4a.allocUnsafe(n)
      let filled = 0
      while (filled < n) {
        const c = this.chunks[0] as Uint8Array
        const part = Math.min(c.byteLength, n - filled)
        out.set(c.subarray(0, part), filled)
        filled += part
        if (part === c.byteLength) this.chunks.shift()
        else this.chunks[0] = c.subarray(part)
      }
    }
    this.length -= n
    return out
  }

  int32 (): number {
    const b = this.take(INT_BYTES)
    return new DataView(b.buffer, b.byteOffset, INT_BYTES).getInt32(0)
  }
}

/** Checks one buffer length against what the message may still hold. */
function checkLength (length: number, used: number, limits: AvroFrameLimits): void {
  if (length < 0) throw SeError.badIpcFrame(`a buffer announces a negative length (${length})`)
  if (used + length > limits.maxMessageBytes) throw SeError.ipcMessageTooLarge(`a message of more than ${limits.maxMessageBytes} bytes (a buffer of ${length} after ${used})`)
}

/** Netty framing on a stream: push bytes, get the messages they complete; throws BAD_FRAME or FRAME_TOO_LARGE. */
export class NettyFrameReader {
  private readonly queue = new ByteQueue()
  private id: number | null = null
  private remaining = 0
  private length: number | null = null
  private buffers: Uint8Array[] = []
  private used = 0

  constructor (private readonly limits: AvroFrameLimits) {}

  /** Whether part of a message has arrived and the rest has not. */
  get partial (): boolean {
    return this.id !== null || this.queue.length > 0
  }

  push (chunk: Uint8Array): AvroMessage[] {
    this.queue.push(chunk)
    const messages: AvroMessage[] = []
    for (;;) {
      if (this.id === null) {
        if (this.queue.length < 2 * INT_BYTES) return messages
        const id = this.queue.int32()
        const count = this.queue.int32()
        if (count < 1) throw SeError.badIpcFrame(`a frame announces ${count} buffers`)
        if (count > this.limits.maxBuffers) throw SeError.ipcMessageTooLarge(`a frame announces ${count} buffers, more than ${this.limits.maxBuffers}`)
        this.id = id
        this.remaining = count
      }
      if (this.length === null) {
        if (this.queue.length < INT_BYTES) return messages
        const length = this.queue.int32()
        checkLength(length, this.used, this.limits)
        this.length = length
      }
      if (this.queue.length < this.length) return messages
      this.buffers.push(this.queue.take(this.length))
      this.used += this.length
      this.length = null
      if (--this.remaining > 0) continue
      messages.push({ id: this.id, payload: this.buffers })
      this.id = null
      this.buffers = []
      this.used = 0
    }
  }
}

/** The HTTP transport's framing of one request body: push bytes, then `end`; throws BAD_FRAME or FRAME_TOO_LARGE. */
export class HttpFrameReader {
  private readonly queue = new ByteQueue()
  private length: number | null = null
  private buffers: Uint8Array[] = []
  private used = 0
  private done = false

  constructor (private readonly limits: AvroFrameLimits) {}

  /** The message, once its terminating empty buffer has arrived; bytes after it are refused. */
  push (chunk: Uint8Array): AvroMessage | null {
    if (this.done) {
      if (chunk.byteLength > 0) throw SeError.badIpcFrame('bytes follow the end of the message; send one message per request')
      return null
    }
    this.queue.push(chunk)
    for (;;) {
      if (this.length === null) {
        if (this.queue.length < INT_BYTES) return null
        const length = this.queue.int32()
        checkLength(length, this.used, this.limits)
        if (length === 0) return this.finish()
        if (this.buffers.length >= this.limits.maxBuffers) throw SeError.ipcMessageTooLarge(`a message of more than ${this.limits.maxBuffers} buffers`)
        this.length = length
      }
      if (this.queue.length < this.length) return null
      this.buffers.push(this.queue.take(this.length))
      this.used += this.length
      this.length = null
    }
  }

  /** At the end of the body: BAD_FRAME unless it held exactly one whole message. */
  end (): void {
    if (this.done) return
    if (this.buffers.length === 0 && this.length === null && this.queue.length === 0) throw SeError.badIpcFrame('the body is not a framed Avro IPC request')
    throw SeError.badIpcFrame('the body ends inside a frame')
  }

  private finish (): AvroMessage {
    if (this.queue.length > 0) throw SeError.badIpcFrame('bytes follow the end of the message; send one message per request')
    if (this.buffers.length === 0) throw SeError.badIpcFrame('the message has no buffers')
    this.done = true
    const message = { id: null, payload: this.buffers }
    this.buffers = []
    return message
  }
}

function int32 (n: number): Uint8Array {
  const b = b4a.allocUnsafe(INT_BYTES)
  new DataView(b.buffer, b.byteOffset, INT_BYTES).setInt32(0, n)
  return b
}

/** A message in Netty framing. */
export function nettyFrame (message: AvroMessage): Uint8Array {
  const parts: Uint8Array[] = [int32(message.id ?? 0), int32(message.payload.length)]
  for (const p of message.payload) parts.push(int32(p.byteLength), p)
  return b4a.concat(parts)
}

/** A message in the HTTP transport's framing, with its terminating empty buffer. */
export function httpFrames (payload: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const p of payload) if (p.byteLength > 0) parts.push(int32(p.byteLength), p)
  parts.push(int32(0))
  return b4a.concat(parts)
}
