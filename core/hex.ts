// Bytes as lowercase hex and back: node keys, hashes and signatures travel and are stored this way.
import b4a from 'b4a'

export function toHex (bytes: Uint8Array): string {
  return b4a.toString(bytes, 'hex')
}

export function fromHex (hex: string): Uint8Array {
  return b4a.from(hex, 'hex')
}

/** How a node id is shown to people: long enough to tell members apart, short enough to read. */
export function shortId (id: string): string {
  return id.slice(0, 12)
}
