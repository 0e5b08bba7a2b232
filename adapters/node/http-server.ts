// The node's HTTP front end on node:http: reads bounded bodies, hands requests
// to core's HttpApi, writes its answers, and keeps server-sent event streams open.
import http from 'node:http'
import { HttpApi } from '../../core/http/api.js'
import { problem } from '../../core/http/problem.js'
import type { EventStream, HttpRequest, HttpResponse } from '../../core/http/types.js'
import type { AccessTokens } from '../../core/access/tokens.js'
import type { NodeMetrics } from '../../core/metrics/node-metrics.js'
import { SeError } from '../../core/errors.js'

/** Keeps proxies and load balancers from closing an idle event stream. */
const EVENT_KEEPALIVE_MS = 15_000
/** How long a refused request's remaining body is read and dropped before the connection is cut. */
const DISCARD_BODY_MS = 5_000

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
}

export interface HttpListener {
  /** host:port actually bound (port 0 picks one). */
  address: string
  port: number
  close (): Promise<void>
}

export async function listenHttp (opts: HttpServerOptions): Promise<HttpListener> {
  const streams = new Set<() => void>()
  const server = http.createServer((req, res) => { void serve(req, res, opts, streams) })
  // A slow client must not hold a socket forever; event streams are exempt as they carry keepalives.
  server.headersTimeout = 10_000
  server.requestTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', err => {
      const code = (err as NodeJS.ErrnoException).code
      reject(code === 'EADDRINUSE' ? SeError.badInput(`--http ${opts.host}:${opts.port}: that address is already in use`) : code === 'EADDRNOTAVAIL' ? SeError.badInput(`--http ${opts.host}:${opts.port}: this machine has no such address`) : err)
    })
    server.listen(opts.port, opts.host, () => resolve())
  })
  const bound = server.address() as { address: string, port: number }
  let closing: Promise<void> | null = null
  return {
    address: `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`,
    port: bound.port,
    close: () => {
      closing ??= new Promise<void>(resolve => {
        for (const end of streams) end()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    }
  }
}

async function serve (req: http.IncomingMessage, res: http.ServerResponse, opts: HttpServerOptions, streams: Set<() => void>): Promise<void> {
  const began = Date.now()
  const url = new URL(req.url ?? '/', 'http://node')
  const method = req.method ?? 'GET'
  const finish = (route: string): void => {
    res.once('finish', () => {
      opts.metrics.httpRequest(method, route, res.statusCode)
      opts.metrics.rpcObserver('http')(route, (Date.now() - began) / 1000, res.statusCode < 400 ? 'ok' : 'error')
    })
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
  if (response.events !== undefined && response.status === 200) {
    openEventStream(req, res, response.events, streams)
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
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), EVENT_KEEPALIVE_MS)
  const end = (): void => {
    if (!open) return
    open = false
    clearInterval(keepalive)
    streams.delete(end)
    for (const l of listeners.splice(0)) l()
    res.end()
  }
  streams.add(end)
  req.on('close', end)
  attach({
    send: (event, data) => { if (open) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) },
    onClose: listener => { if (open) listeners.push(listener); else listener() }
  })
}

function write (res: http.ServerResponse, method: string, r: HttpResponse): void {
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
export function discardBody (req: http.IncomingMessage): void {
  if (req.complete) return
  const timer = setTimeout(() => req.socket.destroy(), DISCARD_BODY_MS)
  timer.unref()
  const done = (): void => clearTimeout(timer)
  req.once('end', done)
  req.socket.once('close', done)
  req.resume()
}

/** The whole body, or 'too large' as soon as it passes the limit (the rest is not read). */
async function readBody (req: http.IncomingMessage, max: number): Promise<Uint8Array | 'too large'> {
  if (Number(req.headers['content-length'] ?? 0) > max) return 'too large'
  return await new Promise((resolve, reject) => {
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
    req.once('error', reject)
  })
}

function queryOf (url: URL): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [k, v] of url.searchParams) (out[k] ??= []).push(v)
  return out
}
