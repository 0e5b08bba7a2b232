// ed25519 and SHA-256 through libsodium (sodium-native), the library Hyperswarm
// uses too, on Node and on Bare alike: keys are in its 32/64-byte forms, and
// signing is about twice as fast as node:crypto's (see bench/audit.ts).
import b4a from 'b4a'
import sodium from 'sodium-native'
import type { Crypto, KeyPair } from '../../core/ports.js'

// sodium-native wants its runtime's Buffer: a view over the same bytes, no copy.
const asBuffer = (bytes: Uint8Array): Buffer => b4a.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Buffer
const alloc = (n: number): Buffer => b4a.allocUnsafe(n) as Buffer

export class SodiumCrypto implements Crypto {
  sha256 (data: Uint8Array): Uint8Array {
    const out = alloc(sodium.crypto_hash_sha256_BYTES)
    sodium.crypto_hash_sha256(out, asBuffer(data))
    return out
  }

  randomBytes (n: number): Uint8Array {
    const out = alloc(n)
    sodium.randombytes_buf(out)
    return out
  }

  generateKeyPair (): KeyPair {
    const publicKey = alloc(sodium.crypto_sign_PUBLICKEYBYTES)
    const secretKey = alloc(sodium.crypto_sign_SECRETKEYBYTES)
    sodium.crypto_sign_keypair(publicKey, secretKey)
    return { publicKey, secretKey }
  }

  sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    const signature = alloc(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(signature, asBuffer(message), asBuffer(secretKey))
    return signature
  }

  verify (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.byteLength !== sodium.crypto_sign_BYTES || publicKey.byteLength !== sodium.crypto_sign_PUBLICKEYBYTES) return false
    return sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(message), asBuffer(publicKey))
  }

  mac (key: Uint8Array, data: Uint8Array): Uint8Array {
    const out = alloc(32)
    sodium.crypto_generichash(out, asBuffer(data), asBuffer(key))
    return out
  }
}
