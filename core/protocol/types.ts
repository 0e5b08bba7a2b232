// TypeScript shapes of the Avro records in schema.ts. The round-trip test in
// test/protocol.test.ts keeps the two in step.

export interface Requirements { capabilities: string[], memoryMb: number | null, cpus: number | null }

export interface NodeCapabilities {
  nodeId: string
  name: string
  runtime: string
  version: string
  platform: string
  arch: string
  engines: string[]
  tools: string[]
  credentials: string[]
  tags: string[]
  cpus: number
  memoryTotalMb: number
  memoryFreeMb: number
  loadAverage: number
}

export interface NodeMatch { nodeId: string, name: string, capable: boolean, unmet: string[], loadAverage: number, latencyMs: number | null }

export interface WorkflowRequest {
  definition: string | null
  source: string
  inputs: Record<string, string>
  workdir: string
  requestedBy: string
}

export interface StepStatus {
  id: string
  kind: string
  state: string
  attempts: number
  exitCode: number | null
  node: string | null
  startedAt: number | null
  endedAt: number | null
  durationMs: number | null
  stdout: string
  stderr: string
  error: string | null
  choice: string | null
  comment: string | null
}

export interface InterventionRequest { stepId: string, prompt: string, choices: string[], reason: string, requestedAt: number }

export interface WorkflowStatus {
  id: string
  name: string
  state: string
  source: string
  node: string
  requestedBy: string
  createdAt: number
  startedAt: number | null
  endedAt: number | null
  currentStep: string | null
  error: string | null
  inputs: Record<string, string>
  steps: StepStatus[]
  intervention: InterventionRequest | null
}

export interface InterventionResult { choice: string, comment: string | null, decidedBy: string }

export type WorkflowEventKind = 'WORKFLOW' | 'STEP' | 'OUTPUT' | 'INTERVENTION'
export interface WorkflowEvent { workflowId: string, kind: WorkflowEventKind, state: string, stepId: string | null, text: string, at: number }

export interface CatalogueEntry { name: string, description: string, source: string, inputs: string[] }

export interface Command { command: string, args: string[], workdir: string | null, sessionId: string | null, env: Record<string, string>, timeoutMs: number | null }
export interface ExecutionResult { exitCode: number, stdout: string, stderr: string, duration: number, sessionId: string | null }
export interface BatchJob { commands: Command[], stopOnError: boolean, sessionId: string | null }
export interface BatchResult { results: ExecutionResult[], completed: boolean }

export interface DistributedAuditEntry {
  timestamp: number
  sourceNodeId: string
  workflowId: string
  workflowStep: string
  executionContext: string
  domains: string[]
  files: string[]
  interventionRequired: boolean
  performanceMetrics: Record<string, number>
  event: string
  message: string
}

export interface AuditRecord {
  seq: number
  entry: DistributedAuditEntry
  prevHash: string
  hash: string
  signature: string
  originSignature: string | null
}

export interface SignedAuditEntry { entry: DistributedAuditEntry, signature: string }
export interface AuditQuery { workflowId: string | null, fromSeq: number, limit: number }
export interface AuditProblem { seq: number, line: number, kind: string, message: string }
export interface AuditVerification { ok: boolean, entries: number, problems: AuditProblem[] }

export interface WorkflowAuditSummary {
  workflowId: string
  name: string
  state: string
  startedAt: number | null
  endedAt: number | null
  durationMs: number | null
  steps: number
  stepFailures: number
  interventions: number
  nodes: string[]
  stepDurationsMs: Record<string, number>
  routingMs: number | null
  networkLatencyMs: number | null
}

export interface NodeInfo {
  nodeId: string
  name: string
  version: string
  dataDir: string
  pid: number
  startedAt: number
  workflowsRunning: number
  workflowsWaiting: number
  mesh: string | null
}

export interface RemoteError {
  code: string
  message: string
  hint: string | null
  details: Array<{ file: string | null, path: string | null, line: number | null, message: string }>
}

/** The node API: what a node answers, locally in-process or through any transport. */
export interface NodeSample {
  nodeId: string
  loadAverage: number
  cpus: number
  memoryUsedMb: number
  memoryTotalMb: number
  workflowsRunning: number
  workloadsRunning: number
  sentAt: number
}

export type MemberState = 'up' | 'suspect' | 'down'

export interface MeshNode {
  nodeId: string
  name: string
  self: boolean
  state: MemberState
  lastSeen: number | null
  capabilities: NodeCapabilities
  sample: NodeSample | null
  latencyMs: number | null
}

export interface StepRequest {
  workflowId: string
  workflowName: string
  stepId: string
  attempt: number
  command: string
  args: string[]
  cwd: string | null
  env: Record<string, string>
  timeoutMs: number | null
  container: ContainerStep | null
}

export interface ContainerStep {
  image: string
  mounts: Array<{ source: string, target: string, readOnly: boolean }>
  memory: string | null
  cpus: number | null
  workdir: string | null
}

export interface StepOutcome {
  exitCode: number | null
  signal: string | null
  stdout: string
  stderr: string
  durationMs: number
  timedOut: boolean
  spawnError: string | null
  cwd: string
}

export interface ProviderRecord { id: string, nodeId: string, name: string | null, state: string }

export interface DeployRequest {
  /** The manifest's text (YAML or JSON). */
  manifest: string
  /** Its path on the requesting machine, for messages. */
  source: string
  replicas: number | null
  /** Per container, in podman's units (512m, 1g). */
  memory: string | null
  cpus: number | null
  env: Record<string, string>
  engine: string | null
}

export interface WorkloadContainer { pod: string, name: string, image: string, state: string, exitCode: number | null, restarts: number }

export interface WorkloadStatus {
  id: string
  name: string
  kind: string
  source: string
  engine: string
  node: string
  nodeName: string
  /** queued | deploying | starting | running | exited | failed | removing | removed */
  state: string
  reason: string | null
  replicas: number
  pods: string[]
  ports: string[]
  restarts: number
  createdAt: number
  startedAt: number | null
  memoryLimitBytes: number | null
  cpus: number | null
  containers: WorkloadContainer[]
}

export interface WorkloadEvent { workloadId: string, name: string, event: string, state: string, text: string, at: number }

export interface WorkloadLogLine { workloadId: string, container: string, stream: string, text: string }

export interface ContainerStats {
  workloadId: string
  pod: string
  name: string
  cpuPercent: number
  memoryBytes: number
  memoryLimitBytes: number | null
  netInBytes: number
  netOutBytes: number
  pids: number
}

export interface SessionInfo {
  id: string
  name: string | null
  owner: string
  nodeId: string
  nodeName: string
  /** open | closed */
  state: string
  cwd: string
  createdAt: number
  lastActiveAt: number
  attached: number
  busy: boolean
  closedReason: string | null
}

/** stream: input (the line, echoed) | stdout | stderr | info | closed */
export interface SessionOutput { sessionId: string, seq: number, stream: string, text: string, at: number }

export interface SessionApi {
  sessionNew (owner: string, name: string | null, node: string | null): Promise<SessionInfo>
  sessionList (owner: string): Promise<SessionInfo[]>
  /** Sends the kept output from fromSeq, then live output; a listener returning false detaches. */
  sessionAttach (sessionId: string, owner: string, fromSeq: number, onOutput: (output: SessionOutput) => boolean | void, onCancel?: (listener: () => void) => void): Promise<SessionInfo>
  sessionInput (sessionId: string, owner: string, line: string): Promise<number>
  sessionClose (sessionId: string, owner: string): Promise<SessionInfo>
}

export interface MeshHello { version: number, nodeId: string, name: string, proof: Uint8Array }

/** What one mesh member may ask of another (SEMeshPeer plus parts of SENodeCapabilities). */
export interface MeshPeerApi extends SessionApi {
  heartbeat (sample: NodeSample): Promise<NodeSample>
  runStep (request: StepRequest, onEvent: (event: WorkflowEvent) => boolean | void): Promise<StepOutcome>
  cancelStep (workflowId: string, stepId: string): Promise<boolean>
  registerCapabilities (capabilities: NodeCapabilities): Promise<boolean>
  getCapabilities (): Promise<NodeCapabilities>
  findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]>
  submitAuditEntry (entry: SignedAuditEntry): Promise<boolean>
  listWorkflows (states: string[]): Promise<WorkflowStatus[]>
  resumeWorkflow (workflowId: string, result: InterventionResult): Promise<WorkflowStatus>
}

export interface NodeApi extends SessionApi {
  // SENodeCoordination
  executeWorkflow (request: WorkflowRequest): Promise<WorkflowStatus>
  getWorkflowStatus (workflowId: string): Promise<WorkflowStatus>
  resumeWorkflow (workflowId: string, result: InterventionResult): Promise<WorkflowStatus>
  getCapabilities (): Promise<NodeCapabilities>
  requestWorkflowHandoff (workflowId: string, snapshot: string, fromNode: string): Promise<WorkflowStatus>
  notifyWorkflowComplete (status: WorkflowStatus): Promise<boolean>
  // SENodeCapabilities
  registerCapabilities (capabilities: NodeCapabilities): Promise<boolean>
  findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]>
  submitAuditEntry (entry: SignedAuditEntry): Promise<boolean>
  getDistributedAuditSummary (workflowId: string | null): Promise<WorkflowAuditSummary[]>
  // SPlectrumEngine
  execute (command: Command): Promise<ExecutionResult>
  executeBatch (job: BatchJob): Promise<BatchResult>
  // SENodeControl
  ping (): Promise<NodeInfo>
  listWorkflows (states: string[]): Promise<WorkflowStatus[]>
  cancelWorkflow (workflowId: string, reason: string): Promise<WorkflowStatus>
  /** Streams events until the workflow finishes; a listener returning false stops it early (a remote call then rejects with CANCELLED). */
  watchWorkflow (workflowId: string, onEvent: (event: WorkflowEvent) => boolean | void): Promise<WorkflowStatus>
  listCatalogue (): Promise<CatalogueEntry[]>
  readAudit (query: AuditQuery): Promise<AuditRecord[]>
  verifyAudit (): Promise<AuditVerification>
  listNodes (): Promise<MeshNode[]>
  findProviders (id: string): Promise<ProviderRecord[]>
  /** Workflows waiting for a person on this node and on every usable mesh member. */
  listInterventions (): Promise<WorkflowStatus[]>
  deployWorkload (request: DeployRequest): Promise<WorkloadStatus>
  listWorkloads (): Promise<WorkloadStatus[]>
  removeWorkload (id: string): Promise<WorkloadStatus>
  workloadStats (id: string | null): Promise<ContainerStats[]>
  /** Sends the last `tail` lines of each container (all when negative), then, with follow, new ones until cancelled. */
  workloadLogs (id: string, follow: boolean, tail: number, onLine: (line: WorkloadLogLine) => boolean | void): Promise<boolean>
  /** Streams deployed, started, exited, failed and removed events until cancelled. */
  watchWorkloads (onEvent: (event: WorkloadEvent) => boolean | void): Promise<boolean>
}
