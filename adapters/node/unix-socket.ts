// The node's local endpoint: a Unix socket in its data dir, reachable by its owner only.
// Even so, a client gets so many connections (SE_MAX_CONNECTIONS) and so long to
// finish a frame it began (SE_FRAME_TIMEOUT_MS); connections cut for what their
// client did are counted as port `unix` in se_rejected_connections_total.
import net from 'node:net'
import fs from 'node:fs/promises'
import type { Connection } from '../../core/ports.js'
import { SeError } from '../../core/errors.js'
import { listenerLimitsFrom, type ListenerLimits } from '../../core/access/listener-limits.js'
import { REJECTIONS, type RejectionTally } from '../../core/metrics/rejections.js'

/** How long a closed connection may take to flush what was written to it before it is cut. */
const CLOSE_FLUSH_MS = 200

/** `guard` is set for the node's side of a connection: the frame deadline, and where refusals are counted. */
export function socketConnection (socket: net.Socket, label: string, guard: { frameDeadlineMs: number, rejected (reason: string): void } | null = null): Connection {
  // Errors surface as 'close'; without a listener a reset peer would crash the node.
  socket.on('error', () => {})
  return {
    label,
    write: data => { if (!socket.destroyed) socket.write(data) },
    onData: listener => { socket.on('data', listener) },
    onClose: listener => { socket.on('close', () => listener()) },
    close: () => { if (guard === null) socket.destroy(); else closeFlushed(socket) },
    ...(guard === null ? {} : { frameDeadlineMs: guard.frameDeadlineMs, rejected: guard.rejected })
  }
}

/** The node's side: what was written last (the error that explains a refusal) goes out first; a client that does not read is cut anyway. */
function closeFlushed (socket: net.Socket): void {
  if (socket.destroyed) return
  socket.end()
  const timer = setTimeout(() => socket.destroy(), CLOSE_FLUSH_MS)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
}

/** How long a stopping node waits for connected clients to hang up before it cuts them. */
const CLIENT_HANG_UP_MS = 500

export interface UnixServer { close (): Promise<void> }

export interface UnixListenOptions {
  limits?: ListenerLimits
  tally?: RejectionTally
  log?: { warn (message: string): void }
}

export async function listenUnix (socketPath: string, onConnection: (conn: Connection) => void, opts: UnixListenOptions = {}): Promise<UnixServer> {
  const { limits = listenerLimitsFrom(name => process.env[name]), tally = REJECTIONS } = opts
  await removeStaleSocket(socketPath)
  let clients = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    onConnection(socketConnection(socket, `local client ${++clients}`, { frameDeadlineMs: limits.frameTimeoutMs, rejected: reason => tally.rejectOnce(socket, 'unix', reason) }))
  })
  // Connections past the cap are closed by node:net as they arrive.
  server.maxConnections = limits.maxConnections
  server.on('drop', () => tally.reject('unix', 'too_many_connections'))
  const previous = process.umask(0o177)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socketPath, () => { server.off('error', reject); resolve() })
    })
  } finally {
    process.umask(previous)
  }
  // Once listening, an error accepting one connection (EMFILE) must not stop the node.
  server.on('error', err => opts.log?.warn(`local socket: ${err.message}`))
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
        reject(SeError.noNodeAt(socketPath))
      } else {
        reject(SeError.cannotReachNode(socketPath, err))
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
  if (alive) throw SeError.nodeRunningOnSocket(socketPath)
  await fs.rm(socketPath, { force: true })
}
