// The HTTP API as data: every route, what it takes and what it answers, in terms
// of the protocol's records and messages. The API validates requests from this
// table and the OpenAPI document is generated from it, so the two cannot differ.
import { ref, type JsonSchema } from './json-schema.js'

/** A JSON body made of fields of a protocol record (or of a message's request). */
export interface BodySpec {
  from: { record: string } | { message: string }
  /** The fields a client may send: others are refused. */
  fields: string[]
  required: string[]
  /** Fields the HTTP API takes beside the record's own. */
  extra?: Record<string, JsonSchema>
  /** Whether a request may come without a body at all. */
  optional?: boolean
}

export interface QuerySpec { name: string, description: string, schema: JsonSchema, repeat?: boolean }

export interface ResponseSpec {
  description: string
  /** JSON unless `text` or `events`. */
  schema?: JsonSchema
  /** The answer of this protocol message, as the node's RPC API gives it. */
  message?: string
  text?: string
  events?: boolean
}

export interface RouteSpec {
  /** The OpenAPI operationId, and the name HttpApi handles the route by. */
  id: string
  method: 'GET' | 'POST' | 'DELETE'
  /** `:name` segments capture. */
  pattern: string
  summary: string
  /** Answers without a token: orchestrators probe health, and tools read the document, without credentials. */
  open?: boolean
  query?: QuerySpec[]
  /** Query parameters that are the fields of a protocol record. */
  queryRecord?: { record: string, names: Record<string, string> }
  body?: BodySpec
  responses: Record<number, ResponseSpec>
}

const LIVENESS: JsonSchema = { type: 'object', properties: { status: { const: 'live' } }, required: ['status'], additionalProperties: false }
const READINESS: JsonSchema = {
  type: 'object',
  properties: {
    status: { enum: ['ready', 'not ready'] },
    ready: { type: 'boolean' },
    state: { type: 'string', description: 'the node\'s lifecycle state' },
    recovered: { type: 'boolean', description: 'whether the node has recovered its workflows from its data dir' },
    mesh: { type: ['string', 'null'], description: 'the mesh join state; null outside a mesh' }
  },
  required: ['status', 'ready', 'state', 'recovered', 'mesh'],
  additionalProperties: false
}
const NAME_OR_ID = 'the id of the workload, or its name'

export const ROUTES: RouteSpec[] = [
  { id: 'live', method: 'GET', pattern: '/health/live', open: true, summary: 'whether the process serves requests', responses: { 200: { description: 'live', schema: LIVENESS } } },
  {
    id: 'ready', method: 'GET', pattern: '/health/ready', open: true, summary: 'whether the node has recovered its state and joined its mesh',
    responses: { 200: { description: 'ready', schema: READINESS }, 503: { description: 'not ready yet, and what it waits for', schema: READINESS } }
  },
  { id: 'metrics', method: 'GET', pattern: '/metrics', summary: 'Prometheus text exposition (0.0.4)', responses: { 200: { description: 'the metrics', text: 'text/plain; version=0.0.4; charset=utf-8' } } },
  { id: 'openapi', method: 'GET', pattern: '/api/v1/openapi.json', open: true, summary: 'this document', responses: { 200: { description: 'the OpenAPI 3.1 document', schema: { type: 'object' } } } },
  {
    id: 'execute', method: 'POST', pattern: '/api/v1/execute', summary: 'run one allowlisted command, without a shell',
    body: { from: { record: 'Command' }, fields: ['command', 'args', 'workdir', 'sessionId', 'env', 'timeoutMs'], required: ['command'] },
    responses: { 200: { description: 'how the command ended', message: 'execute' } }
  },
  {
    id: 'startWorkflow', method: 'POST', pattern: '/api/v1/workflows', summary: 'start a workflow from the catalogue (`workflow`) or from its text (`definition`)',
    body: { from: { record: 'WorkflowRequest' }, fields: ['definition', 'inputs', 'workdir'], required: [], extra: { workflow: { type: 'string', description: 'a catalogue name' } } },
    responses: { 201: { description: 'started; Location names it', message: 'executeWorkflow' } }
  },
  {
    id: 'listWorkflows', method: 'GET', pattern: '/api/v1/workflows', summary: 'every workflow this node holds',
    query: [{ name: 'state', description: 'only workflows in this state (repeatable)', schema: { type: 'array', items: { type: 'string' } }, repeat: true }],
    responses: { 200: { description: 'their statuses', message: 'listWorkflows' } }
  },
  { id: 'getWorkflow', method: 'GET', pattern: '/api/v1/workflows/:id', summary: 'one workflow\'s status', responses: { 200: { description: 'its status', message: 'getWorkflowStatus' } } },
  {
    id: 'intervene', method: 'POST', pattern: '/api/v1/workflows/:id/intervention', summary: 'answer a waiting intervention',
    body: { from: { record: 'InterventionResult' }, fields: ['choice', 'comment', 'stepId', 'signed'], required: ['choice'] },
    responses: { 200: { description: 'the workflow\'s status after the answer', message: 'resumeWorkflow' } }
  },
  {
    id: 'cancelWorkflow', method: 'POST', pattern: '/api/v1/workflows/:id/cancel', summary: 'cancel a workflow; every running step is stopped',
    body: { from: { message: 'cancelWorkflow' }, fields: ['reason', 'signed'], required: [], optional: true },
    responses: { 200: { description: 'the workflow\'s status once cancelled', message: 'cancelWorkflow' } }
  },
  { id: 'listNodes', method: 'GET', pattern: '/api/v1/nodes', summary: 'every mesh node this node knows, itself first', responses: { 200: { description: 'the nodes', message: 'listNodes' } } },
  { id: 'listWorkloads', method: 'GET', pattern: '/api/v1/workloads', summary: 'every workload', responses: { 200: { description: 'the workloads', message: 'listWorkloads' } } },
  {
    id: 'deployWorkload', method: 'POST', pattern: '/api/v1/workloads', summary: 'run a Kubernetes Pod or Deployment manifest on this node',
    body: { from: { record: 'DeployRequest' }, fields: ['manifest', 'source', 'replicas', 'memory', 'cpus', 'env', 'engine'], required: ['manifest'] },
    responses: { 201: { description: 'deploying; Location names it', message: 'deployWorkload' } }
  },
  { id: 'getWorkload', method: 'GET', pattern: '/api/v1/workloads/:id', summary: `one workload (${NAME_OR_ID})`, responses: { 200: { description: 'its status', schema: ref('WorkloadStatus') } } },
  { id: 'removeWorkload', method: 'DELETE', pattern: '/api/v1/workloads/:id', summary: `stop and delete a workload and all it created (${NAME_OR_ID})`, responses: { 200: { description: 'its status once removed', message: 'removeWorkload' } } },
  {
    id: 'readAudit', method: 'GET', pattern: '/api/v1/audit', summary: 'the audit trail, oldest first',
    queryRecord: { record: 'AuditQuery', names: { workflow: 'workflowId', fromSeq: 'fromSeq', limit: 'limit' } },
    responses: { 200: { description: 'the entries', message: 'readAudit' } }
  },
  { id: 'verifyAudit', method: 'GET', pattern: '/api/v1/audit/verify', summary: 'check every entry\'s hash chain and signature', responses: { 200: { description: 'the verdict; `ok` false lists the problems', message: 'verifyAudit' } } },
  {
    id: 'events', method: 'GET', pattern: '/api/v1/events', summary: 'server-sent `workflow` (WorkflowEvent) and `workload` (WorkloadEvent) events, each with an id; send Last-Event-ID to resume',
    query: [
      { name: 'workflow', description: 'only the events of this workflow', schema: { type: 'string' } },
      { name: 'types', description: 'comma-separated: workflow, workload (both by default)', schema: { type: 'string' } },
      { name: 'lastEventId', description: 'the Last-Event-ID header, for clients that cannot set one', schema: { type: 'string' } }
    ],
    responses: { 200: { description: 'the event stream', events: true } }
  }
]
