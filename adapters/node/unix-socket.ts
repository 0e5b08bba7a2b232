// The node's local endpoint: a Unix socket in its data dir, reachable by its owner only.
import net from 'node:net'
import fs from 'node:fs/promises'
import type { Connection } from '../../core/ports.js'
import { SeError } from '../../core/errors.js'

export function socketConnection (socket: net.Socket, label: string): Connection {
  // Errors surface as 'close'; without a listener a reset peer would crash the node.
  socket.on('error', () => {})
  return {
    label,
    write: data => { if (!socket.destroyed) socket.write(data) },
    onData: listener => { socket.on('data', listener) },
    onClose: listener => { socket.on('close', () => listener()) },
    close: () => { socket.destroy() }
  }
}

/** How long a stopping node waits for connected clients to hang up before it cuts them. */
const CLIENT_HANG_UP_MS = 500

export interface UnixServer { close (): Promise<void> }

export async function listenUnix (socketPath: string, onConnection: (conn: Connection) => void): Promise<UnixServer> {
  await removeStaleSocket(socketPath)
  let clients = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    onConnection(socketConnection(socket, `local client ${++clients}`))
  })
  const previous = process.umask(0o177)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socketPath, () => { server.off('error', reject); resolve() })
    })
  } finally {
    process.umask(previous)
  }
  return {
    close: async () => {
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      // A client that has its answer hangs up by itself: give it a moment, so a
      // `podman exec … se approve` that ends a container's workflow is not killed
      // with the container before it exits. The rest are cut.
      const hungUp = [...sockets].map(async s => await new Promise<void>(resolve => s.once('close', () => resolve())))
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([Promise.all(hungUp), new Promise<void>(resolve => { timer = setTimeout(resolve, CLIENT_HANG_UP_MS) })])
      clearTimeout(timer)
      for (const s of sockets) s.destroy()
      await closed
    }
  }
}

export function connectUnix (socketPath: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socketConnection(socket, 'node'))
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new SeError('NO_NODE', `no node is running at ${socketPath}`, { hint: 'start one with `se node start` (or pass --data-dir / SE_DATA_DIR to reach another)' }))
      } else {
        reject(new SeError('NO_NODE', `cannot reach the node at ${socketPath}: ${err.message}`))
      }
    })
  })
}

// A socket file left by a node that died is removed; one that answers belongs to a live node.
async function removeStaleSocket (socketPath: string): Promise<void> {
  try {
    await fs.stat(socketPath)
  } catch {
    return
  }
  const alive = await new Promise<boolean>(resolve => {
    const probe = net.connect(socketPath)
    probe.once('connect', () => { probe.destroy(); resolve(true) })
    probe.once('error', () => resolve(false))
  })
  if (alive) throw new SeError('NODE_RUNNING', `a node is already running on ${socketPath}`, { hint: 'use that node, or give this one another --data-dir' })
  await fs.rm(socketPath, { force: true })
}
