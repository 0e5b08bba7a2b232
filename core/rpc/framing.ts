// Length-prefixed frames: a 4-byte big-endian length, then that many bytes.
// The decoder never holds more than one frame's worth beyond what it has emitted,
// and refuses a length over the limit before buffering it. Frames that arrive
// whole (the usual case) are handed out as views of the chunk that carried them,
// with no copy; a frame split across chunks is joined once, when its last byte is in.
import b4a from 'b4a'
import { SeError } from '../errors.js'

const HEADER_BYTES = 4
// Shared by every push that completes no frame; frozen, so a caller that tried to add to it would fail loudly.
const NO_FRAMES = Object.freeze([]) as unknown as Uint8Array[]

export function encodeFrame (payload: Uint8Array): Uint8Array {
  const out = b4a.allocUnsafe(HEADER_BYTES + payload.byteLength)
  writeLength(out, 0, payload.byteLength)
  out.set(payload, HEADER_BYTES)
  return out
}

function writeLength (buf: Uint8Array, at: number, length: number): void {
  buf[at] = length >>> 24
  buf[at + 1] = (length >>> 16) & 0xff
  buf[at + 2] = (length >>> 8) & 0xff
  buf[at + 3] = length & 0xff
}

function readLength (buf: Uint8Array, at: number): number {
  return ((buf[at] as number) * 0x1000000) + (((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number))
}

export class FrameDecoder {
  /** Bytes of a frame not yet complete, in the chunks they came in. */
  private chunks: Uint8Array[] = []
  private buffered = 0
  /** Bytes the incomplete frame needs before it can be read on: its header, then all of it. */
  private needed = HEADER_BYTES

  constructor (private readonly maxFrameBytes: number) {}

  /** Whether part of a frame has arrived and the rest has not. */
  get partial (): boolean {
    return this.buffered > 0
  }

  /** Feeds bytes in; returns every complete frame they finish. Throws FRAME_TOO_LARGE. */
  push (data: Uint8Array): Uint8Array[] {
    let buf = data
    if (this.buffered > 0) {
      this.chunks.push(data)
      this.buffered += data.byteLength
      if (this.buffered < this.needed) return NO_FRAMES
      buf = b4a.concat(this.chunks)
      this.chunks = []
      this.buffered = 0
    }
    let frames = NO_FRAMES
    let pos = 0
    const end = buf.byteLength
    while (end - pos >= HEADER_BYTES) {
      const length = readLength(buf, pos)
      if (length > this.maxFrameBytes) {
        throw SeError.frameTooLarge(length, this.maxFrameBytes)
      }
      if (end - pos - HEADER_BYTES < length) break
      if (frames === NO_FRAMES) frames = []
      frames.push(buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + length))
      pos += HEADER_BYTES + length
    }
    if (pos < end) {
      const rest = pos === 0 ? buf : buf.subarray(pos)
      this.chunks.push(rest)
      this.buffered = rest.byteLength
      this.needed = rest.byteLength >= HEADER_BYTES ? HEADER_BYTES + readLength(rest, 0) : HEADER_BYTES
    }
    return frames
  }
}
