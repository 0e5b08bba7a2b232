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
  // Claim the data dir first: a second node on it must fail before it touches its files or its socket.
  await node.claim()
  const peers = new Set<RpcPeer>()
  const serve = (conn: Connection): void => {
    const peer = new RpcPeer(conn, {
      handlers: handlersFor(node),
      onProtocolError: err => runtime.log.warn(`${conn.label}: ${err.message}`),
      ...(opts.observe === undefined ? {} : { observe: { served: opts.observe } })
    })
    peers.add(peer)
    peer.onClose(() => peers.delete(peer))
  }
  // A client that connects while the node recovers waits for it (its bytes stay in the
  // socket until then) instead of being cut off and having to guess why.
  let waiting: Connection[] | null = []
  let listener: LocalListener
  try {
    listener = await listen(conn => {
      if (waiting === null) { serve(conn); return }
      waiting.push(conn)
      conn.onClose(() => { waiting = waiting?.filter(c => c !== conn) ?? null })
    })
  } catch (err) {
    await node.release()
    throw err
  }
  try {
    await opts.beforeStart?.()
    const { resumed, unreadable } = await node.start()
    for (const u of unreadable) runtime.log.warn(`workflow file ${u.file} is unreadable and was left in place: ${u.reason}`)
    if (resumed > 0) runtime.log.info(`resumed ${resumed} unfinished workflow(s)`)
  } catch (err) {
    for (const conn of waiting ?? []) conn.close()
    waiting = null
    await opts.beforeStop?.().catch(() => {})
    await listener.close()
    await node.release()
    throw err
  }
  const held = waiting
  waiting = null
  for (const conn of held) serve(conn)
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
