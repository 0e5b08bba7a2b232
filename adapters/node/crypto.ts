// ed25519 and SHA-256 through libsodium (sodium-native), the library Hyperswarm
// and Bare use too: keys are in its 32/64-byte forms, and signing is about twice
// as fast as node:crypto's (see bench/audit.ts).
import sodium from 'sodium-native'
import type { Crypto, KeyPair } from '../../core/ports.js'

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

export class NodeCrypto implements Crypto {
  sha256 (data: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(sodium.crypto_hash_sha256_BYTES)
    sodium.crypto_hash_sha256(out, asBuffer(data))
    return out
  }

  randomBytes (n: number): Uint8Array {
    const out = Buffer.allocUnsafe(n)
    sodium.randombytes_buf(out)
    return out
  }

  generateKeyPair (): KeyPair {
    const publicKey = Buffer.allocUnsafe(sodium.crypto_sign_PUBLICKEYBYTES)
    const secretKey = Buffer.allocUnsafe(sodium.crypto_sign_SECRETKEYBYTES)
    sodium.crypto_sign_keypair(publicKey, secretKey)
    return { publicKey, secretKey }
  }

  sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    const signature = Buffer.allocUnsafe(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(signature, asBuffer(message), asBuffer(secretKey))
    return signature
  }

  verify (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.byteLength !== sodium.crypto_sign_BYTES || publicKey.byteLength !== sodium.crypto_sign_PUBLICKEYBYTES) return false
    return sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(message), asBuffer(publicKey))
  }

  mac (key: Uint8Array, data: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(32)
    sodium.crypto_generichash(out, asBuffer(data), asBuffer(key))
    return out
  }
}
