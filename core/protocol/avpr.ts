// The node's public protocol as an Apache Avro protocol (.avpr), for clients
// written from the file alone (Java, Python, avsc) over Avro IPC. Only messages
// meant for clients are on it: mesh-internal ones stay between members, and
// streaming ones need our own transports.
import { SeError } from '../errors.js'
import { NAMESPACE, PROTOCOLS, TYPES, type MessageDeclaration } from './schema.js'

export const AVPR_PROTOCOL = 'SENode'
export const AVPR_ERROR = 'SENodeError'

/** Listed by name, so a message added to the schema is never exported by accident. */
export const PUBLIC_MESSAGES = [
  'ping', 'getCapabilities', 'listNodes', 'findNodesForWorkflow', 'findProviders', 'listArtifacts', 'getArtifact',
  'executeWorkflow', 'getWorkflowStatus', 'listWorkflows', 'resumeWorkflow', 'cancelWorkflow', 'listInterventions', 'listCatalogue',
  'execute', 'executeBatch',
  'readAudit', 'verifyAudit', 'getDistributedAuditSummary',
  'deployWorkload', 'listWorkloads', 'removeWorkload', 'workloadStats'
] as const

export interface Avpr {
  protocol: string
  namespace: string
  doc: string
  types: unknown[]
  messages: Record<string, { doc?: string, request: ReadonlyArray<{ name: string, type: unknown }>, response: unknown, errors: string[] }>
}

export function nodeProtocolAvpr (): Avpr {
  const declared = new Map<string, MessageDeclaration>()
  for (const p of PROTOCOLS) for (const [name, m] of Object.entries(p.messages)) declared.set(name, m)
  const messages: Avpr['messages'] = {}
  for (const name of PUBLIC_MESSAGES) {
    const m = declared.get(name)
    if (m === undefined || m.stream !== undefined) throw SeError.internal(`core/protocol/avpr.ts PUBLIC_MESSAGES: ${name} is ${m === undefined ? 'not declared in core/protocol/schema.ts' : 'a streaming message, which Avro IPC cannot carry'}`)
    messages[name] = { ...(m.doc === undefined ? {} : { doc: m.doc }), request: m.request, response: m.response, errors: [AVPR_ERROR] }
  }
  return {
    protocol: AVPR_PROTOCOL,
    namespace: NAMESPACE,
    doc: 'An SE Mesh node: workflows, interventions, commands, the audit trail, workloads and the mesh it belongs to.',
    types: [
      ...reachable(Object.values(messages).flatMap(m => [m.response, ...m.request.map(r => r.type)])),
      // Declared errors must be Avro `error` types: the RemoteError our own RPC carries, as one.
      { ...remoteError(), type: 'error', name: AVPR_ERROR, doc: 'code is stable (match on it); message says what happened, hint what to do' }
    ],
    messages
  }
}

function remoteError (): Record<string, unknown> {
  const found = TYPES.find(t => (t as { name?: string }).name === 'RemoteError')
  if (found === undefined) throw SeError.internal('core/protocol/schema.ts: the RemoteError record the .avpr declares as its error is missing')
  return found as Record<string, unknown>
}

/** The named types the messages reach, in declaration order (Avro needs a type defined before its use). */
function reachable (roots: unknown[]): unknown[] {
  const byName = new Map(TYPES.map(t => [(t as { name: string }).name, t]))
  const seen = new Set<string>()
  const visit = (t: unknown): void => {
    if (typeof t === 'string') {
      const named = byName.get(t)
      if (named !== undefined && !seen.has(t)) { seen.add(t); visit(named) }
    } else if (Array.isArray(t)) {
      t.forEach(visit)
    } else if (t !== null && typeof t === 'object') {
      const o = t as { type?: unknown, items?: unknown, values?: unknown, fields?: Array<{ type: unknown }> }
      if (o.type !== undefined && o.type !== 'record') visit(o.type)
      visit(o.items)
      visit(o.values)
      o.fields?.forEach(f => visit(f.type))
    }
  }
  roots.forEach(visit)
  return TYPES.filter(t => seen.has((t as { name: string }).name))
}
