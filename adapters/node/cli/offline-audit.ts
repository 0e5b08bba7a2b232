// Reading a node's audit trail from its data dir while the node is stopped.
import path from 'node:path'
import { AuditLog } from '../../../core/audit/log.js'
import { SeError } from '../../../core/errors.js'
import { SodiumCrypto } from '../../shared/sodium-crypto.js'
import { NodeFileSystem } from '../fs.js'
import { fromHex } from '../../../core/hex.js'

export async function openAuditOffline (dataDir: string): Promise<AuditLog> {
  const fs = new NodeFileSystem()
  const bytes = await fs.read(path.join(dataDir, 'identity.json'))
  if (bytes === null) throw SeError.noNodeEverRan(dataDir)
  const identity = JSON.parse(Buffer.from(bytes).toString('utf8')) as { publicKey: string, secretKey: string }
  return new AuditLog({
    dir: path.join(dataDir, 'audit'),
    fs,
    crypto: new SodiumCrypto(),
    clock: { now: () => Date.now() },
    identity: { publicKey: fromHex(identity.publicKey), secretKey: fromHex(identity.secretKey) }
  })
}
