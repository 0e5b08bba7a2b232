// What a node reports to Prometheus. Workflow, step and workload counts are read
// from the node when scraped; durations are observed as they happen, from the
// engine's events and from every RPC front end through `rpcObserver`.
import { STEP_STATES, VERSION, WORKFLOW_STATES } from '../constants.js'
import type { MeshNode, WorkflowEvent, WorkloadStatus } from '../protocol/types.js'
import { MetricsRegistry, WAIT_BUCKETS, type Histogram, type Counter } from './registry.js'
import { REJECTIONS, type RejectionTally } from './rejections.js'
import { registerProcessFigures } from './process-figures.js'
import type { SystemInfo } from '../ports.js'

const MEMBER_STATES = ['up', 'suspect', 'down']
const WORKLOAD_STATES = ['queued', 'deploying', 'starting', 'running', 'exited', 'failed', 'removing', 'removed']

/** What the metrics read of a node, and nothing more (the node sits above and hands itself in). */
export interface MetricsSource {
  readiness: () => { ready: boolean, state: string }
  /** The workflows the node holds, as durable state: empty before it has started. */
  workflowRuns: () => Iterable<ObservedRun>
  workflowRun: (id: string) => ObservedRun | undefined
  onWorkflowEvent: (listener: (event: WorkflowEvent) => void) => () => void
  auditEntries: () => number
  listNodes: () => Promise<MeshNode[]>
  listWorkloads: () => Promise<WorkloadStatus[]>
}

/** The parts of a workflow run the metrics count. */
export interface ObservedRun {
  id: string
  state: string
  intervention: { stepId: string, requestedAt: number } | null
  /** Every branch waiting for a person (a graph may have several). */
  interventions?: Array<{ stepId: string, requestedAt: number }>
  steps: Array<{ id: string, state: string, kind: string, durationMs: number | null }>
}

export interface NodeMetricsOptions {
  /** Where this node's listeners count the connections they cut: the process's tally unless a test brings its own. */
  rejections?: RejectionTally
  /** The machine and process the node runs in, for the process_* series and se_build_info. */
  system?: Pick<SystemInfo, 'processStats' | 'runtime'>
}

export type RpcObserver = (message: string, seconds: number, outcome: 'ok' | 'error') => void

export class NodeMetrics {
  readonly registry = new MetricsRegistry()
  private readonly stepDuration: Histogram
  private readonly interventionWait: Histogram
  private readonly rpcDuration: Histogram
  private readonly httpRequests: Counter
  /** When each open intervention was raised, by workflow and step. */
  private readonly raised = new Map<string, number>()
  private unsubscribe: (() => void) | null = null

  constructor (private readonly node: MetricsSource, opts: NodeMetricsOptions = {}) {
    const r = this.registry
    const rejections = opts.rejections ?? REJECTIONS
    r.collected('gauge', 'se_node_ready', '1 once the node has recovered its state and joined its mesh', () => [{ labels: {}, value: node.readiness().ready ? 1 : 0 }])
    r.collected('gauge', 'se_workflows', 'workflows this node holds, by state', () => this.workflowsByState())
    r.collected('gauge', 'se_steps', 'steps of the workflows this node holds, by state', () => this.stepsByState())
    this.stepDuration = r.histogram('se_step_duration_seconds', 'time steps took to run, by kind and outcome')
    r.collected('counter', 'se_audit_entries_total', 'entries appended to this node\'s audit trail', () => [{ labels: {}, value: node.auditEntries() }])
    this.rpcDuration = r.histogram('se_rpc_duration_seconds', 'RPC call latency, by transport, message and side (server: handling, client: round trip)')
    this.httpRequests = r.counter('se_http_requests_total', 'HTTP API requests, by method, route and status code')
    r.collected('gauge', 'se_mesh_peers', 'other mesh members this node knows, by state', async () => await this.peersByState())
    r.collected('gauge', 'se_workloads', 'workloads on this node, by state', async () => await this.workloadsByState())
    this.interventionWait = r.histogram('se_intervention_wait_seconds', 'how long interventions waited for a person, by choice', WAIT_BUCKETS)
    r.collected('counter', 'se_rejected_connections_total', 'connections the node closed for what the client sent or did not send, by port (unix, http, avro-http, avro-tcp, mesh) and reason', () => rejections.samples())
    const system = opts.system
    if (system !== undefined) registerProcessFigures(r, async () => await system.processStats(), { version: VERSION, runtime: system.runtime })
  }

  /** Starts observing the engine; call once the node has started. */
  attach (): void {
    if (this.unsubscribe !== null) return
    for (const run of this.node.workflowRuns()) {
      for (const asked of run.interventions ?? (run.intervention === null ? [] : [run.intervention])) this.raised.set(`${run.id}/${asked.stepId}`, asked.requestedAt)
    }
    this.unsubscribe = this.node.onWorkflowEvent(e => this.onWorkflowEvent(e))
  }

  detach (): void {
    this.unsubscribe?.()
    this.unsubscribe = null
  }

  rpcObserver (transport: string, side: 'server' | 'client' = 'server'): RpcObserver {
    // Every call is observed: each message and outcome is keyed once, not on every call.
    const bound = new Map<string, (seconds: number) => void>()
    return (message, seconds, outcome) => {
      const key = outcome === 'ok' ? message : `${message}\n${outcome}`
      let observe = bound.get(key)
      if (observe === undefined) {
        observe = this.rpcDuration.seriesOf({ transport, message, side, outcome })
        bound.set(key, observe)
      }
      observe(seconds)
    }
  }

  httpRequest (method: string, route: string, status: number): void {
    this.httpRequests.inc({ method, route, code: String(status) })
  }

  async render (): Promise<string> {
    return await this.registry.render()
  }

  private started (): boolean {
    return this.node.readiness().state !== 'new' && this.node.readiness().state !== 'starting'
  }

  private onWorkflowEvent (e: WorkflowEvent): void {
    if (e.stepId === null) return
    const key = `${e.workflowId}/${e.stepId}`
    if (e.kind === 'INTERVENTION') { this.raised.set(key, e.at); return }
    if (e.kind !== 'STEP' || e.state === 'running') return
    const since = this.raised.get(key)
    if (since !== undefined) {
      this.raised.delete(key)
      this.interventionWait.observe({ choice: e.text.slice(e.stepId.length + 1) || 'unknown' }, Math.max(0, e.at - since) / 1000)
      return
    }
    const step = this.node.workflowRun(e.workflowId)?.steps.find(s => s.id === e.stepId)
    if (step?.durationMs == null) return
    this.stepDuration.observe({ kind: step.kind, outcome: e.state }, step.durationMs / 1000)
  }

  private workflowsByState (): Array<{ labels: { state: string }, value: number }> {
    const counts = new Map<string, number>(WORKFLOW_STATES.map(s => [s, 0]))
    if (this.started()) for (const run of this.node.workflowRuns()) counts.set(run.state, (counts.get(run.state) ?? 0) + 1)
    return [...counts].map(([state, value]) => ({ labels: { state }, value }))
  }

  private stepsByState (): Array<{ labels: { state: string }, value: number }> {
    const counts = new Map<string, number>(STEP_STATES.map(s => [s, 0]))
    if (this.started()) for (const run of this.node.workflowRuns()) for (const s of run.steps) counts.set(s.state, (counts.get(s.state) ?? 0) + 1)
    return [...counts].map(([state, value]) => ({ labels: { state }, value }))
  }

  private async peersByState (): Promise<Array<{ labels: { state: string }, value: number }>> {
    const counts = new Map<string, number>(MEMBER_STATES.map(s => [s, 0]))
    if (this.started()) for (const n of await this.node.listNodes()) if (!n.self) counts.set(n.state, (counts.get(n.state) ?? 0) + 1)
    return [...counts].map(([state, value]) => ({ labels: { state }, value }))
  }

  private async workloadsByState (): Promise<Array<{ labels: { state: string }, value: number }>> {
    const counts = new Map<string, number>(WORKLOAD_STATES.map(s => [s, 0]))
    if (this.started()) for (const w of await this.node.listWorkloads().catch(() => [])) counts.set(w.state, (counts.get(w.state) ?? 0) + 1)
    return [...counts].map(([state, value]) => ({ labels: { state }, value }))
  }
}
