// A node is known by its ed25519 public key. The key pair is made on first
// start and kept in the data dir (owner-only); the secret key is never printed.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { Crypto, FileSystem, KeyPair } from '../ports.js'
import { fromHex, toHex } from '../hex.js'

export { shortId } from '../hex.js'

export interface NodeIdentity {
  keyPair: KeyPair
  /** Hex of the public key: the node's id everywhere. */
  id: string
  name: string
  createdAt: number
}

const FILE = 'identity.json'

export async function loadOrCreateIdentity (fs: FileSystem, crypto: Crypto, dataDir: string, defaultName: string, now: number): Promise<NodeIdentity> {
  const path = join(dataDir, FILE)
  const bytes = await fs.read(path)
  if (bytes !== null) {
    try {
      const stored = JSON.parse(b4a.toString(bytes, 'utf8')) as { publicKey: string, secretKey: string, name: string, createdAt: number }
      const keyPair = { publicKey: fromHex(stored.publicKey), secretKey: fromHex(stored.secretKey) }
      if (keyPair.publicKey.byteLength !== 32 || keyPair.secretKey.byteLength !== 64) throw new Error('keys have the wrong length')
      return { keyPair, id: stored.publicKey, name: stored.name, createdAt: stored.createdAt }
    } catch (err) {
      throw SeError.identityUnreadable(path, err)
    }
  }
  const keyPair = crypto.generateKeyPair()
  const identity = { publicKey: toHex(keyPair.publicKey), secretKey: toHex(keyPair.secretKey), name: defaultName, createdAt: now }
  await fs.writeAtomic(path, JSON.stringify(identity, null, 2) + '\n', { mode: 0o600 })
  return { keyPair, id: identity.publicKey, name: defaultName, createdAt: now }
}
