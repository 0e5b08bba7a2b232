// The network front ends of a node (HTTP API, Avro IPC on TCP), opened together
// and closed together, sharing one set of bearer tokens and one set of limits on
// what a client may hold (SE_MAX_CONNECTIONS, SE_HTTP_*_TIMEOUT_MS, SE_FRAME_TIMEOUT_MS, SE_AVRO_IDLE_MS).
import { HttpApi } from '../../core/http/api.js'
import { httpHostFor, refusalAudit } from '../../core/node/http-host.js'
import { loadTokens } from '../../core/access/token-store.js'
import type { FrontEndConfig } from '../../core/access/front-end-settings.js'
import type { NodeMetrics } from '../../core/metrics/node-metrics.js'
import type { SeNode } from '../../core/node/se-node.js'
import type { Runtime } from '../../core/ports.js'
import { listenHttp } from './http-server.js'
import { timedApi } from '../../core/metrics/timed-api.js'
import { listenerLimitsFrom } from '../../core/access/listener-limits.js'

export interface FrontEnds {
  http: string | null
  avroTcp: string | null
  tokenFile: string | null
  close (): Promise<void>
}

export async function startFrontEnds (node: SeNode, runtime: Runtime, metrics: NodeMetrics, config: FrontEndConfig, where: { dataDir: string, owner: string, workdir: string }): Promise<FrontEnds | null> {
  if (config.http === null && config.avroTcp === null) return null
  const { tokens, file, generated } = await loadTokens(runtime.fs, runtime.crypto, { ...(config.inlineTokens === undefined ? {} : { inline: config.inlineTokens }), ...(config.tokenFile === undefined ? {} : { file: config.tokenFile }), dataDir: where.dataDir, owner: where.owner })
  if (generated) runtime.log.info(`wrote a bearer token for ${tokens.users.join(', ')} to ${file ?? ''} (readable only by you)`)
  const limits = listenerLimitsFrom(name => process.env[name])
  const closers: Array<() => Promise<void>> = []
  const close = async (): Promise<void> => { for (const c of closers.splice(0).reverse()) await c().catch(() => {}) }
  try {
    // avsc's IPC is loaded only by nodes that serve it.
    const avro = await import('./avro-ipc.js')
    const audit = refusalAudit(node, m => runtime.log.warn(m))
    const ipc = (transport: string): Parameters<typeof avro.avroHttpHandler>[0] => ({ api: timedApi(node, metrics.rpcObserver(transport)), tokens, allowedCommands: () => node.allowedCommands, sessionOwner: id => node.sessionOwner(id), policy: () => node.policy, nodeName: () => node.name, audit, log: runtime.log, maxBodyBytes: config.maxBodyBytes, limits })
    let http: string | null = null
    if (config.http !== null) {
      const api = new HttpApi(httpHostFor(node, { tokens, metrics, workdir: where.workdir, log: m => runtime.log.warn(m) }))
      const listener = await listenHttp({ ...config.http, api, tokens, metrics, maxBodyBytes: config.maxBodyBytes, avro: avro.avroHttpHandler(ipc('avro-http')), log: runtime.log, limits })
      closers.push(listener.close)
      http = listener.address
      runtime.log.info(`HTTP API on http://${http}/api/v1 (health /health/live, /health/ready; Prometheus /metrics; Avro IPC POST /avro)`)
    }
    let avroTcp: string | null = null
    if (config.avroTcp !== null) {
      const listener = await avro.listenAvroTcp({ ...ipc('avro-tcp'), ...config.avroTcp })
      closers.push(listener.close)
      avroTcp = `${config.avroTcp.host}:${listener.port}`
      runtime.log.info(`Avro IPC on tcp://${avroTcp}`)
    }
    return { http, avroTcp, tokenFile: file, close }
  } catch (err) {
    await close()
    throw err
  }
}
