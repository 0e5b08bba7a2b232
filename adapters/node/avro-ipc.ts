// Avro IPC to the Apache Avro specification, by avsc's own implementation
// (handshake with protocol MD5s, schema resolution for older clients): statelessly
// over HTTP (framed buffers, one call per POST, as Avro's HTTPTransceiver sends) and
// statefully over TCP (the Netty framing Java's NettyTransceiver speaks).
// Every call needs a bearer token: over HTTP in the Authorization header (checked
// by the HTTP server before it calls us), over TCP in the call's metadata under
// `authorization`.
import net from 'node:net'
import { Transform } from 'node:stream'
import type http from 'node:http'
import { SeError } from '../../core/errors.js'
import { nodeServer, type NodeServerOptions } from './avro-ipc/node-server.js'
import { discardBody } from './http-server.js'

export type AvroIpcOptions = NodeServerOptions

export interface AvroTcpListener { port: number, close (): Promise<void> }

/** How long after its body ends an HTTP request may go without framing a call. */
const UNFRAMED_BODY_MS = 250
/** TCP connections silent this long are closed; clients reconnect and handshake again. */
const IDLE_CONNECTION_MS = 5 * 60_000
/** A chunked body has no content-length for the HTTP server to refuse early; the same 1 MiB as SE_HTTP_MAX_BODY's default. */
const MAX_HTTP_BODY_BYTES = 1024 * 1024

/** Serves one Avro IPC exchange on an HTTP request the caller has already authenticated as `user`. */
export function avroHttpHandler (opts: AvroIpcOptions & { maxBodyBytes?: number }): (req: http.IncomingMessage, res: http.ServerResponse, user: string) => void {
  const { maxBodyBytes = MAX_HTTP_BODY_BYTES } = opts
  const users = new WeakMap<object, string>()
  const server = nodeServer(opts, 'avro-http', channel => users.get(channel) ?? null)
  return (req, res, user) => {
    let refused = false
    const refuse = (status: number, code: string, why: string, hint: string): void => {
      if (refused) return
      refused = true
      opts.log.warn(`avro ipc over http from ${req.socket.remoteAddress ?? '?'}: ${why}`)
      if (res.headersSent) { res.destroy(); return }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify({ error: { code, message: why, hint } }) + '\n')
      // The counting stream below drops what follows; the client must get to read this answer.
      discardBody(req)
    }
    let received = 0
    // Counted on the way to avsc (a listener of our own would start the flow before avsc reads).
    const body = req.pipe(new Transform({
      transform (chunk: Buffer, _enc, done) {
        received += chunk.length
        if (received <= maxBodyBytes) { done(null, chunk); return }
        refuse(413, 'PAYLOAD_TOO_LARGE', `the body is larger than this node's limit of ${maxBodyBytes} bytes`, 'send smaller requests')
        done()
      }
    }))
    res.setHeader('content-type', 'avro/binary')
    const channel = server.createChannel((cb: (err: unknown, writable: unknown) => void) => { cb(null, res); return body })
    users.set(channel, user)
    const badFrame = (why: string): void => refuse(400, 'BAD_FRAME', why, 'POST Avro IPC framed buffers: a handshake and a call, as Avro\'s HTTPTransceiver sends')
    channel.on('error', (err: Error) => badFrame(err.message))
    // A body that never frames a call gets no answer from avsc; say so rather than hang.
    let framed = false
    channel.on('incomingCall', () => { framed = true })
    channel.on('handshake', () => { framed = true })
    req.on('end', () => setTimeout(() => { if (!framed) badFrame('the body is not a framed Avro IPC request') }, UNFRAMED_BODY_MS))
  }
}

/** A TCP server with one stateful Avro IPC channel per connection; `port` 0 picks a free one. */
export async function listenAvroTcp (opts: AvroIpcOptions & { host: string, port: number }): Promise<AvroTcpListener> {
  const server = nodeServer(opts, 'avro-tcp', () => null)
  const sockets = new Set<net.Socket>()
  const tcp = net.createServer(socket => {
    const who = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // A client that breaks the framing loses its own connection, nothing else.
    socket.on('error', err => opts.log.warn(`avro ipc from ${who}: ${err.message}`))
    // A client that sends half a frame and stops would hold the socket forever.
    socket.setTimeout(IDLE_CONNECTION_MS, () => socket.destroy())
    const channel = server.createChannel(socket)
    channel.on('error', (err: Error) => { opts.log.warn(`avro ipc from ${who}: ${err.message}; connection dropped`); socket.destroy() })
    // avsc answers bytes that are no handshake request with an error and keeps
    // listening; such a peer is not speaking Avro IPC, so it goes once it has the answer.
    channel.on('handshake', (hreq: unknown) => {
      if (hreq !== undefined) return
      opts.log.warn(`avro ipc from ${who}: the first frame is not an Avro handshake request; connection dropped`)
      setImmediate(() => socket.end(() => socket.destroy()))
    })
  })
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', err => reject((err as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? SeError.badInput(`--avro-tcp ${opts.host}:${opts.port}: that address is already in use`, 'pick another port, or stop what listens there')
      : err))
    tcp.listen(opts.port, opts.host, () => resolve())
  })
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
