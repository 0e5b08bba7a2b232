// Everything a mesh derives from its name and secret. Nodes that hold the same
// secret meet on the same topic and can prove it to each other; the topic alone
// (which the DHT sees) reveals neither.
import b4a from 'b4a'
import type { Crypto } from '../ports.js'

export interface MeshKeys {
  name: string
  /** Shared by every member; never sent anywhere. */
  key: Uint8Array
  /** Where members announce and look each other up on the DHT. */
  topic: Uint8Array
}

const utf8 = (s: string): Uint8Array => b4a.from(s, 'utf8')

export function meshKeys (crypto: Crypto, name: string, secret: string): MeshKeys {
  const key = crypto.sha256(utf8(`se-mesh/key\0${name}\0${secret}`))
  return { name, key, topic: crypto.mac(key, utf8('se-mesh/topic')) }
}

/** The DHT topic under which members announce that they provide a workflow or manifest. */
export function providerTopic (crypto: Crypto, keys: MeshKeys, id: string): Uint8Array {
  return crypto.mac(keys.key, utf8(`se-mesh/provides\0${id}`))
}

/** Proof that the sender holds the mesh key, bound to this one connection and to the sender. */
export function helloProof (crypto: Crypto, keys: MeshKeys, handshakeHash: Uint8Array, sender: Uint8Array): Uint8Array {
  return crypto.mac(keys.key, b4a.concat([utf8('se-mesh/hello'), handshakeHash, sender]))
}

export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}

/** The DHT topic under which members announce that they have a capability (a tag or an engine). */
export function capabilityTopic (crypto: Crypto, keys: MeshKeys, capability: string): Uint8Array {
  return crypto.mac(keys.key, utf8(`se-mesh/capability\0${capability}`))
}
