// Messages on a member's artifact channel: a type, a request id, a small JSON
// header and the bytes (a manifest or one chunk). Requests and replies of both
// directions share the channel; the id pairs a reply with its request.
import b4a from 'b4a'

export const KIND = {
  /** { workflowId, hash, grant } → MANIFEST (payload: the manifest's bytes) */
  MANIFEST_REQUEST: 1,
  MANIFEST: 2,
  /** { hash, file, chunk } → CHUNK (payload: the chunk) */
  CHUNK_REQUEST: 3,
  CHUNK: 4,
  /** { code, message, hint } */
  ERROR: 5
} as const

export type Kind = typeof KIND[keyof typeof KIND]

export interface WireMessage {
  kind: Kind
  id: number
  header: Record<string, unknown>
  payload: Uint8Array
}

const HEAD_BYTES = 9
const EMPTY = b4a.alloc(0)

export function encodeMessage (kind: Kind, id: number, header: Record<string, unknown>, payload: Uint8Array = EMPTY): Uint8Array {
  const json = b4a.from(JSON.stringify(header))
  const out = b4a.allocUnsafe(HEAD_BYTES + json.byteLength + payload.byteLength)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  out[0] = kind
  view.setUint32(1, id)
  view.setUint32(5, json.byteLength)
  out.set(json, HEAD_BYTES)
  out.set(payload, HEAD_BYTES + json.byteLength)
  return out
}

/** Null when it is not one of ours. */
export function decodeMessage (data: Uint8Array): WireMessage | null {
  if (data.byteLength < HEAD_BYTES) return null
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const kind = data[0] as Kind
  if (kind < KIND.MANIFEST_REQUEST || kind > KIND.ERROR) return null
  const length = view.getUint32(5)
  if (HEAD_BYTES + length > data.byteLength) return null
  let header: unknown
  try {
    header = JSON.parse(b4a.toString(data.subarray(HEAD_BYTES, HEAD_BYTES + length), 'utf8'))
  } catch {
    return null
  }
  if (typeof header !== 'object' || header === null) return null
  return { kind, id: view.getUint32(1), header: header as Record<string, unknown>, payload: data.subarray(HEAD_BYTES + length) }
}
