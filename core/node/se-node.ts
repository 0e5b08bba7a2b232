// An SE node as every client sees it (the CLI, the shell, the dashboard, HTTP,
// Avro IPC): its lifecycle, and the node API answered by the services that
// compose.ts puts together. Each answer is one line; the work is in the services.
import { SHUTDOWN_GRACE_MS, VERSION } from '../constants.js'
import type { Policy } from '../access/policy.js'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { FileLock, Runtime } from '../ports.js'
import type { AuditLog } from '../audit/log.js'
import { summariseAudit } from '../audit/summary.js'
import type {
  ArtifactRecord, AuditQuery, AuditRecord, AuditVerification, BatchJob, BatchResult, CatalogueEntry, Command, ContainerStats, DeployRequest, ExecutionResult,
  InterventionResult, MeshNode, SignedDecision, NodeApi, NodeCapabilities, NodeInfo, NodeMatch, ProviderRecord, Requirements, SessionInfo, SessionOutput,
  SignedAuditEntry, WorkflowAuditSummary, WorkflowEvent, WorkflowRequest, WorkflowStatus, WorkloadEvent, WorkloadLogLine, WorkloadStatus
} from '../protocol/types.js'
import type { WorkflowRun } from '../workflow/run.js'
import type { Mesh } from '../mesh/mesh.js'
import { rankNodes } from '../mesh/router.js'
import type { MeshConfig } from '../mesh/settings.js'
import type { WorkloadConfig } from '../workload/settings.js'
import { Catalogue } from './catalogue.js'
import { composeNode, type StartedNode } from './compose.js'
import { claimDataDir } from './data-dir-lock.js'
import type { NodeConfig } from './node-config.js'

export type { MeshConfig, NodeConfig, WorkloadConfig }

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped'

export class SeNode implements NodeApi {
  private started: StartedNode | null = null
  private state: State = 'new'
  private dataDirLock: FileLock | null = null
  private meshJoined = false
  private readonly catalogue: Catalogue
  private markRecovered: () => void = () => {}
  /** Settles once the engine has read back every workflow on disk. */
  private readonly recovered = new Promise<void>(resolve => { this.markRecovered = resolve })

  constructor (private readonly runtime: Runtime, private readonly config: NodeConfig) {
    this.catalogue = new Catalogue(runtime.fs, config.catalogueDirs ?? [join(config.dataDir, 'catalogue')])
  }

  private get s (): StartedNode {
    if (this.started === null) throw SeError.notStarted()
    return this.started
  }

  get id (): string { return this.s.identity.id }
  get name (): string { return this.s.identity.name }
  get audit (): AuditLog { return this.s.audit }
  get dataDir (): string { return this.config.dataDir }
  /** The node's mesh, null without one (benches and tests look at its members). */
  get mesh (): Mesh | null { return this.s.mesh }
  /** Commands `execute` may run; null when the local owner may run anything (remote front ends refuse then). */
  get allowedCommands (): string[] | null { return this.config.allowCommands ?? null }
  /** The node's policy, once started; null when it has none. */
  get policy (): Policy | null { return this.started?.policy ?? null }

  /** Ready once its workflows are recovered and, in a mesh, the mesh topic is joined. */
  readiness (): { ready: boolean, state: string, recovered: boolean, mesh: 'joined' | 'joining' | null } {
    const recovered = this.state === 'running'
    const mesh = this.config.mesh === undefined ? null : this.meshJoined ? 'joined' : 'joining'
    return { ready: recovered && mesh !== 'joining', state: this.state, recovered, mesh }
  }

  // ---- what HTTP and metrics observe (core/node/http-host.ts, core/metrics/node-metrics.ts)

  /** The workflows this node holds, as their durable state; none before the node has started. */
  workflowRuns (): WorkflowRun[] { return this.started?.engine.list() ?? [] }
  workflowRun (id: string): WorkflowRun | undefined { return this.started?.engine.get(id) }
  onWorkflowEvent (listener: (event: WorkflowEvent) => void): () => void { return this.s.engine.onEvent(listener) }
  auditEntries (): number { return this.started?.audit.lastSeq ?? 0 }

  /**
   * Takes the data dir for this node alone (NODE_RUNNING when another node has it).
   * start() does it when it has not been done; serveNode does it before it opens the socket.
   */
  async claim (): Promise<void> {
    this.dataDirLock ??= await claimDataDir(this.runtime.fs, this.config.dataDir, { pid: this.config.pid ?? 0, startedAt: this.runtime.clock.now(), runtime: this.runtime.system.runtime })
  }

  /** Lets the data dir go without starting (a start that failed before the node ran). */
  async release (): Promise<void> {
    await this.dataDirLock?.release()
    this.dataDirLock = null
  }

  async start (): Promise<{ resumed: number, unreadable: Array<{ file: string, reason: string }> }> {
    if (this.state !== 'new') throw SeError.cannotStart(this.state)
    await this.claim()
    this.state = 'starting'
    const started = await composeNode(this.runtime, this.config, this.catalogue, { accepting: () => this.state === 'running', recovered: this.recovered }, this)
    this.started = started
    const mesh = started.mesh
    // Joining waits on the DHT; the node serves its own clients meanwhile.
    mesh?.start()
      .then(async () => {
        await mesh.joined
        this.meshJoined = true
        await mesh.provide((await this.catalogue.list()).map(c => c.name))
      })
      .catch(err => this.runtime.log.warn(`mesh ${this.config.mesh?.name ?? ''}: ${(err as Error).message}`))
    await started.workloads.open()
    const recovered = await started.engine.recover()
    this.markRecovered()
    this.state = 'running'
    return recovered
  }

  async stop (): Promise<void> {
    if (this.state !== 'running') return
    this.state = 'stopping'
    const { engine, sessionManager, workloads, mesh, audit, stepServer } = this.s
    await engine.shutdown(this.config.shutdownGraceMs ?? SHUTDOWN_GRACE_MS)
    await sessionManager.close()
    await workloads.close()
    await mesh?.stop().catch(err => this.runtime.log.warn(`leaving the mesh: ${(err as Error).message}`))
    // Steps run here for members end with the node: leaving the mesh only detached them, for requesters to
    // come back to. Ended after the goodbye, so their requesters take them for lost (their restart rules),
    // never for failed.
    stepServer?.close()
    const counts = engine.counts()
    await audit.append({ event: 'node_stop', message: `node ${this.name} stopped; ${counts.running + counts.pending} workflow(s) checkpointed, ${counts.waiting} waiting for an intervention`, domains: ['node'] })
    await audit.close()
    this.state = 'stopped'
    await this.release()
  }

  // ---- workflows
  async executeWorkflow (request: WorkflowRequest): Promise<WorkflowStatus> { return await this.s.workflows.execute(request) }
  async getWorkflowStatus (workflowId: string): Promise<WorkflowStatus> { return this.s.workflows.status(workflowId) }
  async resumeWorkflow (workflowId: string, result: InterventionResult): Promise<WorkflowStatus> { return await this.s.workflows.resume(workflowId, result) }
  async listWorkflows (states: string[]): Promise<WorkflowStatus[]> { return this.s.workflows.list(states) }
  async cancelWorkflow (workflowId: string, reason: string, signed: SignedDecision | null = null): Promise<WorkflowStatus> { return await this.s.workflows.cancel(workflowId, reason, signed) }
  async listInterventions (): Promise<WorkflowStatus[]> { return await this.s.workflows.listInterventions() }
  /** Streams a workflow's events until it finishes; `onEvent` returning false stops the watch. */
  watchWorkflow (workflowId: string, onEvent: (event: WorkflowEvent) => boolean | void, onCancel?: (listener: () => void) => void): Promise<WorkflowStatus> {
    return this.s.workflows.watch(workflowId, onEvent, onCancel)
  }

  async listCatalogue (): Promise<CatalogueEntry[]> { return await this.catalogue.list() }

  // ---- artifacts
  async listArtifacts (workflowId: string): Promise<ArtifactRecord[]> { return this.s.workflows.artifacts(workflowId) }
  async getArtifact (workflowId: string, name: string, dir: string): Promise<ArtifactRecord> {
    const record = this.s.workflows.artifact(workflowId, name)
    await this.s.artifacts.fetchInto(record, dir)
    return record
  }

  // ---- capabilities, members, the trail
  async getCapabilities (): Promise<NodeCapabilities> { return this.s.facts.capabilities() }
  async findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]> { return rankNodes(this.s.router.candidates(), requirements) }
  async listNodes (): Promise<MeshNode[]> { return [this.s.facts.self(), ...(this.s.mesh?.view() ?? [])] }

  async findProviders (id: string): Promise<ProviderRecord[]> {
    const mesh = this.s.mesh
    if (mesh !== null) return await mesh.findProviders(id)
    const local = (await this.catalogue.list()).some(c => c.name === id)
    return local ? [{ id, nodeId: this.id, name: this.name, state: 'up' }] : []
  }

  async submitAuditEntry (entry: SignedAuditEntry): Promise<boolean> {
    await this.s.audit.appendRemote(entry)
    return true
  }

  async getDistributedAuditSummary (workflowId: string | null): Promise<WorkflowAuditSummary[]> {
    return summariseAudit(await this.s.audit.read(workflowId === null ? {} : { workflowId }), workflowId)
  }

  async readAudit (query: AuditQuery): Promise<AuditRecord[]> { return await this.s.audit.read(query) }
  async verifyAudit (): Promise<AuditVerification> { return await this.s.audit.verify() }

  // ---- commands
  async execute (command: Command): Promise<ExecutionResult> { return await this.s.commands.execute(command) }
  async executeBatch (job: BatchJob): Promise<BatchResult> { return await this.s.commands.executeBatch(job) }

  async ping (): Promise<NodeInfo> {
    const { engine, startedAt } = this.s
    const counts = engine.counts()
    return {
      nodeId: this.id,
      name: this.name,
      version: VERSION,
      dataDir: this.config.dataDir,
      pid: this.config.pid ?? 0,
      startedAt,
      workflowsRunning: counts.running + counts.pending,
      workflowsWaiting: counts.waiting,
      mesh: this.config.mesh?.name ?? null
    }
  }

  // ---- workloads
  async deployWorkload (request: DeployRequest): Promise<WorkloadStatus> { return await this.s.workloads.deploy(request) }
  async deployWorkloadWatch (request: DeployRequest, onEvent: (event: WorkloadEvent) => boolean | void): Promise<WorkloadStatus> { return await this.s.workloads.deploy(request, onEvent) }
  async listWorkloads (): Promise<WorkloadStatus[]> { return this.started?.workloads.list() ?? [] }
  async removeWorkload (id: string): Promise<WorkloadStatus> { return await this.s.workloads.remove(id) }
  async workloadStats (id: string | null): Promise<ContainerStats[]> { return await this.s.workloads.stats(id) }
  async workloadLogs (id: string, follow: boolean, tail: number, onLine: (line: WorkloadLogLine) => boolean | void, onCancel?: (listener: () => void) => void): Promise<boolean> {
    return await this.s.workloads.logs(id, follow, tail, onLine, onCancel)
  }

  watchWorkloads (onEvent: (event: WorkloadEvent) => boolean | void, onCancel?: (listener: () => void) => void): Promise<boolean> {
    return this.s.workloads.watch(onEvent, onCancel)
  }

  // ---- sessions: a session is answered by the node holding it; its id names that node.
  /** The user a local session belongs to, or null (for front ends that check ownership themselves). */
  sessionOwner (sessionId: string): string | null { return this.started?.sessions.owner(sessionId) ?? null }
  async sessionNew (owner: string, name: string | null, node: string | null, via = ''): Promise<SessionInfo> { return await this.s.sessions.open(owner, name, node, via) }
  async sessionList (owner: string): Promise<SessionInfo[]> { return await this.s.sessions.list(owner) }
  sessionAttach (sessionId: string, owner: string, fromSeq: number, onOutput: (output: SessionOutput) => boolean | void, onCancel?: (listener: () => void) => void, via = ''): Promise<SessionInfo> {
    return this.s.sessions.attach(sessionId, owner, fromSeq, onOutput, onCancel, via)
  }

  async sessionInput (sessionId: string, owner: string, line: string): Promise<number> { return await this.s.sessions.input(sessionId, owner, line) }
  async sessionClose (sessionId: string, owner: string): Promise<SessionInfo> { return await this.s.sessions.close(sessionId, owner) }
}
