// The CLI's way to its node: the Unix socket, through the typed promise facade.
// A node that holds the data dir but does not answer yet (it is starting, or
// recovering) is waited for, a few seconds at most, rather than reported absent:
// otherwise a CLI call made during a restart would start a second node there.
import { RpcPeer } from '../../core/rpc/peer.js'
import { nodeClient } from '../../core/rpc/node-api.js'
import { SeError } from '../../core/errors.js'
import type { NodeApi } from '../../core/protocol/types.js'
import { socketPath } from './config.js'
import { connectUnix } from './unix-socket.js'

/** How long a CLI call waits for a node that is starting on its data dir (SE_NODE_WAIT_MS overrides). */
const STARTING_NODE_WAIT_MS = 15_000
const STARTING_NODE_POLL_MS = 100

export interface NodeConnection {
  api: NodeApi
  close (): void
}

export interface ConnectOptions {
  /** Told once when the call waits for a starting node. */
  onWait?: (message: string) => void
  waitMs?: number
}

export async function connectNode (dataDir: string, opts: ConnectOptions = {}): Promise<NodeConnection> {
  const { waitMs = waitFromEnv() ?? STARTING_NODE_WAIT_MS } = opts
  const began = Date.now()
  let told = false
  for (;;) {
    try {
      const conn = await connectUnix(socketPath(dataDir))
      const peer = new RpcPeer(conn)
      return { api: nodeClient(peer), close: () => peer.close() }
    } catch (err) {
      if (!(err instanceof SeError) || err.code !== 'NO_NODE') throw err
      // Loaded only when the node does not answer: the file lock's native addon costs every call start-up time.
      const { dataDirHolder } = await import('../../core/node/data-dir-lock.js')
      const { NodeFileSystem } = await import('./fs.js')
      const holder = await dataDirHolder(new NodeFileSystem(), dataDir)
      if (holder === null) throw err
      const waited = Date.now() - began
      if (waited >= waitMs) throw SeError.nodeStarting(dataDir, holder.pid, waited, err)
      if (!told) opts.onWait?.(`the node on ${dataDir}${holder.pid === null ? '' : ` (pid ${holder.pid})`} is starting: waiting up to ${Math.round(waitMs / 1000)} s for it`)
      told = true
      await new Promise(resolve => setTimeout(resolve, STARTING_NODE_POLL_MS))
    }
  }
}

function waitFromEnv (): number | undefined {
  const raw = process.env.SE_NODE_WAIT_MS
  const ms = raw === undefined ? NaN : Number(raw)
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined
}
