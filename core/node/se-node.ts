// An SE node: identity, audit trail, workflow engine and catalogue behind the
// node API that every client (CLI, shell, dashboard, peers) uses.
import { DEFAULT_CREDENTIALS, DEFAULT_MEMORY_BUDGET_SHARE, DEFAULT_TOOLS, MAX_CONCURRENT_WORKFLOWS, MESH_QUERY_TIMEOUT_MS, RPC_TIMEOUT_MS, SHUTDOWN_GRACE_MS, VERSION } from '../constants.js'
import { askTheHolder, gatherFromMembers, type AskOptions } from '../mesh/ask-members.js'
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { join, resolve } from '../paths.js'
import type { Runtime } from '../ports.js'
import { AuditLog } from '../audit/log.js'
import { summariseAudit } from '../audit/summary.js'
import { toHex } from '../hex.js'
import type {
  AuditQuery, AuditRecord, AuditVerification, BatchJob, BatchResult, CatalogueEntry, Command, ExecutionResult, InterventionResult,
  MeshNode, NodeApi, NodeCapabilities, NodeInfo, NodeMatch, NodeSample, ProviderRecord, Requirements, SignedAuditEntry, WorkflowAuditSummary, WorkflowEvent,
  WorkflowRequest, WorkflowStatus
} from '../protocol/types.js'
import { workflowSchema, type WorkflowDefinition } from '../workflow/definition.js'
import { WorkflowEngine, type StepExecutor } from '../workflow/engine.js'
import { resolveInputs } from '../workflow/inputs.js'
import { isFinished, type WorkflowRun } from '../workflow/run.js'
import { toStatus } from '../workflow/status.js'
import { WorkflowStore } from '../workflow/store.js'
import { parseWorkflow } from '../workflow/validate.js'
import { Catalogue } from './catalogue.js'
import { claimDataDir } from './data-dir-lock.js'
import { detectCapabilities } from './capabilities.js'
import { unmetRequirements } from '../workflow/requirements.js'
import { loadOrCreateIdentity, shortId, type NodeIdentity } from './identity.js'
import type { FileLock } from '../ports.js'
import { meshKeys } from '../mesh/keys.js'
import { DEFAULT_TIMING, Mesh, type Member } from '../mesh/mesh.js'
import { Outbox } from '../mesh/outbox.js'
import { MeshRouter, rankNodes } from '../mesh/router.js'
import type { MeshConfig } from '../mesh/settings.js'
import type { WorkloadConfig } from '../workload/settings.js'

export type { MeshConfig, WorkloadConfig }
import { StepServer } from '../mesh/step-server.js'
import { WorkloadManager } from '../workload/manager.js'
import { EngineSelector } from '../workload/select.js'
import type { ContainerStepSpec, WorkloadEngine } from '../workload/types.js'
import { CONTAINER_CAPABILITY, stepKind, stepRequirements } from '../workflow/definition.js'
import type { ContainerStats, DeployRequest, MeshPeerApi, SessionInfo, SessionOutput, WorkloadEvent, WorkloadLogLine, WorkloadStatus } from '../protocol/types.js'
import type { ProcessHandle, ProcessSpec } from '../ports.js'
import type { CommandIo } from '../session/line-interpreter.js'
import { SessionManager } from '../session/session-manager.js'

export interface NodeConfig {
  dataDir: string
  name?: string
  tags?: string[]
  tools?: string[]
  credentials?: string[]
  catalogueDirs?: string[]
  maxConcurrentWorkflows?: number
  shutdownGraceMs?: number
  /** Commands `execute` may run; null lets the local owner run anything. */
  allowCommands?: string[] | null
  /** A command line that runs this node's CLI, for ${node.cli}. */
  cli?: string
  pid?: number
  executors?: StepExecutor[]
  mesh?: MeshConfig
  workloads?: WorkloadConfig
  /** Where new sessions start (SE_SESSION_HOME, else HOME, else the data dir). */
  sessionHome?: string
  /** Sessions idle this long are closed (SE_SESSION_IDLE_SEC). */
  sessionIdleMs?: number
}

interface PeerRecord { capabilities: NodeCapabilities, lastSeen: number, latencyMs: number | null }

export class SeNode implements NodeApi {
  private identity: NodeIdentity | null = null
  private auditLog: AuditLog | null = null
  private workflowEngine: WorkflowEngine | null = null
  private capabilities: NodeCapabilities | null = null
  private readonly peers = new Map<string, PeerRecord>()
  private readonly catalogue: Catalogue
  private startedAt = 0
  private meshNode: Mesh | null = null
  private router: MeshRouter | null = null
  private stepServer: StepServer | null = null
  private outbox: Outbox | null = null
  private workloadManager: WorkloadManager | null = null
  private engineSelector: EngineSelector | null = null
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new'
  private dataDirLock: FileLock | null = null
  private markRecovered: () => void = () => {}
  /** Settles once the engine has read back every workflow on disk. */
  private readonly recovered = new Promise<void>(resolve => { this.markRecovered = resolve })
  private meshJoined = false
  private sessionManager: SessionManager | null = null

  constructor (private readonly runtime: Runtime, private readonly config: NodeConfig) {
    this.catalogue = new Catalogue(runtime.fs, config.catalogueDirs ?? [join(config.dataDir, 'catalogue')])
  }

  get id (): string { return this.must(this.identity).id }
  get name (): string { return this.must(this.identity).name }
  get audit (): AuditLog { return this.must(this.auditLog) }
  get engine (): WorkflowEngine { return this.must(this.workflowEngine) }
  get dataDir (): string { return this.config.dataDir }
  /** Commands `execute` may run; null when the local owner may run anything (remote front ends refuse then). */
  get allowedCommands (): string[] | null { return this.config.allowCommands ?? null }

  /** Ready once its workflows are recovered and, in a mesh, the mesh topic is joined. */
  readiness (): { ready: boolean, state: string, recovered: boolean, mesh: 'joined' | 'joining' | null } {
    const recovered = this.state === 'running'
    const mesh = this.config.mesh === undefined ? null : this.meshJoined ? 'joined' : 'joining'
    return { ready: recovered && mesh !== 'joining', state: this.state, recovered, mesh }
  }

  private must<T> (value: T | null): T {
    if (value === null) throw new SeError('INTERNAL', 'the node has not been started')
    return value
  }

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
    if (this.state !== 'new') throw new SeError('INTERNAL', `node cannot start from state ${this.state}`)
    await this.claim()
    this.state = 'starting'
    const { fs, crypto, clock, system } = this.runtime
    const dataDir = this.config.dataDir
    this.identity = await loadOrCreateIdentity(fs, crypto, dataDir, this.config.name ?? system.hostname, clock.now())
    if (this.config.name !== undefined) this.identity.name = this.config.name
    const id = this.identity.id
    this.auditLog = new AuditLog({ dir: join(dataDir, 'audit'), fs, crypto, clock, identity: this.identity.keyPair })
    await this.auditLog.open()
    const store = new WorkflowStore(fs, join(dataDir, 'workflows'))
    await store.open()
    const opts: ConstructorParameters<typeof WorkflowEngine>[0] = {
      node: { id, name: this.identity.name, dataDir, cli: this.config.cli ?? 'se' },
      store,
      audit: this.auditLog,
      processes: this.runtime.processes,
      clock,
      newId: () => `wf-${clock.now().toString(36)}-${toHex(crypto.randomBytes(4))}`,
      env: name => system.env(name),
      maxConcurrent: this.config.maxConcurrentWorkflows ?? MAX_CONCURRENT_WORKFLOWS,
      log: this.runtime.log
    }
    opts.executors = [...(this.config.executors ?? []), {
      canRun: (_run, step) => stepKind(step) === 'container' && this.containerRunner() !== null,
      run: (_run, _step, spec, onOutput) => this.runContainer(spec as ContainerStepSpec, onOutput)
    }]
    opts.placement = { place: (run, index) => this.router?.place(run, index) ?? null }
    this.workflowEngine = new WorkflowEngine(opts)
    this.capabilities = await detectCapabilities(system, {
      nodeId: id,
      name: this.identity.name,
      version: VERSION,
      tools: this.config.tools ?? DEFAULT_TOOLS,
      credentials: this.config.credentials ?? DEFAULT_CREDENTIALS,
      tags: this.config.tags ?? []
    })
    this.startedAt = clock.now()
    await this.auditLog.append({ event: 'node_start', message: `node ${this.identity.name} (${shortId(id)}) started with ${this.capabilities.engines.join(', ')}; tools ${this.capabilities.tools.join(', ') || 'none'}${this.config.mesh === undefined ? '' : `; mesh ${this.config.mesh.name}`}`, domains: ['node'] })
    // A node that was killed could not end what it had started: those processes must
    // not run on beside the steps it is about to resume.
    const leftovers = await this.runtime.processes.endLeftovers?.(id) ?? 0
    if (leftovers > 0) {
      const message = `ended ${leftovers} process${leftovers === 1 ? '' : 'es'} that this node's previous run started and left running`
      this.runtime.log.warn(message)
      await this.auditLog.append({ event: 'leftovers_ended', message, domains: ['node'] })
    }
    this.sessionManager = new SessionManager({
      fs, clock, log: this.runtime.log,
      dir: join(dataDir, 'sessions'),
      nodeId: id,
      nodeName: this.identity.name,
      home: this.config.sessionHome ?? dataDir,
      ...(this.config.sessionIdleMs === undefined ? {} : { idleMs: this.config.sessionIdleMs }),
      newId: () => `ss-${id.slice(0, 8)}-${toHex(crypto.randomBytes(3))}`,
      audit: input => { this.audit.append(input).catch(err => this.runtime.log.warn(`audit: ${(err as Error).message}`)) },
      host: {
        api: this,
        runCommand: async (command, io) => await this.runCommand(command, io),
        isDirectory: async path => await fs.isDirectory(path),
        readText: async path => { const b = await fs.read(path); return b === null ? null : b4a.toString(b, 'utf8') }
      }
    })
    await this.sessionManager.open()
    if (this.config.mesh !== undefined) await this.startMesh(this.config.mesh)
    await this.startWorkloads()
    const recovered = await this.workflowEngine.recover()
    this.markRecovered()
    this.state = 'running'
    return recovered
  }

  private async startMesh (config: MeshConfig): Promise<void> {
    const { fs, crypto, clock, log } = this.runtime
    const outbox = new Outbox(fs, join(this.config.dataDir, 'outbox'), log)
    await outbox.open()
    this.outbox = outbox
    const deliver = async (nodeId: string): Promise<void> => {
      const member = this.meshNode?.member(nodeId)
      const api = member?.api
      if (api == null || outbox.pending(nodeId) === 0) return
      await outbox.drain(nodeId, async entry => await api.submitAuditEntry(entry))
    }
    this.stepServer = new StepServer({ runtime: this.runtime, audit: this.audit, outbox, dataDir: this.config.dataDir, nodeId: this.id, deliver, runContainer: (spec, onOutput) => this.runContainer(spec, onOutput) })
    const mesh = new Mesh({
      transport: await config.transport(this.must(this.identity).keyPair),
      keys: meshKeys(crypto, config.name, config.secret),
      crypto,
      clock,
      log,
      nodeId: this.id,
      name: this.name,
      allow: config.allow === null ? null : new Set(config.allow),
      peers: config.peers,
      timing: { ...DEFAULT_TIMING, ...config.timing },
      ...(config.observe === undefined ? {} : { observe: config.observe }),
      host: {
        capabilities: async () => await this.getCapabilities(),
        sample: () => this.sample(),
        audit: input => { this.audit.append(input).catch(err => log.warn(`audit: ${(err as Error).message}`)) },
        findNodesForWorkflow: async req => await this.findNodesForWorkflow(req),
        runStep: async (from, req, emit, onCancel) => await this.must(this.stepServer).run(from, req, emit, onCancel),
        cancelStep: async (from, workflowId, stepId) => await this.must(this.stepServer).cancel(from, workflowId, stepId),
        acceptAuditEntry: async (from, entry) => {
          // The mesh opens before the node has read its workflows back: an entry for one of them waits for that, not refused as unknown.
          await this.recovered
          // Only entries about workflows this node asked for belong in its trail.
          if (this.engine.get(entry.entry.workflowId) === undefined) throw new SeError('UNKNOWN_WORKFLOW', `node ${from.slice(0, 12)} sent an audit entry for ${entry.entry.workflowId}, which this node did not start`)
          await this.audit.appendRemote(entry)
          return true
        },
        listWorkflows: async states => await this.listWorkflows(states),
        resumeWorkflow: async (from, workflowId, result) => {
          const member = this.meshNode?.member(from)
          // Only exact ids: a member must not probe this node's workflows by prefix.
          if (this.engine.get(workflowId) === undefined) throw SeError.unknownWorkflow(workflowId)
          const by = `${result.decidedBy === '' ? 'someone' : result.decidedBy} via ${member?.name ?? from.slice(0, 8)}`
          return toStatus(await this.engine.resolve(workflowId, { ...result, decidedBy: by }))
        },
        sessions: this.sessionsForMembers(),
        tick: () => { if (this.meshNode?.usableMembers().length !== 0) this.engine.wake() },
        membersChanged: (member: Member) => {
          if (member.usable) {
            this.engine.wake()
            void deliver(member.nodeId).catch(() => {})
          }
        }
      }
    })
    this.meshNode = mesh
    this.router = new MeshRouter(mesh, () => this.must(this.capabilities), clock, input => { this.audit.append(input).catch(() => {}) })
    // Joining waits on the DHT; the node serves its own clients meanwhile.
    mesh.start()
      .then(async () => {
        this.meshJoined = true
        await mesh.provide((await this.catalogue.list()).map(c => c.name))
      })
      .catch(err => log.warn(`mesh ${config.name}: ${(err as Error).message}`))
  }

  private async startWorkloads (): Promise<void> {
    const config = this.config.workloads
    if (config === undefined) return
    const { fs, clock, crypto, log, system } = this.runtime
    this.engineSelector = new EngineSelector(config.engines, config.preferred, () => clock.now())
    const manager = new WorkloadManager({
      fs,
      clock,
      crypto,
      log,
      engines: this.engineSelector,
      dataDir: this.config.dataDir,
      nodeId: this.id,
      nodeName: this.name,
      memoryBudgetBytes: config.memoryBudgetBytes ?? Math.floor(system.memoryTotalMb * 2 ** 20 * DEFAULT_MEMORY_BUDGET_SHARE),
      ...(config.maxWorkloads === undefined ? {} : { maxWorkloads: config.maxWorkloads }),
      ...(config.healthIntervalMs === undefined ? {} : { healthIntervalMs: config.healthIntervalMs }),
      audit: async input => { await this.audit.append(input) },
      provide: name => { this.meshNode?.provide([name]).catch(err => log.warn(`announcing ${name}: ${(err as Error).message}`)) },
      withdraw: name => { this.meshNode?.withdraw([name]).catch(err => log.warn(`withdrawing ${name}: ${(err as Error).message}`)) }
    })
    await manager.open()
    this.workloadManager = manager
  }

  /** The engine that runs container steps here: podman when this node advertises it. */
  private containerRunner (): WorkloadEngine | null {
    if (!(this.capabilities?.engines.includes(CONTAINER_CAPABILITY) ?? false)) return null
    const engine = this.config.workloads?.engines.find(e => e.name === CONTAINER_CAPABILITY)
    return engine?.runContainer === undefined ? null : engine
  }

  private runContainer (spec: ContainerStepSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle {
    const engine = this.containerRunner()
    if (engine?.runContainer === undefined) throw SeError.noContainerEngine(spec.container.image)
    return engine.runContainer(spec, onOutput)
  }

  private get workloads (): WorkloadManager {
    if (this.workloadManager === null) throw new SeError('NO_CONTAINER_ENGINE', `node ${this.name} runs no workloads`, { hint: 'start the node with `se node start` (workloads need a running node)' })
    return this.workloadManager
  }

  private sample (): NodeSample {
    const { system, clock } = this.runtime
    const caps = this.must(this.capabilities)
    return {
      nodeId: this.id,
      loadAverage: system.loadAverage,
      cpus: caps.cpus,
      memoryUsedMb: Math.max(0, system.memoryTotalMb - system.memoryFreeMb),
      memoryTotalMb: system.memoryTotalMb,
      workflowsRunning: this.engine.counts().running,
      workloadsRunning: (this.stepServer?.count ?? 0) + (this.workloadManager?.count() ?? 0),
      sentAt: clock.now()
    }
  }

  async stop (): Promise<void> {
    if (this.state !== 'running') return
    this.state = 'stopping'
    await this.engine.shutdown(this.config.shutdownGraceMs ?? SHUTDOWN_GRACE_MS)
    await this.sessionManager?.close()
    await this.workloadManager?.close()
    await this.meshNode?.stop().catch(err => this.runtime.log.warn(`leaving the mesh: ${(err as Error).message}`))
    const counts = this.engine.counts()
    await this.audit.append({ event: 'node_stop', message: `node ${this.name} stopped; ${counts.running + counts.pending} workflow(s) checkpointed, ${counts.waiting} waiting for an intervention`, domains: ['node'] })
    await this.audit.close()
    this.state = 'stopped'
    await this.release()
  }

  private find (idOrPrefix: string): WorkflowRun {
    const exact = this.engine.get(idOrPrefix)
    if (exact !== undefined) return exact
    const matches = idOrPrefix.length >= 4 ? this.engine.list().filter(r => r.id.startsWith(idOrPrefix)) : []
    if (matches.length === 1) return matches[0] as WorkflowRun
    if (matches.length > 1) throw new SeError('BAD_INPUT', `'${idOrPrefix}' matches ${matches.length} workflows: ${matches.map(r => r.id).join(', ')}`)
    throw SeError.unknownWorkflow(idOrPrefix)
  }

  // ---- SENodeCoordination

  async executeWorkflow (request: WorkflowRequest): Promise<WorkflowStatus> {
    if (this.state !== 'running') throw new SeError('SHUTTING_DOWN', 'this node is not accepting workflows')
    let definition: WorkflowDefinition
    let sourceFile: string | null
    if (request.definition === null || request.definition === '') {
      const item = await this.catalogue.find(request.source)
      definition = item.definition
      sourceFile = item.file
    } else {
      sourceFile = resolve(request.workdir, request.source)
      definition = parseWorkflow(request.definition, request.source)
    }
    const routing = this.route(definition)
    const inputs = resolveInputs(definition, request.inputs, request.workdir, request.source)
    const run = await this.engine.start({ definition, source: sourceFile ?? request.source, sourceFile, inputs, workdir: request.workdir, requestedBy: request.requestedBy === '' ? this.id : request.requestedBy, ...(routing === undefined ? {} : { routing }) })
    return toStatus(run)
  }

  /** Decides where the workflow runs, after checking every step with its own requirements has somewhere to run. */
  private route (definition: WorkflowDefinition): { nodeId: string | null, name: string, ms: number } | undefined {
    const started = this.runtime.clock.now()
    if (this.router === null) {
      const caps = this.must(this.capabilities)
      const unmet = [
        ...unmetRequirements(caps, definition.requires),
        ...definition.steps.flatMap(s => unmetRequirements(caps, stepRequirements(s)).map(u => `${u} for step ${s.id}`))
      ]
      if (unmet.length > 0) {
        throw new SeError('NO_CAPABLE_NODE', `${definition.name} needs ${unmet.join(', ')}, which node ${this.name} does not have`, {
          hint: 'install what is missing, add a tag with --capability, or join a mesh with a node that has it'
        })
      }
      return undefined
    }
    for (const s of definition.steps) {
      const own = stepRequirements(s, definition.requires)
      if (own !== undefined) this.router.choose(own, `step ${s.id} of ${definition.name}`)
    }
    const choice = this.router.choose(definition.requires, definition.name)
    const ms = this.runtime.clock.now() - started
    return choice === null
      ? { nodeId: null, name: `this node ${this.name}`, ms }
      : { nodeId: choice.nodeId, name: `${choice.name} (${shortId(choice.nodeId)})`, ms }
  }

  async getWorkflowStatus (workflowId: string): Promise<WorkflowStatus> {
    return toStatus(this.find(workflowId))
  }

  async resumeWorkflow (workflowId: string, result: InterventionResult): Promise<WorkflowStatus> {
    let run: WorkflowRun
    try {
      run = this.find(workflowId)
    } catch (err) {
      // Not held here: the member holding it answers (the dashboard shows the whole mesh's interventions).
      if (!(err instanceof SeError) || err.code !== 'UNKNOWN_WORKFLOW' || this.meshNode === null) throw err
      // All at once: only the holder can act on it, and a member that stopped answering
      // must not keep the holder from being asked.
      return await askTheHolder(this.meshNode.usableMembers(), async api => await api.resumeWorkflow(workflowId, result),
        remote => remote instanceof SeError && remote.code === 'UNKNOWN_WORKFLOW', () => err, { deadlineMs: RPC_TIMEOUT_MS })
    }
    return toStatus(await this.engine.resolve(run.id, result))
  }

  async listInterventions (): Promise<WorkflowStatus[]> {
    const local = await this.listWorkflows(['waiting_intervention'])
    const remote = await gatherFromMembers(this.meshNode?.usableMembers() ?? [], async api => await api.listWorkflows(['waiting_intervention']), this.meshQuery('waiting interventions'))
    return [...local, ...remote]
  }

  private meshQuery (what: string): AskOptions {
    return {
      deadlineMs: MESH_QUERY_TIMEOUT_MS,
      onLate: names => this.runtime.log.warn(`${what}: no answer within ${MESH_QUERY_TIMEOUT_MS} ms from ${names.join(', ')}; listed without them`)
    }
  }

  async getCapabilities (): Promise<NodeCapabilities> {
    const caps = this.must(this.capabilities)
    const { system } = this.runtime
    return { ...caps, memoryFreeMb: system.memoryFreeMb, loadAverage: system.loadAverage }
  }

  async requestWorkflowHandoff (workflowId: string, snapshot: string, fromNode: string): Promise<WorkflowStatus> {
    let run: WorkflowRun
    try {
      run = JSON.parse(snapshot) as WorkflowRun
      const parsed = workflowSchema.safeParse(run.definition)
      if (!/^wf-[a-z0-9]+-[0-9a-f]+$/.test(workflowId)) throw new Error(`'${workflowId}' is not a workflow id`)
      if (!parsed.success || run.id !== workflowId || !Array.isArray(run.steps) || run.steps.length !== parsed.data.steps.length || run.steps.some(s => s === null || typeof s !== 'object' || typeof s.state !== 'string')) throw new Error('not a run record of that workflow')
      run.definition = parsed.data
    } catch (err) {
      throw new SeError('BAD_REQUEST', `handoff snapshot for ${workflowId} is unusable: ${(err as Error).message}`)
    }
    return toStatus(await this.engine.adopt(run, fromNode))
  }

  async notifyWorkflowComplete (status: WorkflowStatus): Promise<boolean> {
    const run = this.find(status.id)
    return isFinished(run)
  }

  // ---- SENodeCapabilities

  async registerCapabilities (capabilities: NodeCapabilities): Promise<boolean> {
    const known = this.peers.get(capabilities.nodeId)
    this.peers.set(capabilities.nodeId, { capabilities, lastSeen: this.runtime.clock.now(), latencyMs: known?.latencyMs ?? null })
    return true
  }

  async findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]> {
    const candidates = this.router?.candidates() ?? [{ caps: await this.getCapabilities(), latencyMs: 0 }]
    for (const peer of this.peers.values()) if (!candidates.some(c => c.caps.nodeId === peer.capabilities.nodeId)) candidates.push({ caps: peer.capabilities, latencyMs: peer.latencyMs })
    return rankNodes(candidates, requirements)
  }

  async submitAuditEntry (entry: SignedAuditEntry): Promise<boolean> {
    await this.audit.appendRemote(entry)
    return true
  }

  async getDistributedAuditSummary (workflowId: string | null): Promise<WorkflowAuditSummary[]> {
    return summariseAudit(await this.audit.read(workflowId === null ? {} : { workflowId }), workflowId)
  }

  // ---- SPlectrumEngine

  async execute (command: Command): Promise<ExecutionResult> {
    const sessionId = command.sessionId
    const sessions = this.sessionManager
    if (sessionId === null || sessions === null || !sessions.has(sessionId)) return await this.runCommand(command)
    // A command sent into a session runs where the session stands and shows in its output.
    const result = await this.runCommand({ ...command, workdir: command.workdir ?? sessions.cwdOf(sessionId) })
    sessions.record(sessionId, [command.command, ...command.args].join(' '), result)
    return result
  }

  /** With `io` (a session line), output streams while the command runs and the command can be stopped with its children. */
  private async runCommand (command: Command, io?: CommandIo): Promise<ExecutionResult> {
    const allow = this.config.allowCommands ?? null
    if (allow !== null && !allow.includes(command.command)) {
      await this.audit.append({ event: 'rpc_refused', message: `execute of '${command.command}' refused: not on the allowlist`, domains: ['engine'] })
      throw new SeError('COMMAND_NOT_ALLOWED', `'${command.command}' is not on this node's command allowlist`, { hint: `allowed: ${allow.join(', ') || 'nothing'}` })
    }
    const cwd = command.workdir ?? this.config.dataDir
    const spec: ProcessSpec = {
      command: command.command,
      args: command.args,
      cwd,
      // Marked as ours, as steps are, so a restart after a crash can find what outlived it.
      env: { ...command.env, SE_NODE_ID: this.id },
      ...(io === undefined ? {} : { processGroup: true })
    }
    if (command.timeoutMs !== null) spec.timeoutMs = command.timeoutMs
    const handle = this.runtime.processes.run(spec, io?.onOutput)
    io?.onStart(() => { handle.kill() })
    const result = await handle.result
    await this.audit.append({
      event: 'command_execute',
      message: `${[command.command, ...command.args].join(' ')} → ${result.spawnError ?? `exit ${result.exitCode ?? result.signal ?? '?'}`}`,
      domains: ['engine'],
      files: [cwd],
      performanceMetrics: { durationMs: result.durationMs }
    })
    return {
      exitCode: result.exitCode ?? (result.spawnError !== null ? 127 : 128),
      stdout: result.stdout,
      stderr: result.spawnError ?? result.stderr,
      duration: result.durationMs,
      sessionId: command.sessionId
    }
  }

  async executeBatch (job: BatchJob): Promise<BatchResult> {
    const results: ExecutionResult[] = []
    for (const command of job.commands) {
      const result = await this.execute({ ...command, sessionId: command.sessionId ?? job.sessionId })
      results.push(result)
      if (result.exitCode !== 0 && job.stopOnError) return { results, completed: false }
    }
    return { results, completed: true }
  }

  // ---- SENodeControl

  async ping (): Promise<NodeInfo> {
    const counts = this.engine.counts()
    return {
      nodeId: this.id,
      name: this.name,
      version: VERSION,
      dataDir: this.config.dataDir,
      pid: this.config.pid ?? 0,
      startedAt: this.startedAt,
      workflowsRunning: counts.running + counts.pending,
      workflowsWaiting: counts.waiting,
      mesh: this.config.mesh?.name ?? null
    }
  }

  async listWorkflows (states: string[]): Promise<WorkflowStatus[]> {
    return this.engine.list().filter(r => states.length === 0 || states.includes(r.state)).map(toStatus)
  }

  async cancelWorkflow (workflowId: string, reason: string): Promise<WorkflowStatus> {
    return toStatus(await this.engine.cancel(this.find(workflowId).id, reason))
  }

  /** Streams a workflow's events until it finishes; `onEvent` returning false stops the watch. */
  watchWorkflow (workflowId: string, onEvent: (event: WorkflowEvent) => boolean | void, onCancel?: (listener: () => void) => void): Promise<WorkflowStatus> {
    const found = this.find(workflowId)
    if (isFinished(found)) return Promise.resolve(toStatus(found))
    // What the engine shows is read anew at each event: it is the durable state, a new object when it changes.
    const current = (): WorkflowRun => this.engine.get(found.id) ?? found
    return new Promise(resolve => {
      let stopped = false
      const deliver = (event: WorkflowEvent): void => {
        if (stopped || event.workflowId !== found.id) return
        const wanted = onEvent(event)
        if (wanted === false || (event.kind === 'WORKFLOW' && isFinished(current()))) {
          stopped = true
          stop()
          resolve(toStatus(current()))
        }
      }
      const stop = this.engine.onEvent(deliver)
      // A client that goes away stops its watch now, not when the workflow ends (which may be days later).
      onCancel?.(() => {
        if (stopped) return
        stopped = true
        stop()
        resolve(toStatus(current()))
      })
      // A watcher that arrives while the workflow already waits must still hear the question.
      const run = current()
      if (run.intervention !== null) {
        deliver({ workflowId: run.id, kind: 'INTERVENTION', state: run.state, stepId: run.intervention.stepId, text: run.intervention.prompt, at: this.runtime.clock.now() })
      }
    })
  }

  async listCatalogue (): Promise<CatalogueEntry[]> {
    return await this.catalogue.list()
  }

  async readAudit (query: AuditQuery): Promise<AuditRecord[]> {
    return await this.audit.read(query)
  }

  async verifyAudit (): Promise<AuditVerification> {
    return await this.audit.verify()
  }

  async listNodes (): Promise<MeshNode[]> {
    const self: MeshNode = { nodeId: this.id, name: this.name, self: true, state: 'up', lastSeen: this.runtime.clock.now(), capabilities: await this.getCapabilities(), sample: this.sample(), latencyMs: 0 }
    return [self, ...(this.meshNode?.view() ?? [])]
  }

  async findProviders (id: string): Promise<ProviderRecord[]> {
    if (this.meshNode !== null) return await this.meshNode.findProviders(id)
    const local = (await this.catalogue.list()).some(c => c.name === id)
    return local ? [{ id, nodeId: this.id, name: this.name, state: 'up' }] : []
  }

  // ---- workloads

  async deployWorkload (request: DeployRequest): Promise<WorkloadStatus> {
    return await this.workloads.deploy(request)
  }

  async listWorkloads (): Promise<WorkloadStatus[]> {
    return this.workloadManager?.list() ?? []
  }

  async removeWorkload (id: string): Promise<WorkloadStatus> {
    return await this.workloads.remove(id)
  }

  async workloadStats (id: string | null): Promise<ContainerStats[]> {
    return await this.workloads.stats(id)
  }

  async workloadLogs (id: string, follow: boolean, tail: number, onLine: (line: WorkloadLogLine) => boolean | void, onCancel?: (listener: () => void) => void): Promise<boolean> {
    let stop: (() => void) | null = null
    return await this.workloads.logs(id, follow, tail, line => { if (onLine(line) === false) stop?.() }, s => { stop = s; onCancel?.(s) })
  }

  watchWorkloads (onEvent: (event: WorkloadEvent) => boolean | void, onCancel?: (listener: () => void) => void): Promise<boolean> {
    return new Promise(resolve => {
      const off = this.workloads.onEvent(e => { if (onEvent(e) === false) { off(); resolve(true) } })
      onCancel?.(() => { off(); resolve(true) })
    })
  }

  // ---- SESession: a session is answered by the node holding it; its id names that node.

  /** The user a local session belongs to, or null (for front ends that check ownership themselves). */
  sessionOwner (sessionId: string): string | null {
    return this.sessionManager?.ownerOf(sessionId) ?? null
  }

  async sessionNew (owner: string, name: string | null, node: string | null, via = ''): Promise<SessionInfo> {
    const sessions = this.must(this.sessionManager)
    if (node === null || node === this.name || this.id.startsWith(node)) return await sessions.create(owner, name, via)
    const member = this.meshNode?.usableMembers().find(m => m.name === node || m.nodeId.startsWith(node))
    if (member?.api == null) throw new SeError('NO_CAPABLE_NODE', `no usable mesh member named ${node}`, { hint: 'see `se nodes` for the members and their names' })
    return await member.api.sessionNew(owner, name, null)
  }

  async sessionList (owner: string): Promise<SessionInfo[]> {
    const local = this.must(this.sessionManager).list(owner)
    const remote = await gatherFromMembers(this.meshNode?.usableMembers() ?? [], async api => await api.sessionList(owner), this.meshQuery('sessions'))
    return [...local, ...remote]
  }

  sessionAttach (sessionId: string, owner: string, fromSeq: number, onOutput: (output: SessionOutput) => boolean | void, onCancel?: (listener: () => void) => void, via = ''): Promise<SessionInfo> {
    const sessions = this.must(this.sessionManager)
    if (sessions.has(sessionId)) return sessions.attach(sessionId, owner, fromSeq, o => { onOutput(o) }, onCancel ?? (() => {}), via)
    const api = this.sessionHolder(sessionId)
    return api.sessionAttach(sessionId, owner, fromSeq, onOutput, onCancel)
  }

  async sessionInput (sessionId: string, owner: string, line: string): Promise<number> {
    const sessions = this.must(this.sessionManager)
    if (sessions.has(sessionId)) return sessions.input(sessionId, owner, line)
    return await this.sessionHolder(sessionId).sessionInput(sessionId, owner, line)
  }

  async sessionClose (sessionId: string, owner: string): Promise<SessionInfo> {
    const sessions = this.must(this.sessionManager)
    if (sessions.has(sessionId)) return await sessions.closeSession(sessionId, owner, `closed by ${owner}`)
    return await this.sessionHolder(sessionId).sessionClose(sessionId, owner)
  }

  private sessionHolder (sessionId: string): MeshPeerApi {
    const prefix = /^ss-([0-9a-f]{8})-/.exec(sessionId)?.[1]
    const member = prefix === undefined ? undefined : this.meshNode?.usableMembers().find(m => m.nodeId.startsWith(prefix))
    if (member?.api == null) throw new SeError('SESSION_NOT_FOUND', `no open session ${sessionId} here or on a reachable mesh member`, { hint: 'list yours with `se session list`' })
    return member.api
  }

  /** What mesh members may ask of this node's own sessions; never forwarded further. */
  private sessionsForMembers (): NonNullable<import('../mesh/mesh.js').MeshHost['sessions']> {
    const sessions = (): SessionManager => this.must(this.sessionManager)
    const via = (from: string): string => ` via ${this.meshNode?.member(from)?.name ?? from.slice(0, 8)}`
    return {
      sessionNew: async (from, owner, name) => await sessions().create(owner, name, via(from)),
      sessionList: async (_from, owner) => sessions().list(owner),
      sessionAttach: async (from, id, owner, fromSeq, emit, onCancel) => await sessions().attach(id, owner, fromSeq, emit, onCancel, via(from)),
      sessionInput: async (_from, id, owner, line) => sessions().input(id, owner, line),
      sessionClose: async (from, id, owner) => await sessions().closeSession(id, owner, `closed by ${owner}${via(from)}`)
    }
  }
}
