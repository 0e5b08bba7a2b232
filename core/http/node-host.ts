// An SeNode as the HTTP API sees it.
import type { AccessTokens } from '../access/tokens.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { SeNode } from '../node/se-node.js'
import type { HttpApiHost } from './api.js'

export function httpHostFor (node: SeNode, opts: { tokens: AccessTokens, metrics: NodeMetrics, workdir: string, log: (message: string) => void }): HttpApiHost {
  return {
    api: node,
    tokens: opts.tokens,
    readiness: () => node.readiness(),
    allowedCommands: () => node.allowedCommands,
    sessionOwner: id => (node as unknown as { sessionOwner?: (id: string) => string | null }).sessionOwner?.(id) ?? null,
    onWorkflowEvent: listener => node.engine.onEvent(listener),
    onWorkloadEvent: listener => {
      let cancel: (() => void) | null = null
      node.watchWorkloads(e => { listener(e) }, l => { cancel = l }).catch(() => {})
      return () => cancel?.()
    },
    metrics: async () => await opts.metrics.render(),
    workdir: opts.workdir,
    log: opts.log
  }
}
