// Avro IPC to the Apache Avro specification, by avsc's own implementation
// (handshake with protocol MD5s, schema resolution for older clients): statelessly
// over HTTP (framed buffers, one call per POST, as Avro's HTTPTransceiver sends) and
// statefully over TCP (the Netty framing Java's NettyTransceiver speaks).
// Every call needs a bearer token: over HTTP in the Authorization header, over
// TCP in the call's metadata under `authorization`.
import net from 'node:net'
import type http from 'node:http'
import avro from 'avsc'
import { SeError, toSeError } from '../../core/errors.js'
import { PUBLIC_MESSAGES, nodeProtocolAvpr } from '../../core/protocol/avpr.js'
import type { AccessTokens } from '../../core/access/tokens.js'
import type { Command, NodeApi } from '../../core/protocol/types.js'
import type { Logger } from '../../core/ports.js'

export interface AvroIpcOptions {
  api: NodeApi
  tokens: AccessTokens
  /** Commands network clients may run; null means none. */
  allowedCommands (): string[] | null
  log: Logger
}

export interface AvroTcpListener { port: number, close (): Promise<void> }

type Channel = object

/** How long after its body ends an HTTP request may go without framing a call. */
const UNFRAMED_BODY_MS = 250
/** TCP connections silent this long are closed; clients reconnect and handshake again. */
const IDLE_CONNECTION_MS = 5 * 60_000
type Callback = (err: unknown, res?: unknown) => void

const SERVICE = avro.Service.forProtocol(nodeProtocolAvpr() as never)

/** Serves one Avro IPC exchange on an HTTP request the caller has already authenticated. */
export function avroHttpHandler (opts: AvroIpcOptions): (req: http.IncomingMessage, res: http.ServerResponse, user: string) => void {
  const users = new WeakMap<Channel, string>()
  const server = serverFor(opts, channel => users.get(channel) ?? null)
  return (req, res, user) => {
    res.setHeader('content-type', 'avro/binary')
    const channel = server.createChannel((cb: (err: unknown, writable: unknown) => void) => { cb(null, res); return req })
    users.set(channel, user)
    const refuse = (why: string): void => {
      opts.log.warn(`avro ipc over http: ${why}`)
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' })
        res.end(JSON.stringify({ error: { code: 'BAD_FRAME', message: why, hint: 'POST Avro IPC framed buffers: a handshake and a call, as Avro\'s HTTPTransceiver sends' } }) + '\n')
      } else res.destroy()
    }
    channel.on('error', (err: Error) => refuse(err.message))
    // A body that never frames a call gets no answer from avsc; say so rather than hang.
    let called = false
    channel.on('incomingCall', () => { called = true })
    channel.on('handshake', () => { called = true })
    req.on('end', () => setTimeout(() => { if (!called) refuse('the body is not a framed Avro IPC request') }, UNFRAMED_BODY_MS))
  }
}

export async function listenAvroTcp (opts: AvroIpcOptions & { host: string, port: number }): Promise<AvroTcpListener> {
  const server = serverFor(opts, () => null)
  const sockets = new Set<net.Socket>()
  const tcp = net.createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // A client that breaks the framing loses its own connection, nothing else.
    socket.on('error', err => opts.log.warn(`avro ipc from ${socket.remoteAddress ?? '?'}: ${err.message}`))
    // A client that sends half a frame and stops would hold the socket forever.
    socket.setTimeout(IDLE_CONNECTION_MS, () => socket.destroy())
    const channel = server.createChannel(socket)
    channel.on('error', (err: Error) => { opts.log.warn(`avro ipc from ${socket.remoteAddress ?? '?'}: ${err.message}`); socket.destroy() })
  })
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', err => reject((err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? SeError.badInput(`--avro-tcp ${opts.host}:${opts.port}: that address is already in use`) : err))
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

function serverFor (opts: AvroIpcOptions, userOfChannel: (channel: Channel) => string | null): any {
  const server = SERVICE.createServer({ silent: true } as never) as any
  server.use(function (this: { channel: Channel }, wreq: { headers: Record<string, Buffer> }, wres: { error?: unknown }, next: () => void) {
    const header = wreq.headers.authorization
    const user = userOfChannel(this.channel) ?? opts.tokens.userOfHeader(header === undefined ? undefined : header.toString('utf8'))
    if (user === null) {
      wres.error = errorValue({
        code: 'UNAUTHENTICATED',
        message: header === undefined ? 'a bearer token is required in the call metadata under `authorization`' : 'the bearer token is not valid for this node',
        hint: 'send metadata authorization = "Bearer TOKEN", a token from the node\'s token file',
        details: []
      })
    }
    next()
  })
  for (const name of PUBLIC_MESSAGES) {
    const params = (SERVICE.message(name) as { requestType: { fields: Array<{ name: string }> } }).requestType.fields.map(f => f.name)
    server.onMessage(name, (req: Record<string, unknown>, cb: Callback) => {
      const method = (opts.api as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name] as (...a: unknown[]) => Promise<unknown>
      Promise.resolve()
        .then(() => { checkCommands(name, req, opts.allowedCommands()) })
        .then(async () => await method.apply(opts.api, params.map(p => req[p])))
        .then(res => cb(null, res), (err: unknown) => cb(errorValue(asError(toSeError(err)))))
    })
  }
  return server
}

function checkCommands (message: string, req: Record<string, unknown>, allowed: string[] | null): void {
  const commands = message === 'execute' ? [req.command as Command] : message === 'executeBatch' ? (req.job as { commands: Command[] }).commands : []
  for (const c of commands) {
    if (allowed === null) throw new SeError('COMMAND_NOT_ALLOWED', 'this node has no command allowlist, so it runs no commands for network clients', { hint: 'list the commands it may run in SE_EXECUTE_ALLOW, e.g. SE_EXECUTE_ALLOW=git,npm' })
    if (!allowed.includes(c.command)) throw new SeError('COMMAND_NOT_ALLOWED', `'${c.command}' is not on this node's command allowlist`, { hint: `allowed: ${allowed.join(', ') || 'nothing'}` })
  }
}

interface ErrorValue { code: string, message: string, hint: string | null, details: Array<{ file: string | null, path: string | null, line: number | null, message: string }> }

/** Code and message as our own RPC carries them; never a stack. */
function asError (err: SeError): ErrorValue {
  return {
    code: err.code,
    message: err.reason,
    hint: err.hint ?? null,
    details: err.details.map(d => ({ file: d.file ?? null, path: d.path ?? null, line: d.line ?? null, message: d.message }))
  }
}

/** The declared error: avsc picks the union branch from the value's shape. */
function errorValue (value: ErrorValue): unknown {
  return value
}
