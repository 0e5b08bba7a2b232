// The node's HTTP API: routes, authentication and validation, runtime-agnostic.
// The adapter turns sockets into HttpRequests and HttpResponses back into bytes.
import { SeError } from '../errors.js'
import type { AccessTokens } from '../access/tokens.js'
import { namedType } from '../protocol/codec.js'
import type { Command, NodeApi, WorkflowEvent, WorkloadEvent } from '../protocol/types.js'
import { jsonBody, mustFit, onlyFields } from './body.js'
import { problem, problemFrom } from './problem.js'
import type { EventStream, HttpRequest, HttpResponse } from './types.js'

/** What the HTTP API needs of a node beyond its RPC API. */
export interface HttpApiHost {
  api: NodeApi
  tokens: AccessTokens
  readiness (): { ready: boolean, state: string, recovered: boolean, mesh: string | null }
  allowedCommands (): string[] | null
  /** The owner of a session, or null when there is no such session here. */
  sessionOwner (sessionId: string): string | null
  onWorkflowEvent (listener: (event: WorkflowEvent) => void): () => void
  onWorkloadEvent (listener: (event: WorkloadEvent) => void): () => void
  metrics (): Promise<string>
  /** Where workflows started over HTTP resolve relative inputs. */
  workdir: string
  log (message: string): void
}

interface Route {
  method: string
  /** `:name` segments capture. */
  pattern: string
  /** Health answers without a token: orchestrators probe it without credentials. */
  open?: boolean
  handle (req: HttpRequest, params: Record<string, string>, user: string): Promise<HttpResponse>
}

const COMMAND = namedType('Command')
const WORKFLOW_REQUEST = namedType('WorkflowRequest')
const INTERVENTION_FIELDS = ['choice', 'comment', 'stepId']
const EXECUTE_FIELDS = ['command', 'args', 'workdir', 'sessionId', 'env', 'timeoutMs']
const WORKFLOW_FIELDS = ['workflow', 'definition', 'inputs', 'workdir']

export class HttpApi {
  private readonly routes: Route[]

  constructor (private readonly host: HttpApiHost) {
    this.routes = [
      { method: 'GET', pattern: '/health/live', open: true, handle: async () => ({ status: 200, json: { status: 'live' } }) },
      { method: 'GET', pattern: '/health/ready', open: true, handle: async () => this.ready() },
      { method: 'GET', pattern: '/metrics', handle: async () => ({ status: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, text: await host.metrics() }) },
      { method: 'POST', pattern: '/api/v1/execute', handle: async (req, _p, user) => await this.execute(req, user) },
      { method: 'POST', pattern: '/api/v1/workflows', handle: async (req, _p, user) => await this.startWorkflow(req, user) },
      { method: 'GET', pattern: '/api/v1/workflows', handle: async req => ({ status: 200, json: await host.api.listWorkflows(req.query.state ?? []) }) },
      { method: 'GET', pattern: '/api/v1/workflows/:id', handle: async (_r, p) => ({ status: 200, json: await host.api.getWorkflowStatus(p.id as string) }) },
      { method: 'POST', pattern: '/api/v1/workflows/:id/intervention', handle: async (req, p, user) => await this.intervene(req, p.id as string, user) },
      { method: 'GET', pattern: '/api/v1/nodes', handle: async () => ({ status: 200, json: await host.api.listNodes() }) },
      { method: 'GET', pattern: '/api/v1/workloads', handle: async () => ({ status: 200, json: await host.api.listWorkloads() }) },
      { method: 'GET', pattern: '/api/v1/events', handle: async req => this.events(req) }
    ]
  }

  /** The route a request matches, for metrics labels: its pattern, never the raw path. */
  routeOf (req: HttpRequest): string {
    for (const r of this.routes) if (match(r.pattern, req.path) !== null) return r.pattern
    return 'unmatched'
  }

  async handle (req: HttpRequest): Promise<HttpResponse> {
    const matching = this.routes.map(r => ({ r, params: match(r.pattern, req.path) })).filter(m => m.params !== null)
    if (matching.length === 0) return problem(404, 'NOT_FOUND', `no endpoint at ${req.path}`, { hint: 'endpoints live under /api/v1/, /health/ and /metrics' })
    const found = matching.find(m => m.r.method === req.method || (req.method === 'HEAD' && m.r.method === 'GET'))
    if (found === undefined) {
      const allowed = [...new Set(matching.map(m => m.r.method))].join(', ')
      return problem(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; use ${allowed}`, { headers: { allow: allowed } })
    }
    let user = ''
    if (found.r.open !== true) {
      const holder = this.host.tokens.userOfHeader(req.header('authorization'))
      if (holder === null) {
        const given = req.header('authorization') !== undefined
        return problem(401, 'UNAUTHENTICATED', given ? 'the bearer token is not valid for this node' : 'a bearer token is required', {
          hint: 'send Authorization: Bearer TOKEN with a token from the node\'s token file',
          headers: { 'www-authenticate': 'Bearer realm="se-node"' }
        })
      }
      user = holder
    }
    if (found.r.open !== true && !this.host.readiness().recovered) {
      return problem(503, 'NOT_READY', 'the node is still recovering its state; try again shortly', { headers: { 'retry-after': '1' } })
    }
    try {
      return await found.r.handle(req, found.params as Record<string, string>, user)
    } catch (err) {
      return problemFrom(err, this.host.log)
    }
  }

  private ready (): HttpResponse {
    const r = this.host.readiness()
    return { status: r.ready ? 200 : 503, json: { status: r.ready ? 'ready' : 'not ready', ...r } }
  }

  private async execute (req: HttpRequest, user: string): Promise<HttpResponse> {
    const body = jsonBody(req.body)
    onlyFields(body, EXECUTE_FIELDS)
    const command = mustFit<Command>(COMMAND, { args: [], workdir: null, sessionId: null, env: {}, timeoutMs: null, ...body }, 'the execute request')
    const allowed = this.host.allowedCommands()
    if (allowed === null) {
      throw SeError.noCommandAllowlist()
    }
    if (!allowed.includes(command.command)) {
      throw SeError.commandNotAllowed(command.command, allowed)
    }
    if (command.sessionId !== null && this.host.sessionOwner(command.sessionId) !== user) {
      throw SeError.noSessionOfUser(command.sessionId, user)
    }
    return { status: 200, json: await this.host.api.execute(command) }
  }

  private async startWorkflow (req: HttpRequest, user: string): Promise<HttpResponse> {
    const body = jsonBody(req.body)
    onlyFields(body, WORKFLOW_FIELDS)
    const definition = body.definition ?? null
    const source = body.workflow ?? (definition === null ? undefined : 'http-request')
    if (source === undefined) throw SeError.validation('the workflow request', [{ path: 'workflow', message: 'give a catalogue name in `workflow`, or the workflow text in `definition`' }])
    const request = mustFit<Parameters<NodeApi['executeWorkflow']>[0]>(WORKFLOW_REQUEST, {
      definition,
      source,
      inputs: body.inputs ?? {},
      workdir: body.workdir ?? this.host.workdir,
      requestedBy: `${user} via http`
    }, 'the workflow request')
    const status = await this.host.api.executeWorkflow(request)
    return { status: 201, headers: { location: `/api/v1/workflows/${status.id}` }, json: status }
  }

  private async intervene (req: HttpRequest, id: string, user: string): Promise<HttpResponse> {
    const body = jsonBody(req.body)
    onlyFields(body, INTERVENTION_FIELDS)
    const choice = body.choice
    if (typeof choice !== 'string' || choice === '') throw SeError.validation('the intervention', [{ path: 'choice', message: 'give one of the choices the intervention offers, e.g. "approve"' }])
    const comment = body.comment ?? null
    if (comment !== null && typeof comment !== 'string') throw SeError.validation('the intervention', [{ path: 'comment', message: 'must be a string' }])
    return { status: 200, json: await this.host.api.resumeWorkflow(id, { choice, comment, decidedBy: `${user} via http`, stepId: typeof body.stepId === 'string' ? body.stepId : '' }) }
  }

  private events (req: HttpRequest): HttpResponse {
    const only = req.query.workflow?.[0]
    const kinds = new Set((req.query.types?.[0] ?? 'workflow,workload').split(','))
    return {
      status: 200,
      events: (stream: EventStream) => {
        const stops: Array<() => void> = []
        if (kinds.has('workflow')) stops.push(this.host.onWorkflowEvent(e => { if (only === undefined || e.workflowId === only) stream.send('workflow', e) }))
        if (kinds.has('workload')) stops.push(this.host.onWorkloadEvent(e => stream.send('workload', e)))
        stream.onClose(() => { for (const stop of stops) stop() })
      }
    }
  }
}

function match (pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/')
  const got = path.replace(/\/+$/, '').split('/')
  if (want.length !== got.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string
    const g = got[i] as string
    if (w.startsWith(':')) {
      try { params[w.slice(1)] = decodeURIComponent(g) } catch { return null }
      if (g === '') return null
    } else if (w !== g) return null
  }
  return params
}
