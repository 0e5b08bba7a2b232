// An SeNode as the HTTP API sees it: the node composes the front end, the front end never reaches into the node.
// Avro IPC takes the same refusal audit from here.
import type { AccessTokens } from '../access/tokens.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { RefusalEntry } from '../access/user-access.js'
import type { HttpApiHost } from '../http/api.js'
import type { SeNode } from './se-node.js'

export function httpHostFor (node: SeNode, opts: { tokens: AccessTokens, metrics: NodeMetrics, workdir: string, log: (message: string) => void }): HttpApiHost {
  return {
    api: node,
    tokens: opts.tokens,
    readiness: () => node.readiness(),
    allowedCommands: () => node.allowedCommands,
    sessionOwner: id => node.sessionOwner(id),
    onWorkflowEvent: listener => node.onWorkflowEvent(listener),
    onWorkloadEvent: listener => {
      let cancel: (() => void) | null = null
      node.watchWorkloads(e => { listener(e) }, l => { cancel = l }).catch(() => {})
      return () => cancel?.()
    },
    metrics: async () => await opts.metrics.render(),
    workdir: opts.workdir,
    log: opts.log,
    policy: () => node.policy,
    nodeName: () => node.name,
    audit: refusalAudit(node, opts.log)
  }
}

/** Writes a front end's refusal to the node's trail; a trail that cannot take it is logged, and the refusal stands. */
export function refusalAudit (node: SeNode, log: (message: string) => void): (entry: RefusalEntry) => Promise<void> {
  return async entry => {
    try {
      await node.audit.append(entry)
    } catch (err) {
      log(`audit: ${(err as Error).message}`)
    }
  }
}
