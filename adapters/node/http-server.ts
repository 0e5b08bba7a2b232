// The node's HTTP front end on node:http: reads bounded bodies, hands requests
// to core's HttpApi, writes its answers, and keeps server-sent event streams open.
// Whatever a client sends or leaves unsent, the cost is its own connection:
// every request, response and socket error is handled here, each client has
// deadlines for its headers and its whole request, the port takes so many
// connections, and each connection cut for what its client did is counted in
// se_rejected_connections_total.
import http from 'node:http'
import type net from 'node:net'
import { HttpApi } from '../../core/http/api.js'
import { PROBLEM_CONTENT_TYPE, problem, problemBody } from '../../core/http/problem.js'
import type { EventStream, HttpRequest, HttpResponse } from '../../core/http/types.js'
import type { AccessTokens } from '../../core/access/tokens.js'
import type { NodeMetrics } from '../../core/metrics/node-metrics.js'
import { DEFAULT_LISTENER_LIMITS, DISCARD_BODY_MS, type ListenerLimits } from '../../core/access/listener-limits.js'
import { REJECTIONS, type RejectedPort, type RejectionTally } from '../../core/metrics/rejections.js'
import { SeError } from '../../core/errors.js'

/** Keeps proxies and load balancers from closing an idle event stream. */
const EVENT_KEEPALIVE_MS = 15_000
/** An event stream whose client reads nothing is ended once this much waits to be sent to it. */
const EVENT_BACKLOG_BYTES = 1024 * 1024
/** How often node:http looks for clients past their deadlines, at most (its default is 30 s). */
const MAX_CHECK_INTERVAL_MS = 1000

export type AvroHttpHandler = (req: http.IncomingMessage, res: http.ServerResponse, user: string) => void

export interface HttpServerOptions {
  host: string
  port: number
  api: HttpApi
  tokens: AccessTokens
  metrics: NodeMetrics
  maxBodyBytes: number
  /** Serves Avro IPC (Avro's HTTP transport) at POST /avro. */
  avro?: AvroHttpHandler
  log: { warn (message: string): void }
  limits?: ListenerLimits
  tally?: RejectionTally
}

export interface HttpListener {
  /** host:port actually bound (port 0 picks one). */
  address: string
  port: number
  close (): Promise<void>
}

interface Context {
  opts: HttpServerOptions
  tally: RejectionTally
  streams: Set<() => void>
  /** The request each connection is receiving, while its body is still coming. */
  receiving: WeakMap<net.Socket, http.IncomingMessage>
}

export async function listenHttp (opts: HttpServerOptions): Promise<HttpListener> {
  const limits = opts.limits ?? DEFAULT_LISTENER_LIMITS
  const ctx: Context = { opts, tally: opts.tally ?? REJECTIONS, streams: new Set(), receiving: new WeakMap() }
  // Event streams are exempt from the request deadline: their request ended before the stream began.
  const server = http.createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(limits.headersTimeoutMs / 4)))
  }, (req, res) => { accept(req, res, ctx) })
  server.maxConnections = limits.maxConnections
  server.on('drop', () => ctx.tally.reject('http', 'too_many_connections'))
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => { clientError(err, socket, ctx) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', err => {
      const code = (err as NodeJS.ErrnoException).code
      reject(code === 'EADDRINUSE' ? SeError.addressInUse('--http', opts.host, opts.port, err) : code === 'EADDRNOTAVAIL' ? SeError.noSuchAddress('--http', opts.host, opts.port, err) : err)
    })
    server.listen(opts.port, opts.host, () => resolve())
  })
  // Once listening, an error accepting one connection (EMFILE) must not stop the node.
  server.on('error', err => opts.log.warn(`http: ${err.message}`))
  const bound = server.address() as { address: string, port: number }
  let closing: Promise<void> | null = null
  return {
    address: `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`,
    port: bound.port,
    close: () => {
      closing ??= new Promise<void>(resolve => {
        for (const end of ctx.streams) end()
        opts.api.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    }
  }
}

function portOf (req: http.IncomingMessage): RejectedPort {
  return req.url === '/avro' || req.url?.startsWith('/avro?') === true ? 'avro-http' : 'http'
}

/** Every request starts here: its errors are caught before anything can throw them. */
function accept (req: http.IncomingMessage, res: http.ServerResponse, ctx: Context): void {
  const socket = req.socket
  if (!req.complete) {
    ctx.receiving.set(socket, req)
    req.once('end', () => { if (ctx.receiving.get(socket) === req) ctx.receiving.delete(socket) })
  }
  // A client gone mid-body (or cut at its deadline) destroys the request with 'aborted'.
  req.on('error', () => { ctx.tally.rejectOnce(socket, portOf(req), 'aborted') })
  // Writing to a connection the client has just closed; nothing to tell anyone.
  res.on('error', () => {})
  serve(req, res, ctx).catch((err: unknown) => {
    ctx.opts.log.warn(`http ${req.method ?? '?'} ${req.url ?? '?'} failed: ${err instanceof Error ? err.message : String(err)}`)
    if (res.headersSent || res.destroyed) { res.destroy(); return }
    write(res, req.method ?? 'GET', problem(500, 'INTERNAL', 'the node could not answer this request; its log says why'))
    discardBody(req)
  })
}

/** A connection node:http gave up on: a malformed request, a deadline passed, a reset. */
function clientError (err: NodeJS.ErrnoException, socket: net.Socket, ctx: Context): void {
  const req = ctx.receiving.get(socket)
  const port = req === undefined ? 'http' : portOf(req)
  const reason = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? (req !== undefined && !req.complete ? 'body_timeout' : 'header_timeout')
    : err.code === 'HPE_HEADER_OVERFLOW' ? 'header_too_large'
      // A client that hangs up mid-request leaves the parser at an unexpected end of input.
      : err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'HPE_INVALID_EOF_STATE' ? 'aborted' : 'bad_request'
  ctx.tally.rejectOnce(socket, port, reason)
  // Answer only where no answer has begun on this connection, as node:http itself does.
  const inFlight = (socket as net.Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage
  if (reason !== 'aborted' && socket.writable && (inFlight == null || !inFlight.headersSent)) {
    const status = reason === 'header_too_large' ? 431 : reason === 'bad_request' ? 400 : 408
    const why = reason === 'header_too_large' ? 'the request headers are too large' : reason === 'bad_request' ? `the request is not valid HTTP/1.1 (${err.code ?? err.message})` : 'the request did not arrive in time'
    const body = JSON.stringify(problemBody(status, reason.toUpperCase(), why)) + '\n'
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

async function serve (req: http.IncomingMessage, res: http.ServerResponse, ctx: Context): Promise<void> {
  const { opts } = ctx
  const began = Date.now()
  const method = req.method ?? 'GET'
  const finish = (route: string): void => {
    res.once('finish', () => {
      opts.metrics.httpRequest(method, route, res.statusCode)
      opts.metrics.rpcObserver('http')(route, (Date.now() - began) / 1000, res.statusCode < 400 ? 'ok' : 'error')
    })
  }
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://node')
  } catch {
    finish('unmatched')
    write(res, method, problem(400, 'BAD_REQUEST', 'the request target is not a valid path', { hint: 'send a path such as /api/v1/workflows' }))
    discardBody(req)
    return
  }
  if (url.pathname === '/avro') {
    finish('/avro')
    serveAvro(req, res, opts)
    return
  }
  const request: HttpRequest = {
    method,
    path: url.pathname,
    query: queryOf(url),
    header: name => { const v = req.headers[name.toLowerCase()]; return Array.isArray(v) ? v[0] : v },
    body: null
  }
  finish(opts.api.routeOf(request))
  if (method === 'POST' || method === 'PUT') {
    const type = request.header('content-type')
    if (type !== undefined && !/^application\/json\b/i.test(type)) {
      write(res, method, problem(415, 'UNSUPPORTED_MEDIA_TYPE', `the body is ${type}; this API takes application/json`, { hint: 'send Content-Type: application/json' }))
      discardBody(req)
      return
    }
    const body = await readBody(req, opts.maxBodyBytes)
    // The client went away mid-body: nobody is left to answer (counted as aborted above).
    if (body === 'aborted') return
    if (body === 'too large') {
      write(res, method, problem(413, 'PAYLOAD_TOO_LARGE', `the body is larger than this node's limit of ${opts.maxBodyBytes} bytes`, { hint: 'raise it with SE_HTTP_MAX_BODY on the node' }))
      discardBody(req)
      return
    }
    request.body = body
  } else {
    req.resume()
  }
  const response = await opts.api.handle(request)
  if (res.destroyed) return
  if (response.events !== undefined && response.status === 200) {
    openEventStream(req, res, response.events, ctx.streams)
    return
  }
  write(res, method, response)
}

function serveAvro (req: http.IncomingMessage, res: http.ServerResponse, opts: HttpServerOptions): void {
  const refuse = (r: HttpResponse): void => { write(res, req.method ?? 'POST', r); discardBody(req) }
  if (opts.avro === undefined) { refuse(problem(404, 'NOT_FOUND', 'this node does not serve Avro IPC over HTTP')); return }
  if (req.method !== 'POST') { refuse(problem(405, 'METHOD_NOT_ALLOWED', 'Avro IPC over HTTP takes POST', { headers: { allow: 'POST' } })); return }
  const user = opts.tokens.userOfHeader(req.headers.authorization)
  if (user === null) {
    refuse(problem(401, 'UNAUTHENTICATED', 'a valid bearer token is required', { headers: { 'www-authenticate': 'Bearer realm="se-node"' } }))
    return
  }
  const length = Number(req.headers['content-length'] ?? 0)
  if (length > opts.maxBodyBytes) { refuse(problem(413, 'PAYLOAD_TOO_LARGE', `the body is larger than this node's limit of ${opts.maxBodyBytes} bytes`)); return }
  opts.avro(req, res, user)
}

function openEventStream (req: http.IncomingMessage, res: http.ServerResponse, attach: (s: EventStream) => void, streams: Set<() => void>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
  res.write(': se-node event stream\n\n')
  const listeners: Array<() => void> = []
  let open = true
  const end = (): void => {
    if (!open) return
    open = false
    clearInterval(keepalive)
    streams.delete(end)
    for (const l of listeners.splice(0)) l()
    res.end()
  }
  // A client that stops reading would have the node buffer its events for ever.
  const send = (text: string): void => {
    if (!open) return
    if (res.writableLength > EVENT_BACKLOG_BYTES) { end(); res.destroy(); return }
    res.write(text)
  }
  const keepalive = setInterval(() => send(': keepalive\n\n'), EVENT_KEEPALIVE_MS)
  streams.add(end)
  req.on('close', end)
  res.on('close', end)
  attach({
    send: (event, data, id) => send(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    onClose: listener => { if (open) listeners.push(listener); else listener() }
  })
}

function write (res: http.ServerResponse, method: string, r: HttpResponse): void {
  if (res.headersSent || res.destroyed) return
  const body = r.text ?? (r.json === undefined ? '' : JSON.stringify(r.json) + '\n')
  const headers: Record<string, string> = { 'content-type': r.text === undefined ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', ...r.headers, 'content-length': String(Buffer.byteLength(body)) }
  res.writeHead(r.status, headers)
  res.end(method === 'HEAD' ? undefined : body)
}

/**
 * After an answer given without reading the body: read and drop the rest, so the client
 * sees the answer (closing on unread bytes resets the connection, and a client still
 * writing loses the answer with it), but for DISCARD_BODY_MS at most.
 */
export function discardBody (req: http.IncomingMessage, tally: RejectionTally = REJECTIONS): void {
  if (req.complete) return
  const timer = setTimeout(() => {
    tally.rejectOnce(req.socket, portOf(req), 'body_timeout')
    req.socket.destroy()
  }, DISCARD_BODY_MS)
  timer.unref()
  const done = (): void => clearTimeout(timer)
  req.once('end', done)
  req.once('close', done)
  req.socket.once('close', done)
  req.resume()
}

/** The whole body; 'too large' as soon as it passes the limit (the rest is not read); 'aborted' when the client goes first. */
async function readBody (req: http.IncomingMessage, max: number): Promise<Uint8Array | 'too large' | 'aborted'> {
  if (Number(req.headers['content-length'] ?? 0) > max) return 'too large'
  return await new Promise(resolve => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength
      if (size <= max) { chunks.push(chunk); return }
      req.off('data', onData)
      req.pause()
      resolve('too large')
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks)))
    req.once('error', () => resolve('aborted'))
    req.once('close', () => { if (!req.complete) resolve('aborted') })
  })
}

function queryOf (url: URL): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [k, v] of url.searchParams) (out[k] ??= []).push(v)
  return out
}
