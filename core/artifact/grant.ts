// A grant lets a node other than the workflow's requester fetch one artifact:
// the requester's ed25519 signature over a message that names the workflow, the
// artifact's hash and the node it is for, with a domain prefix so no other
// signature of the node's key can pass for one.
import b4a from 'b4a'
import { fromHex, toHex } from '../hex.js'
import type { Crypto } from '../ports.js'

const DOMAIN = 'se-artifact-grant'

function grantMessage (workflowId: string, hash: string, granteeNodeId: string): Uint8Array {
  return b4a.from(`${DOMAIN}\n${workflowId}\n${hash}\n${granteeNodeId}`)
}

export function signGrant (crypto: Crypto, secretKey: Uint8Array, workflowId: string, hash: string, granteeNodeId: string): string {
  return toHex(crypto.sign(grantMessage(workflowId, hash, granteeNodeId), secretKey))
}

export function grantHolds (crypto: Crypto, grant: string, requesterId: string, workflowId: string, hash: string, granteeNodeId: string): boolean {
  if (!/^[0-9a-f]+$/.test(grant) || !/^[0-9a-f]{64}$/.test(requesterId)) return false
  return crypto.verify(grantMessage(workflowId, hash, granteeNodeId), fromHex(grant), fromHex(requesterId))
}
