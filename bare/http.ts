// `--http` on the Bare node: health and /metrics, for fleets scraped by
// Prometheus, behind the same bearer tokens as a Node node's HTTP API.
import { HttpApi } from '../core/http/api.js'
import { httpHostFor } from '../core/node/http-host.js'
import { loadTokens } from '../core/access/token-store.js'
import { frontEndConfigFrom, type FrontEndFlags } from '../core/access/front-end-settings.js'
import { listenerLimitsFrom } from '../core/access/listener-limits.js'
import type { EnvLookup } from '../core/config/env.js'
import type { NodeMetrics } from '../core/metrics/node-metrics.js'
import type { SeNode } from '../core/node/se-node.js'
import type { Runtime } from '../core/ports.js'
import { listenBareHttp, type BareHttpListener } from '../adapters/bare/http-server.js'

/** What the Bare node answers over HTTP: the rest of the API needs the Node node's front ends. */
export const BARE_HTTP_ROUTES = ['live', 'ready', 'metrics']

/** The listener, or null without --http (or SE_HTTP). */
export async function startBareHttp (node: SeNode, runtime: Runtime, metrics: NodeMetrics, flags: FrontEndFlags, where: { env: EnvLookup, dataDir: string, owner: string }): Promise<BareHttpListener | null> {
  const config = frontEndConfigFrom(flags, where.env)
  if (config.http === null) return null
  const { tokens, file, generated } = await loadTokens(runtime.fs, runtime.crypto, { ...(config.inlineTokens === undefined ? {} : { inline: config.inlineTokens }), ...(config.tokenFile === undefined ? {} : { file: config.tokenFile }), dataDir: where.dataDir, owner: where.owner })
  if (generated) runtime.log.info(`wrote a bearer token for ${tokens.users.join(', ')} to ${file ?? ''} (readable only by you)`)
  const api = new HttpApi(httpHostFor(node, { tokens, metrics, workdir: where.dataDir, log: m => runtime.log.warn(m) }), { only: BARE_HTTP_ROUTES })
  const listener = await listenBareHttp({ ...config.http, api, metrics, limits: listenerLimitsFrom(where.env), log: runtime.log })
  runtime.log.info(`http: http://${listener.address} (health /health/live, /health/ready; Prometheus /metrics; tokens in ${file ?? 'SE_TOKENS'})`)
  return listener
}
