// The node's HTTP API: routes, authentication and validation, runtime-agnostic.
// The adapter turns sockets into HttpRequests and HttpResponses back into bytes.
// What each route takes and answers is declared in routes.ts; this file only
// says what each one does.
import { SeError } from '../errors.js'
import type { Policy, PolicyAction } from '../access/policy.js'
import { mayUser, type RefusalEntry, type UserAccess } from '../access/user-access.js'
import type { AccessTokens } from '../access/tokens.js'
import { namedType } from '../protocol/codec.js'
import type { AuditQuery, Command, DeployRequest, NodeApi, SignedDecision, WorkflowEvent, WorkloadEvent } from '../protocol/types.js'
import { jsonBody, mustFit, onlyFields } from './body.js'
import { EventLog, type StreamedEvent } from './event-log.js'
import { bodyFields, openApiDocument } from './openapi.js'
import { recordFields } from './json-schema.js'
import { problem, problemFrom } from './problem.js'
import { ROUTES, type RouteSpec } from './routes.js'
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
  /** Who may do what on this node (a token's user as user:NAME); null: every token may do everything. */
  policy?: () => Policy | null
  /** The node's name, for refusals. */
  nodeName?: () => string
  /** Keeps a refusal by the policy in the node's trail; resolves once written, never rejects. */
  audit?: (entry: RefusalEntry) => Promise<void>
  log (message: string): void
}

/** The policy action each route needs; health, metrics and the document need none. */
export const ROUTE_ACTIONS: Readonly<Partial<Record<string, PolicyAction>>> = {
  execute: 'run',
  startWorkflow: 'run',
  intervene: 'approve',
  cancelWorkflow: 'approve',
  deployWorkload: 'deploy',
  removeWorkload: 'deploy',
  listWorkflows: 'read',
  getWorkflow: 'read',
  listNodes: 'read',
  listWorkloads: 'read',
  getWorkload: 'read',
  readAudit: 'read',
  verifyAudit: 'read',
  events: 'read'
}

type Handler = (req: HttpRequest, params: Record<string, string>, user: string) => Promise<HttpResponse>

/** Where a request says the workflow or manifest came from when it sent the text itself. */
const SENT_IN_REQUEST = 'http-request'
/** The routes about one workflow, whose `:id` is its id. */
const WORKFLOW_ROUTE = '/api/v1/workflows/:id'
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface HttpApiOptions {
  /** The ids of the routes to serve (all when absent): a Bare node serves health and metrics only. */
  only?: string[]
}

export class HttpApi {
  private readonly handlers: Record<string, Handler>
  private readonly log = new EventLog(Date.now().toString(36))
  private unsubscribe: Array<() => void> | null = null
  private closed = false
  private document: unknown = null
  private readonly routes: RouteSpec[]
  private readonly access: UserAccess

  constructor (private readonly host: HttpApiHost, opts: HttpApiOptions = {}) {
    this.access = { policy: () => host.policy?.() ?? null, nodeName: () => host.nodeName?.() ?? 'this node', domain: 'http', audit: host.audit ?? (async () => {}), workflowName: async id => await host.api.getWorkflowStatus(id).then(s => s.name, () => undefined) }
    const only = opts.only
    this.routes = only === undefined ? ROUTES : ROUTES.filter(r => only.includes(r.id))
    const api = host.api
    const route = (id: string): RouteSpec => ROUTES.find(r => r.id === id) as RouteSpec
    this.handlers = {
      live: async () => ({ status: 200, json: { status: 'live' } }),
      ready: async () => this.ready(),
      metrics: async () => ({ status: 200, headers: { 'content-type': METRICS_TYPE }, text: await host.metrics() }),
      openapi: async () => ({ status: 200, json: (this.document ??= openApiDocument()) }),
      execute: async (req, _p, user) => await this.execute(body(req, route('execute')), user),
      startWorkflow: async (req, _p, user) => await this.startWorkflow(body(req, route('startWorkflow')), user),
      listWorkflows: async req => ({ status: 200, json: await api.listWorkflows(req.query.state ?? []) }),
      getWorkflow: async (_r, p) => ({ status: 200, json: await api.getWorkflowStatus(p.id as string) }),
      intervene: async (req, p, user) => await this.intervene(body(req, route('intervene')), p.id as string, user),
      cancelWorkflow: async (req, p, user) => {
        const reason = body(req, route('cancelWorkflow')).reason ?? 'cancelled by user'
        if (typeof reason !== 'string') throw SeError.validation('the cancel request', [{ path: 'reason', message: 'must be a string' }])
        const signed = signedOf(body(req, route('cancelWorkflow')).signed, 'the cancel')
        // A person's signed cancel keeps the reason they signed, and the trail names them.
        return { status: 200, json: await api.cancelWorkflow(p.id as string, signed === null ? `${reason} (${user} via http)` : reason, signed) }
      },
      listNodes: async () => ({ status: 200, json: await api.listNodes() }),
      listWorkloads: async () => ({ status: 200, json: await api.listWorkloads() }),
      deployWorkload: async req => {
        const request = mustFit<DeployRequest>(namedType('DeployRequest'), { source: SENT_IN_REQUEST, replicas: null, memory: null, cpus: null, env: {}, engine: null, ...body(req, route('deployWorkload')) }, 'the deploy request')
        const status = await api.deployWorkload(request)
        return { status: 201, headers: { location: `/api/v1/workloads/${encodeURIComponent(status.id)}` }, json: status }
      },
      getWorkload: async (_r, p) => {
        const found = (await api.listWorkloads()).find(w => w.id === p.id || w.name === p.id)
        if (found === undefined) throw SeError.unknownWorkload(p.id as string)
        return { status: 200, json: found }
      },
      removeWorkload: async (_r, p) => ({ status: 200, json: await api.removeWorkload(p.id as string) }),
      readAudit: async req => ({ status: 200, json: await api.readAudit(auditQuery(req, route('readAudit'))) }),
      verifyAudit: async () => ({ status: 200, json: await api.verifyAudit() }),
      events: async req => this.events(req)
    }
  }

  /**
   * Logs every event from the first request the recovered node answers on (the node's
   * events exist only once it has started), so a stream that reconnects is given what it missed.
   */
  private startLogging (): void {
    if (this.unsubscribe !== null || this.closed || !this.host.readiness().recovered) return
    this.unsubscribe = [this.host.onWorkflowEvent(e => this.log.add('workflow', e)), this.host.onWorkloadEvent(e => this.log.add('workload', e))]
  }

  /** Stops logging events; the listener calls it as it closes. */
  close (): void {
    this.closed = true
    for (const stop of this.unsubscribe?.splice(0) ?? []) stop()
  }

  /** The route a request matches, for metrics labels: its pattern, never the raw path. */
  routeOf (req: HttpRequest): string {
    for (const r of this.routes) if (match(r.pattern, req.path) !== null) return r.pattern
    return 'unmatched'
  }

  async handle (req: HttpRequest): Promise<HttpResponse> {
    this.startLogging()
    const matching = this.routes.map(r => ({ r, params: match(r.pattern, req.path) })).filter(m => m.params !== null)
    if (matching.length === 0) {
      const hint = this.routes === ROUTES ? 'endpoints live under /api/v1/, /health/ and /metrics; /api/v1/openapi.json lists them' : `this node serves ${this.routes.map(r => r.pattern).join(', ')}`
      return problem(404, 'NOT_FOUND', `no endpoint at ${req.path}`, { hint })
    }
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
    const action = ROUTE_ACTIONS[found.r.id]
    if (found.r.open !== true && action !== undefined) {
      // A route under /workflows/:id is about that workflow: its refusal belongs in its trail too.
      const workflowId = found.r.pattern.startsWith(WORKFLOW_ROUTE) ? found.params?.id : undefined
      try {
        await mayUser(this.access, user, action, workflowId)
      } catch (err) {
        return problemFrom(err, this.host.log)
      }
    }
    if (found.r.open !== true && !this.host.readiness().recovered) {
      return problem(503, 'NOT_READY', 'the node is still recovering its state; try again shortly', { headers: { 'retry-after': '1' } })
    }
    try {
      return await (this.handlers[found.r.id] as Handler)(req, found.params as Record<string, string>, user)
    } catch (err) {
      return problemFrom(err, this.host.log)
    }
  }

  private ready (): HttpResponse {
    const r = this.host.readiness()
    return { status: r.ready ? 200 : 503, json: { status: r.ready ? 'ready' : 'not ready', ...r } }
  }

  private async execute (body: Record<string, unknown>, user: string): Promise<HttpResponse> {
    const command = mustFit<Command>(namedType('Command'), { args: [], workdir: null, sessionId: null, env: {}, timeoutMs: null, ...body }, 'the execute request')
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

  private async startWorkflow (body: Record<string, unknown>, user: string): Promise<HttpResponse> {
    const definition = body.definition ?? null
    const source = body.workflow ?? (definition === null ? undefined : SENT_IN_REQUEST)
    if (source === undefined) throw SeError.validation('the workflow request', [{ path: 'workflow', message: 'give a catalogue name in `workflow`, or the workflow text in `definition`' }])
    const request = mustFit<Parameters<NodeApi['executeWorkflow']>[0]>(namedType('WorkflowRequest'), {
      definition,
      source,
      inputs: body.inputs ?? {},
      workdir: body.workdir ?? this.host.workdir,
      requestedBy: `${user} via http`
    }, 'the workflow request')
    const status = await this.host.api.executeWorkflow(request)
    return { status: 201, headers: { location: `/api/v1/workflows/${status.id}` }, json: status }
  }

  private async intervene (body: Record<string, unknown>, id: string, user: string): Promise<HttpResponse> {
    const choice = body.choice
    if (typeof choice !== 'string' || choice === '') throw SeError.validation('the intervention', [{ path: 'choice', message: 'give one of the choices the intervention offers, e.g. "approve"' }])
    const comment = body.comment ?? null
    if (comment !== null && typeof comment !== 'string') throw SeError.validation('the intervention', [{ path: 'comment', message: 'must be a string' }])
    const signed = signedOf(body.signed, 'the intervention')
    return { status: 200, json: await this.host.api.resumeWorkflow(id, { choice, comment, decidedBy: `${user} via http`, stepId: typeof body.stepId === 'string' ? body.stepId : '', signed }) }
  }

  private events (req: HttpRequest): HttpResponse {
    const only = req.query.workflow?.[0]
    const kinds = new Set((req.query.types?.[0] ?? 'workflow,workload').split(','))
    const wanted = (e: StreamedEvent): boolean => kinds.has(e.event) && (only === undefined || e.event !== 'workflow' || e.data.workflowId === only)
    // EventSource sends the header; a client that cannot set headers may put it in the query.
    const lastId = req.header('last-event-id') ?? req.query.lastEventId?.[0]
    return {
      status: 200,
      events: (stream: EventStream) => {
        for (const e of this.log.since(lastId)) if (wanted(e)) stream.send(e.event, e.data, e.id)
        const stop = this.log.onEvent(e => { if (wanted(e)) stream.send(e.event, e.data, e.id) })
        stream.onClose(stop)
      }
    }
  }
}

/** The body as the route declares it: a JSON object of its fields only (or none, where it may be left out). */
/** A person's signed decision sent with a request (se key new; see core/access/decision.ts), checked against its record. */
function signedOf (value: unknown, what: string): SignedDecision | null {
  return value === undefined || value === null ? null : mustFit<SignedDecision>(namedType('SignedDecision'), value, `${what}'s signed decision`)
}

function body (req: HttpRequest, route: RouteSpec): Record<string, unknown> {
  const spec = route.body as NonNullable<RouteSpec['body']>
  if (spec.optional === true && (req.body === null || req.body.byteLength === 0)) return {}
  const value = jsonBody(req.body)
  onlyFields(value, bodyFields(spec))
  return value
}

/** The query parameters that are a record's fields, as that record, checked against it. */
function auditQuery (req: HttpRequest, route: RouteSpec): AuditQuery {
  const spec = route.queryRecord as NonNullable<RouteSpec['queryRecord']>
  const fields = recordFields(spec.record)
  const value: Record<string, unknown> = Object.fromEntries(fields.map(f => [f.name, f.default]))
  for (const [name, field] of Object.entries(spec.names)) {
    const given = req.query[name]?.[0]
    if (given === undefined) continue
    // Numbers arrive as text; what is not a whole number stays text, for the error to quote.
    value[field] = typeof value[field] !== 'number' || !/^-?\d+$/.test(given) ? given : Number(given)
  }
  return mustFit<AuditQuery>(namedType(spec.record), value, 'the audit query')
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
