// Benchmark 8: what the HTTP API's front end costs (token check, routing, metrics,
// error handling) against a bare node:http handler that asks the same node the
// same question and sends the same JSON, over the same kind of keep-alive connection.
import http from 'node:http'
import { startLocalNode } from '../adapters/node/local-node.js'
import { frontEndConfigFrom } from '../core/access/front-end-settings.js'
import { info, median, now, percentile, quietLogger, tempDir, type Result } from './lib.js'

const N = 1000
const WARMUP = 300
const ROUNDS = 3
const TOKEN = 'bench:' + 'b'.repeat(32)
const us = (msValue: number): string => `${(msValue * 1000).toFixed(0)} µs`

function getter (port: number, path: string, headers: Record<string, string>): { get (): Promise<string>, close (): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  return {
    get: () => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent, headers }, res => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', d => { body += d as string })
        res.on('end', () => res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode ?? '?'} ${body}`)))
      }).on('error', reject)
    }),
    close: () => agent.destroy()
  }
}

async function sample (n: number, fn: () => Promise<unknown>, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const start = now()
    await fn()
    out.push(now() - start)
  }
}

export async function benchHttp (): Promise<Result[]> {
  const dataDir = await tempDir('http')
  const frontEnds = frontEndConfigFrom({ http: '127.0.0.1:0' }, name => name === 'SE_TOKENS' ? TOKEN : undefined)
  const local = await startLocalNode({ dataDir, log: quietLogger, frontEnds })
  const port = Number((local.http as string).split(':').pop())
  const api = getter(port, '/api/v1/nodes', { authorization: `Bearer ${TOKEN.slice(6)}` })
  const body = await api.get()
  const raw = http.createServer((_req, res) => {
    void local.node.listNodes().then(nodes => {
      const text = JSON.stringify(nodes) + '\n'
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) })
      res.end(text)
    })
  })
  await new Promise<void>(resolve => raw.listen(0, '127.0.0.1', resolve))
  const plain = getter((raw.address() as { port: number }).port, '/api/v1/nodes', {})
  try {
    await sample(WARMUP, api.get, [])
    await sample(WARMUP, plain.get, [])
    const viaApi: number[] = []
    const viaRaw: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      await sample(N, plain.get, viaRaw)
      await sample(N, api.get, viaApi)
    }
    const p50 = median(viaApi)
    const rawP50 = median(viaRaw)
    info(`GET /api/v1/nodes, ${Buffer.byteLength(body)} B of JSON, one keep-alive connection; ${ROUNDS}×${N} requests each`)
    info(`api  p50 ${us(p50)}  p99 ${us(percentile(viaApi, 99))};  raw p50 ${us(rawP50)}  p99 ${us(percentile(viaRaw, 99))}`)
    return [{
      name: 'http api request',
      subject: `${us(p50)} p50`,
      baseline: `${us(rawP50)} bare handler`,
      ratio: p50 / rawP50,
      goal: { kind: 'lt', limit: 1.5 },
      note: 'both ask the node for listNodes and send its JSON; the difference is the token check, routing, metrics and error handling'
    }]
  } finally {
    api.close()
    plain.close()
    await new Promise<void>(resolve => raw.close(() => resolve()))
    await local.close()
  }
}
