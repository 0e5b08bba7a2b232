// The Bare node's HTTP port (`--http`) on bare-http1: health and /metrics for
// fleets scraped by Prometheus, answered by the same core HttpApi as on Node.
// No route here takes a body: what a client sends with a request is read and dropped.
import http from 'bare-http1'
import b4a from 'b4a'
import type { HttpApi } from '../../core/http/api.js'
import { problem } from '../../core/http/problem.js'
import type { HttpRequest, HttpResponse } from '../../core/http/types.js'
import type { NodeMetrics, RpcObserver } from '../../core/metrics/node-metrics.js'
import type { ListenerLimits } from '../../core/access/listener-limits.js'
import { SeError } from '../../core/errors.js'

export interface BareHttpOptions {
  host: string
  port: number
  api: HttpApi
  metrics: NodeMetrics
  limits: ListenerLimits
  log: { warn (message: string): void }
}

export interface BareHttpListener {
  /** host:port actually bound (port 0 picks one). */
  address: string
  close (): Promise<void>
}

export async function listenBareHttp (opts: BareHttpOptions): Promise<BareHttpListener> {
  const observe = opts.metrics.rpcObserver('http')
  const server = http.createServer({ headersTimeout: opts.limits.headersTimeoutMs, requestTimeout: opts.limits.requestTimeoutMs }, (req, res) => {
    serve(req, res, opts, observe).catch((err: unknown) => {
      opts.log.warn(`http ${req.method} ${req.url} failed: ${err instanceof Error ? err.message : String(err)}`)
      write(res, req.method, problem(500, 'INTERNAL', 'the node could not answer this request; its log says why'))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error & { code?: string }) => reject(err.code === 'EADDRINUSE' ? SeError.addressInUse('--http', opts.host, opts.port, err) : err))
    server.listen(opts.port, opts.host, () => resolve())
  })
  server.on('error', (err: Error) => opts.log.warn(`http: ${err.message}`))
  const bound = server.address() as { address: string, port: number }
  let closing: Promise<void> | null = null
  return {
    address: `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () => {
      closing ??= new Promise<void>(resolve => {
        opts.api.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    }
  }
}

async function serve (req: http.IncomingMessage, res: http.ServerResponse, opts: BareHttpOptions, observe: RpcObserver): Promise<void> {
  const began = Date.now()
  const [path = '/', search = ''] = req.url.split('?', 2)
  const request: HttpRequest = {
    method: req.method,
    path,
    query: queryOf(search),
    header: name => { const v = req.headers[name.toLowerCase()]; return Array.isArray(v) ? v[0] : v === undefined ? undefined : String(v) },
    body: null
  }
  req.on('error', () => {})
  req.resume()
  const route = opts.api.routeOf(request)
  const response = await opts.api.handle(request)
  write(res, req.method, response)
  opts.metrics.httpRequest(req.method, route, response.status)
  observe(route, (Date.now() - began) / 1000, response.status < 400 ? 'ok' : 'error')
}

function write (res: http.ServerResponse, method: string, r: HttpResponse): void {
  if (res.headersSent) return
  const body = b4a.from(r.text ?? (r.json === undefined ? '' : JSON.stringify(r.json) + '\n'))
  res.writeHead(r.status, { 'content-type': r.text === undefined ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', ...r.headers, 'content-length': String(body.byteLength) })
  res.end(method === 'HEAD' ? undefined : body)
}

function queryOf (search: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const pair of search.split('&')) {
    if (pair === '') continue
    const [k = '', v = ''] = pair.split('=', 2)
    try { (out[decodeURIComponent(k.replace(/\+/g, ' '))] ??= []).push(decodeURIComponent(v.replace(/\+/g, ' '))) } catch {}
  }
  return out
}
