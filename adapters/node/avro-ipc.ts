// Avro IPC to the Apache Avro specification, by avsc's own implementation
// (handshake with protocol MD5s, schema resolution for older clients): statelessly
// over HTTP (framed buffers, one call per POST, as Avro's HTTPTransceiver sends) and
// statefully over TCP (the Netty framing Java's NettyTransceiver speaks).
// Every call needs a bearer token: over HTTP in the Authorization header (checked
// by the HTTP server before it calls us), over TCP in the call's metadata under
// `authorization`. The bytes are framed by our own bounded readers
// (core/protocol/avro-frames.ts) and decoded by avsc behind core/protocol/avsc-guard.ts.
import net from 'node:net'
import type http from 'node:http'
import { SeError } from '../../core/errors.js'
import { DEFAULT_MAX_BODY_BYTES } from '../../core/access/front-end-settings.js'
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../../core/access/listener-limits.js'
import { REJECTIONS, type RejectionTally } from '../../core/metrics/rejections.js'
import { nodeServer, type NodeServerOptions } from './avro-ipc/node-server.js'
import { serveAvroExchange } from './avro-ipc/http-exchange.js'
import { serveAvroSocket } from './avro-ipc/tcp-connection.js'
import { discardBody } from './http-server.js'

export type AvroIpcOptions = NodeServerOptions & {
  /** Largest message (all its buffers) a client may send; SE_HTTP_MAX_BODY's default. */
  maxBodyBytes?: number
  limits?: ListenerLimits
  tally?: RejectionTally
}

export interface AvroTcpListener { port: number, close (): Promise<void> }

/** Serves one Avro IPC exchange on an HTTP request the caller has already authenticated as `user`. */
export function avroHttpHandler (opts: AvroIpcOptions): (req: http.IncomingMessage, res: http.ServerResponse, user: string) => void {
  const { maxBodyBytes = DEFAULT_MAX_BODY_BYTES, tally = REJECTIONS } = opts
  const users = new WeakMap<object, string>()
  const server = nodeServer(opts, 'avro-http', channel => users.get(channel) ?? null)
  return (req, res, user) => {
    serveAvroExchange(req, res, server, { maxBodyBytes, tally, log: opts.log, discardBody }, channel => users.set(channel, user))
  }
}

/** A TCP server with one stateful Avro IPC channel per connection; `port` 0 picks a free one. */
export async function listenAvroTcp (opts: AvroIpcOptions & { host: string, port: number }): Promise<AvroTcpListener> {
  const { maxBodyBytes = DEFAULT_MAX_BODY_BYTES, limits = DEFAULT_LISTENER_LIMITS, tally = REJECTIONS } = opts
  const server = nodeServer(opts, 'avro-tcp', () => null)
  const sockets = new Set<net.Socket>()
  const tcp = net.createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    serveAvroSocket(socket, server, { limits, maxMessageBytes: maxBodyBytes, tally, log: opts.log })
  })
  // Connections past the cap are closed by node:net as they arrive.
  tcp.maxConnections = limits.maxConnections
  tcp.on('drop', () => tally.reject('avro-tcp', 'too_many_connections'))
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', err => reject((err as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? SeError.addressInUse('--avro-tcp', opts.host, opts.port, err, 'pick another port, or stop what listens there')
      : err))
    tcp.listen(opts.port, opts.host, () => resolve())
  })
  // Once listening, an error accepting one connection (EMFILE) must not stop the node.
  tcp.on('error', err => opts.log.warn(`avro ipc on tcp: ${err.message}`))
  let closing: Promise<void> | null = null
  return {
    port: (tcp.address() as net.AddressInfo).port,
    close: () => {
      closing ??= new Promise<void>(resolve => {
        for (const s of sockets) s.destroy()
        tcp.close(() => resolve())
      })
      return closing
    }
  }
}
