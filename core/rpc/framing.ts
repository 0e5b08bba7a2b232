// Length-prefixed frames: a 4-byte big-endian length, then that many bytes.
// The decoder never holds more than one frame's worth beyond what it has emitted,
// and refuses a length over the limit before buffering it.
import b4a from 'b4a'
import { SeError } from '../errors.js'

const HEADER_BYTES = 4

export function encodeFrame (payload: Uint8Array): Uint8Array {
  const out = b4a.allocUnsafe(HEADER_BYTES + payload.byteLength)
  new DataView(out.buffer, out.byteOffset, HEADER_BYTES).setUint32(0, payload.byteLength)
  out.set(payload, HEADER_BYTES)
  return out
}

export class FrameDecoder {
  private chunks: Uint8Array[] = []
  private buffered = 0

  constructor (private readonly maxFrameBytes: number) {}

  /** Whether part of a frame has arrived and the rest has not. */
  get partial (): boolean {
    return this.buffered > 0
  }

  /** Feeds bytes in; returns every complete frame they finish. Throws FRAME_TOO_LARGE. */
  push (data: Uint8Array): Uint8Array[] {
    this.chunks.push(data)
    this.buffered += data.byteLength
    const frames: Uint8Array[] = []
    while (this.buffered >= HEADER_BYTES) {
      const head = this.peek(HEADER_BYTES)
      const length = new DataView(head.buffer, head.byteOffset, HEADER_BYTES).getUint32(0)
      if (length > this.maxFrameBytes) {
        throw new SeError('FRAME_TOO_LARGE', `a frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes} bytes`)
      }
      if (this.buffered < HEADER_BYTES + length) break
      const whole = this.take(HEADER_BYTES + length)
      frames.push(whole.subarray(HEADER_BYTES))
    }
    return frames
  }

  private peek (n: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array
    if (first.byteLength >= n) return first.subarray(0, n)
    const joined = b4a.concat(this.chunks)
    this.chunks = [joined]
    return joined.subarray(0, n)
  }

  private take (n: number): Uint8Array {
    const joined = this.chunks.length === 1 ? this.chunks[0] as Uint8Array : b4a.concat(this.chunks)
    const taken = joined.subarray(0, n)
    const rest = joined.subarray(n)
    this.chunks = rest.byteLength > 0 ? [rest] : []
    this.buffered -= n
    return taken
  }
}
