// The CLI's way to its node: the Unix socket, through the typed promise facade.
import { RpcPeer } from '../../core/rpc/peer.js'
import { nodeClient } from '../../core/rpc/node-api.js'
import type { NodeApi } from '../../core/protocol/types.js'
import { socketPath } from './config.js'
import { connectUnix } from './unix-socket.js'

export interface NodeConnection {
  api: NodeApi
  close (): void
}

export async function connectNode (dataDir: string): Promise<NodeConnection> {
  const conn = await connectUnix(socketPath(dataDir))
  const peer = new RpcPeer(conn)
  return { api: nodeClient(peer), close: () => peer.close() }
}
