// The node's local endpoint on Bare: a Unix socket (bare-pipe) in its data dir,
// the same path and protocol as on Node, so the `se` CLI reaches either, and
// bounded the same way: so many connections (SE_MAX_CONNECTIONS), so long to
// finish a frame begun (SE_FRAME_TIMEOUT_MS), refusals counted as port `unix`.
import env from 'bare-env'
import fs from 'bare-fs'
import Pipe from 'bare-pipe'
import type { Connection } from '../../core/ports.js'
import type { LocalListener } from '../../core/node/local-endpoint.js'
import { SeError } from '../../core/errors.js'
import { listenerLimitsFrom, type ListenerLimits } from '../../core/access/listener-limits.js'
import { REJECTIONS, type RejectionTally } from '../../core/metrics/rejections.js'

function pipeConnection (pipe: InstanceType<typeof Pipe>, label: string, frameDeadlineMs: number, rejected: (reason: string) => void): Connection {
  // Errors surface as 'close'; without a listener a reset client would crash the node.
  pipe.on('error', () => {})
  return {
    label,
    write: data => { if (!pipe.destroyed) pipe.write(data as never) },
    onData: listener => { pipe.on('data', (data: unknown) => listener(data as Uint8Array)) },
    onClose: listener => { pipe.on('close', () => listener()) },
    close: () => { pipe.destroy() },
    frameDeadlineMs,
    rejected
  }
}

export async function listenLocal (socketPath: string, onConnection: (conn: Connection) => void, opts: { limits?: ListenerLimits, tally?: RejectionTally } = {}): Promise<LocalListener> {
  const { limits = listenerLimitsFrom(name => (env as Record<string, string | undefined>)[name]), tally = REJECTIONS } = opts
  await removeStaleSocket(socketPath)
  let clients = 0
  const pipes = new Set<InstanceType<typeof Pipe>>()
  const server = Pipe.createServer({ allowHalfOpen: false }, pipe => {
    pipe.on('error', () => {})
    // bare-pipe has no maxConnections: one past the cap is closed as it arrives.
    if (pipes.size >= limits.maxConnections) {
      tally.reject('unix', 'too_many_connections')
      pipe.destroy()
      return
    }
    pipes.add(pipe)
    pipe.on('close', () => pipes.delete(pipe))
    onConnection(pipeConnection(pipe, `local client ${++clients}`, limits.frameTimeoutMs, reason => tally.rejectOnce(pipe, 'unix', reason)))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => { server.off('error', reject); resolve() })
  })
  // Once listening, an error accepting one connection must not stop the node.
  server.on('error', () => {})
  // Bare has no umask to set first; the data dir is the owner's alone (0700) in any case.
  try { fs.chmodSync(socketPath, 0o600) } catch {}
  return {
    close: async () => {
      await new Promise<void>(resolve => {
        server.close(() => resolve())
        for (const p of pipes) p.destroy()
      })
    }
  }
}

// A socket file left by a node that died is removed; one that answers belongs to a live node.
async function removeStaleSocket (socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return
  const alive = await new Promise<boolean>(resolve => {
    const probe = Pipe.createConnection(socketPath)
    probe.once('connect', () => { probe.destroy(); resolve(true) })
    probe.once('error', () => resolve(false))
  })
  if (alive) throw SeError.nodeRunningOnSocket(socketPath)
  fs.rmSync(socketPath, { force: true })
}
