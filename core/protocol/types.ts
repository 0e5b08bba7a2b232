// TypeScript shapes of the protocol: every record and enum is derived from its
// one declaration in schema.ts (schema-types.ts maps Avro to TypeScript), so the
// two cannot drift apart; what a field means is its `doc` there. The API
// interfaces below are written out for their parameter names and docs, and held
// to the schema's messages both ways: types and count by conformance.ts, names
// by test/protocol.test.ts.
import type { TYPES } from './schema.js'
import type { AvroValue, RegistryOf } from './schema-types.js'

/** Every named type of the protocol, nested ones included, by name. */
export type ProtocolRegistry = RegistryOf<typeof TYPES>

/** The TypeScript value of the named Avro type N. */
export type ProtocolValue<N extends keyof ProtocolRegistry> = AvroValue<N, ProtocolRegistry>

export interface Requirements extends ProtocolValue<'Requirements'> {}
export interface NodeCapabilities extends ProtocolValue<'NodeCapabilities'> {}
export interface NodeMatch extends ProtocolValue<'NodeMatch'> {}
export interface WorkflowRequest extends ProtocolValue<'WorkflowRequest'> {}
export interface ArtifactRecord extends ProtocolValue<'ArtifactRecord'> {}
export interface StepStatus extends ProtocolValue<'StepStatus'> {}
export interface Approval extends ProtocolValue<'Approval'> {}
export interface InterventionRequest extends ProtocolValue<'InterventionRequest'> {}
export interface WorkflowStatus extends ProtocolValue<'WorkflowStatus'> {}
export interface InterventionResult extends ProtocolValue<'InterventionResult'> {}
export type WorkflowEventKind = ProtocolValue<'WorkflowEventKind'>
export interface WorkflowEvent extends ProtocolValue<'WorkflowEvent'> {}
export interface CatalogueEntry extends ProtocolValue<'CatalogueEntry'> {}
export interface CatalogueInput extends ProtocolValue<'CatalogueInput'> {}
export interface Command extends ProtocolValue<'Command'> {}
export interface ExecutionResult extends ProtocolValue<'ExecutionResult'> {}
export interface BatchJob extends ProtocolValue<'BatchJob'> {}
export interface BatchResult extends ProtocolValue<'BatchResult'> {}
export interface DistributedAuditEntry extends ProtocolValue<'DistributedAuditEntry'> {}
export interface AuditRecord extends ProtocolValue<'AuditRecord'> {}
export interface SignedAuditEntry extends ProtocolValue<'SignedAuditEntry'> {}
export interface Decision extends ProtocolValue<'Decision'> {}
export interface SignedDecision extends ProtocolValue<'SignedDecision'> {}
export interface AuditQuery extends ProtocolValue<'AuditQuery'> {}
export interface AuditProblem extends ProtocolValue<'AuditProblem'> {}
export interface AuditVerification extends ProtocolValue<'AuditVerification'> {}
export interface WorkflowAuditSummary extends ProtocolValue<'WorkflowAuditSummary'> {}
export interface NodeInfo extends ProtocolValue<'NodeInfo'> {}
export interface NodeSample extends ProtocolValue<'NodeSample'> {}
export interface MeshNode extends ProtocolValue<'MeshNode'> {}
export interface StepRequest extends ProtocolValue<'StepRequest'> {}
export interface ContainerStep extends ProtocolValue<'ContainerStep'> {}
export interface ArtifactUse extends ProtocolValue<'ArtifactUse'> {}
export interface ArtifactPublish extends ProtocolValue<'ArtifactPublish'> {}
export interface ContainerMount extends ProtocolValue<'ContainerMount'> {}
export interface StepOutcome extends ProtocolValue<'StepOutcome'> {}
export interface ProviderRecord extends ProtocolValue<'ProviderRecord'> {}
export interface DeployRequest extends ProtocolValue<'DeployRequest'> {}
export interface WorkloadStatus extends ProtocolValue<'WorkloadStatus'> {}
export interface WorkloadContainer extends ProtocolValue<'WorkloadContainer'> {}
export interface WorkloadEvent extends ProtocolValue<'WorkloadEvent'> {}
export interface WorkloadLogLine extends ProtocolValue<'WorkloadLogLine'> {}
export interface ContainerStats extends ProtocolValue<'ContainerStats'> {}
export interface MeshHello extends ProtocolValue<'MeshHello'> {}
export interface GossipUpdate extends ProtocolValue<'GossipUpdate'> {}
export interface GossipMeta extends ProtocolValue<'GossipMeta'> {}
export interface GossipAck extends ProtocolValue<'GossipAck'> {}
export interface IndirectAck extends ProtocolValue<'IndirectAck'> {}
export interface SessionInfo extends ProtocolValue<'SessionInfo'> {}
export interface SessionOutput extends ProtocolValue<'SessionOutput'> {}
export interface RemoteError extends ProtocolValue<'RemoteError'> {}
export interface RemoteErrorDetail extends ProtocolValue<'RemoteErrorDetail'> {}

/** A mesh member's state as the node tracks it; MeshNode carries it as a string (doc: up | suspect | down). */
export type MemberState = 'up' | 'suspect' | 'down'

export interface SessionApi {
  sessionNew (owner: string, name: string | null, node: string | null): Promise<SessionInfo>
  sessionList (owner: string): Promise<SessionInfo[]>
  /** Sends the kept output from fromSeq, then live output; a listener returning false detaches. */
  sessionAttach (sessionId: string, owner: string, fromSeq: number, onOutput: (output: SessionOutput) => boolean | void, onCancel?: (listener: () => void) => void): Promise<SessionInfo>
  sessionInput (sessionId: string, owner: string, line: string): Promise<number>
  sessionClose (sessionId: string, owner: string): Promise<SessionInfo>
}

/** What one mesh member may ask of another: SEMeshPeer, sessions, and parts of SENodeCoordination, SENodeCapabilities and SENodeControl. */
export interface MeshPeerApi extends SessionApi {
  heartbeat (sample: NodeSample): Promise<NodeSample>
  runStep (request: StepRequest, onEvent: (event: WorkflowEvent) => boolean | void): Promise<StepOutcome>
  cancelStep (workflowId: string, stepId: string): Promise<boolean>
  attachStep (workflowId: string, stepId: string, attempt: number, onEvent: (event: WorkflowEvent) => boolean | void): Promise<StepOutcome>
  findCommands (commands: string[]): Promise<string[]>
  allowedActions (): Promise<string[]>
  gossipPing (updates: GossipUpdate[]): Promise<GossipAck>
  gossipPingReq (target: string, updates: GossipUpdate[]): Promise<IndirectAck>
  gossipSync (state: GossipUpdate[]): Promise<GossipUpdate[]>
  neighbour (): Promise<boolean>
  unlink (): Promise<boolean>
  registerCapabilities (capabilities: NodeCapabilities): Promise<boolean>
  getCapabilities (): Promise<NodeCapabilities>
  findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]>
  submitAuditEntry (entry: SignedAuditEntry): Promise<boolean>
  listWorkflows (states: string[]): Promise<WorkflowStatus[]>
  resumeWorkflow (workflowId: string, result: InterventionResult): Promise<WorkflowStatus>
}

/** The node API: what a node answers its own clients, in-process or through any transport (every message but SEMeshPeer's). */
export interface NodeApi extends SessionApi {
  // SENodeCoordination
  executeWorkflow (request: WorkflowRequest): Promise<WorkflowStatus>
  getWorkflowStatus (workflowId: string): Promise<WorkflowStatus>
  resumeWorkflow (workflowId: string, result: InterventionResult): Promise<WorkflowStatus>
  getCapabilities (): Promise<NodeCapabilities>
  // SENodeCapabilities
  findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]>
  submitAuditEntry (entry: SignedAuditEntry): Promise<boolean>
  getDistributedAuditSummary (workflowId: string | null): Promise<WorkflowAuditSummary[]>
  // SPlectrumEngine
  execute (command: Command): Promise<ExecutionResult>
  executeBatch (job: BatchJob): Promise<BatchResult>
  // SENodeControl
  ping (): Promise<NodeInfo>
  listWorkflows (states: string[]): Promise<WorkflowStatus[]>
  /** `signed`: a person's decision to cancel (choice `cancel`, the reason as its comment), checked and kept in the trail. */
  cancelWorkflow (workflowId: string, reason: string, signed: SignedDecision | null): Promise<WorkflowStatus>
  /** Streams events until the workflow finishes; a listener returning false stops it early (a remote call then rejects with CANCELLED). */
  watchWorkflow (workflowId: string, onEvent: (event: WorkflowEvent) => boolean | void): Promise<WorkflowStatus>
  listCatalogue (): Promise<CatalogueEntry[]>
  readAudit (query: AuditQuery): Promise<AuditRecord[]>
  verifyAudit (): Promise<AuditVerification>
  listNodes (): Promise<MeshNode[]>
  findProviders (id: string): Promise<ProviderRecord[]>
  listArtifacts (workflowId: string): Promise<ArtifactRecord[]>
  /** `name` is NAME, or STEP.NAME when several instances published one of that name. */
  getArtifact (workflowId: string, name: string, dir: string): Promise<ArtifactRecord>
  /** Workflows waiting for a person on this node and on every usable mesh member. */
  listInterventions (): Promise<WorkflowStatus[]>
  deployWorkload (request: DeployRequest): Promise<WorkloadStatus>
  /** deployWorkload, telling onEvent its progress; a listener returning false stops listening, never the deploy. */
  deployWorkloadWatch (request: DeployRequest, onEvent: (event: WorkloadEvent) => boolean | void): Promise<WorkloadStatus>
  listWorkloads (): Promise<WorkloadStatus[]>
  removeWorkload (id: string): Promise<WorkloadStatus>
  workloadStats (id: string | null): Promise<ContainerStats[]>
  /** Sends the last `tail` lines of each container (all when negative), then, with follow, new ones until cancelled. */
  workloadLogs (id: string, follow: boolean, tail: number, onLine: (line: WorkloadLogLine) => boolean | void): Promise<boolean>
  /** Streams deployed, started, exited, failed and removed events until cancelled. */
  watchWorkloads (onEvent: (event: WorkloadEvent) => boolean | void): Promise<boolean>
}
