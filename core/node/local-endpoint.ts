// A node serving its API to local clients (the CLI, the dashboard) over whatever
// listener the runtime has: a Unix socket on Node, a bare-pipe on Bare.
import type { Connection, Runtime } from '../ports.js'
import { RpcPeer, type CallObserver } from '../rpc/peer.js'
import { handlersFor } from '../rpc/node-api.js'
import type { SeNode } from './se-node.js'

export interface LocalListener { close (): Promise<void> }
export type Listen = (onConnection: (conn: Connection) => void) => Promise<LocalListener>

export interface ServedNode {
  node: SeNode
  close (): Promise<void>
}

export interface ServeOptions {
  /** Told how long each local call took. */
  observe?: CallObserver
  /** Runs once the endpoint is claimed, before the node recovers its state: front ends that report readiness open here. */
  beforeStart?: () => Promise<void>
  /** Runs first when the node stops, or when it fails to start. */
  beforeStop?: () => Promise<void>
}

export async function serveNode (node: SeNode, runtime: Runtime, listen: Listen, opts: ServeOptions = {}): Promise<ServedNode> {
  // Claim the endpoint first: a second node on the same data dir must fail before touching its files.
  const peers = new Set<RpcPeer>()
  let ready = false
  const listener = await listen(conn => {
    if (!ready) { conn.close(); return }
    const peer = new RpcPeer(conn, {
      handlers: handlersFor(node),
      onProtocolError: err => runtime.log.warn(`${conn.label}: ${err.message}`),
      ...(opts.observe === undefined ? {} : { observe: { served: opts.observe } })
    })
    peers.add(peer)
    peer.onClose(() => peers.delete(peer))
  })
  try {
    await opts.beforeStart?.()
    const { resumed, unreadable } = await node.start()
    for (const u of unreadable) runtime.log.warn(`workflow file ${u.file} is unreadable and was left in place: ${u.reason}`)
    if (resumed > 0) runtime.log.info(`resumed ${resumed} unfinished workflow(s)`)
  } catch (err) {
    await opts.beforeStop?.().catch(() => {})
    await listener.close()
    throw err
  }
  ready = true
  let closing: Promise<void> | null = null
  return {
    node,
    close: () => {
      closing ??= (async () => {
        await opts.beforeStop?.()
        await listener.close()
        for (const p of peers) p.close()
        await node.stop()
      })()
      return closing
    }
  }
}
