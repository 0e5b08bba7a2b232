// The first exchange on a peer connection. Each side sends a MeshHello proving
// it holds the mesh key; nothing else is read from a peer until its proof checks
// out, so a node without the secret never reaches the RPC layer. A wrong hello
// (and a partial one left unfinished) counts as port `mesh` in
// se_rejected_connections_total, as do the RPC layer's refusals afterwards.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import type { Connection, Crypto, PeerLink } from '../ports.js'
import { namedType } from '../protocol/codec.js'
import type { MeshHello } from '../protocol/types.js'
import { encodeFrame } from '../rpc/framing.js'
import { REJECTIONS } from '../metrics/rejections.js'
import { toHex } from '../hex.js'
import { helloProof, sameBytes, type MeshKeys } from './keys.js'

// 2: membership by gossip over a bounded neighbourhood (gossipPing, gossipPingReq, gossipSync, neighbour); 1 connected every pair and heartbeat.
export const MESH_PROTOCOL_VERSION = 2
const HELLO = namedType('MeshHello')
/** A hello is small; anything bigger is not one. */
const MAX_HELLO_BYTES = 1024

export interface Authenticated {
  hello: MeshHello
  /** The rest of the stream, starting right after the hello. */
  connection: Connection
}

export function authenticate (link: PeerLink, opts: { crypto: Crypto, keys: MeshKeys, publicKey: Uint8Array, name: string, timeoutMs: number }): Promise<Authenticated> {
  const { crypto, keys } = opts
  const remoteId = toHex(link.remotePublicKey)
  const mine: MeshHello = { version: MESH_PROTOCOL_VERSION, nodeId: toHex(opts.publicKey), name: opts.name, proof: b4a.from(helloProof(crypto, keys, link.handshakeHash, opts.publicKey)) }
  link.write(encodeFrame(HELLO.toBuffer(mine)))
  let buffered: Uint8Array = b4a.alloc(0)
  let dataListener: ((data: Uint8Array) => void) | null = null
  let settled = false
  const early: Uint8Array[] = []

  let failed = false
  const rejected = (reason: string): void => { REJECTIONS.rejectOnce(link, 'mesh', reason) }

  return new Promise((resolve, reject) => {
    /** `reason` counts the refusal; a connection that only closed or went quiet is no refusal. */
    const fail = (err: SeError, reason: string | null): void => {
      if (settled) return
      settled = true
      failed = true
      clearTimeout(timer)
      if (reason !== null) rejected(reason)
      reject(err)
    }
    // A duplicate connection Hyperswarm replaced goes quiet before its hello; one that stalls halfway through a hello is stalling.
    const timer = setTimeout(() => fail(SeError.noHello(remoteId, opts.timeoutMs), buffered.byteLength > 0 ? 'handshake_timeout' : null), opts.timeoutMs)
    link.onClose(() => fail(SeError.closedDuringHandshake(remoteId), null))
    link.onData(data => {
      // Whatever a refused peer still sends is dropped with it.
      if (failed) return
      if (settled) {
        // After the hello every byte belongs to the RPC layer; keep what comes before it listens.
        if (dataListener !== null) dataListener(data)
        else early.push(data)
        return
      }
      buffered = b4a.concat([buffered, b4a.from(data.buffer, data.byteOffset, data.byteLength)])
      if (buffered.byteLength < 4) return
      const length = new DataView(buffered.buffer, buffered.byteOffset, 4).getUint32(0)
      if (length > MAX_HELLO_BYTES) { fail(SeError.oversizedHello(remoteId), 'frame_too_large'); return }
      if (buffered.byteLength < 4 + length) return
      const helloBytes = buffered.subarray(4, 4 + length)
      const rest = buffered.subarray(4 + length)
      let hello: MeshHello
      try {
        hello = HELLO.fromBuffer(helloBytes) as MeshHello
      } catch (err) {
        fail(SeError.garbledHello(remoteId, err), 'bad_handshake')
        return
      }
      const expected = helloProof(crypto, keys, link.handshakeHash, link.remotePublicKey)
      if (hello.version !== MESH_PROTOCOL_VERSION) { fail(SeError.meshVersionMismatch(remoteId, hello.version, MESH_PROTOCOL_VERSION), 'bad_handshake'); return }
      if (hello.nodeId !== remoteId) { fail(SeError.helloOfAnother(remoteId, hello.nodeId), 'bad_handshake'); return }
      if (!sameBytes(hello.proof, expected)) { fail(SeError.noMeshSecret(remoteId, hello.name, keys.name), 'bad_handshake'); return }
      settled = true
      clearTimeout(timer)
      // Bytes that arrived with the hello are the start of the RPC stream.
      if (rest.byteLength > 0) early.push(rest)
      const connection: Connection = {
        label: `${hello.name} (${remoteId.slice(0, 8)})`,
        write: d => link.write(d),
        onData: listener => {
          dataListener = listener
          for (const d of early.splice(0)) listener(d)
        },
        onClose: listener => link.onClose(listener),
        close: () => link.close(),
        rejected
      }
      resolve({ hello, connection })
    })
  })
}
