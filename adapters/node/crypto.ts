// ed25519 and SHA-256 from node:crypto. Keys are kept in the raw 32/64-byte forms
// Hyperswarm uses; node:crypto wants DER, so they are wrapped once and cached.
import nodeCrypto, { type KeyObject } from 'node:crypto'
import type { Crypto, KeyPair } from '../../core/ports.js'

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export class NodeCrypto implements Crypto {
  private readonly privateKeys = new Map<string, KeyObject>()
  private readonly publicKeys = new Map<string, KeyObject>()

  sha256 (data: Uint8Array): Uint8Array {
    return nodeCrypto.createHash('sha256').update(data).digest()
  }

  randomBytes (n: number): Uint8Array {
    return nodeCrypto.randomBytes(n)
  }

  generateKeyPair (): KeyPair {
    const seed = nodeCrypto.randomBytes(32)
    const publicKey = this.publicFromSeed(seed)
    return { publicKey, secretKey: Buffer.concat([seed, publicKey]) }
  }

  sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    return nodeCrypto.sign(null, message, this.privateKey(secretKey))
  }

  verify (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.byteLength !== 64 || publicKey.byteLength !== 32) return false
    try {
      return nodeCrypto.verify(null, message, this.publicKey(publicKey), signature)
    } catch {
      return false
    }
  }

  private publicFromSeed (seed: Uint8Array): Uint8Array {
    const key = nodeCrypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    const spki = nodeCrypto.createPublicKey(key).export({ format: 'der', type: 'spki' })
    return spki.subarray(SPKI_PREFIX.length)
  }

  private privateKey (secretKey: Uint8Array): KeyObject {
    const id = Buffer.from(secretKey.buffer, secretKey.byteOffset, 32).toString('hex')
    let key = this.privateKeys.get(id)
    if (key === undefined) {
      key = nodeCrypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
      this.privateKeys.set(id, key)
    }
    return key
  }

  private publicKey (publicKey: Uint8Array): KeyObject {
    const id = Buffer.from(publicKey).toString('hex')
    let key = this.publicKeys.get(id)
    if (key === undefined) {
      key = nodeCrypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
      this.publicKeys.set(id, key)
    }
    return key
  }
}
