// In-process mesh members for artifact tests: a real Mesh on a real Hyperswarm
// transport (on a loopback DHT bootstrap), with an ArtifactService on its
// artifact channels and, when asked, a StepServer to route steps to. No engine.
import type { TestContext } from 'node:test'
import { createSwarmTransport } from '../../adapters/shared/hyperswarm-transport.js'
import { nodeRuntime } from '../../adapters/node/runtime.js'
import { startBootstrap } from '../../adapters/node/swarm.js'
import { POLICY_ACTIONS } from '../../core/access/policy.js'
import { ArtifactService } from '../../core/artifact/service.js'
import { StepFiles } from '../../core/artifact/step-files.js'
import { AuditLog, type AuditInput } from '../../core/audit/log.js'
import type { BootstrapAddress } from '../../core/mesh/bootstrap-address.js'
import { meshKeys } from '../../core/mesh/keys.js'
import { DEFAULT_TIMING, Mesh, type Member, type MeshTiming } from '../../core/mesh/mesh.js'
import { Outbox } from '../../core/mesh/outbox.js'
import { StepServer } from '../../core/mesh/step-server.js'
import { foundOnPath } from '../../core/node/command-check.js'
import { toHex } from '../../core/hex.js'
import { join } from '../../core/paths.js'
import type { KeyPair, Logger } from '../../core/ports.js'
import type { NodeCapabilities } from '../../core/protocol/types.js'
import { defer, eventually, makeTempDir } from './tmp.js'

const quiet = { info () {}, warn () {}, error () {} }

export interface ArtifactMember {
  name: string
  nodeId: string
  dataDir: string
  mesh: Mesh
  artifacts: ArtifactService
  /** What this node audited itself (refusals). */
  audits: AuditInput[]
  /** Warnings it logged (refused chunks). */
  warnings: string[]
}

export async function loopbackBootstrap (t: TestContext): Promise<BootstrapAddress> {
  const boot = await startBootstrap('127.0.0.1', 0)
  defer(t, () => boot.close())
  return boot.address
}

export async function artifactMember (t: TestContext, bootstrap: BootstrapAddress, name: string, env: Record<string, string> = {}): Promise<ArtifactMember> {
  const warnings: string[] = []
  const member = await startArtifactMember({ bootstrap, name, env, dataDir: await makeTempDir(t, `se-art-${name}-`), log: { ...quiet, warn: m => warnings.push(m) } })
  defer(t, () => member.close())
  return { ...member, warnings }
}

export interface ArtifactMemberOptions {
  bootstrap: BootstrapAddress
  name: string
  dataDir: string
  env?: Record<string, string>
  log?: Logger
  keyPair?: KeyPair
  /** The mesh to join: its name and secret (a test mesh of its own by default). */
  mesh?: { name: string, secret: string }
  /** Tags (capabilities) the member announces. */
  tags?: string[]
  timing?: Partial<MeshTiming>
  neighbours?: number
  /** Told of every change to a member this one knows (its state, what it can do). */
  onMemberChange?: (member: Member) => void
}

/** A member without a test around it (the bench runs one in another process); close() stops it. */
export async function startArtifactMember (o: ArtifactMemberOptions): Promise<Omit<ArtifactMember, 'warnings'> & { close (): Promise<void>, crash (): Promise<void> }> {
  const { bootstrap, name, dataDir } = o
  const env = o.env ?? {}
  const runtime = nodeRuntime(o.log ?? quiet)
  const { crypto, fs, clock, log } = runtime
  const keyPair = o.keyPair ?? crypto.generateKeyPair()
  const nodeId = toHex(keyPair.publicKey)
  const audits: AuditInput[] = []
  const auditLog = new AuditLog({ dir: join(dataDir, 'audit'), fs, crypto, clock, identity: keyPair })
  await auditLog.open()
  let mesh: Mesh | null = null
  const artifacts = new ArtifactService({
    fs, crypto, log, dataDir, nodeId, secretKey: keyPair.secretKey, env: k => env[k],
    audit: a => { audits.push(a); void auditLog.append(a) },
    memberName: id => `${mesh?.member(id)?.name ?? '?'} (${id.slice(0, 8)})`,
    // As a node does: a holder this member holds no connection to is connected to for the fetch.
    reach: async id => await (mesh as Mesh).lease(id)
  })
  await artifacts.open()
  const outbox = new Outbox(fs, join(dataDir, 'outbox'), log)
  await outbox.open()
  const stepServer = new StepServer({ runtime, audit: auditLog, outbox, dataDir, nodeId, deliver: async () => {} })
  stepServer.useStepFiles(new StepFiles({ artifacts, fs, dataDir }))
  const caps: NodeCapabilities = { nodeId, name, runtime: 'node', version: '0', platform: 'linux', arch: 'x64', engines: ['process'], tools: [], credentials: [], tags: o.tags ?? [], cpus: 1, memoryTotalMb: 1, memoryFreeMb: 1, loadAverage: 0 }
  mesh = new Mesh({
    transport: await createSwarmTransport(keyPair, [bootstrap]),
    keys: meshKeys(crypto, o.mesh?.name ?? 'artifact-test', o.mesh?.secret ?? 'secret'),
    crypto, clock, log, nodeId, name, allow: null, peers: [],
    timing: { ...DEFAULT_TIMING, heartbeatMs: 200, suspectMs: 5000, downMs: 10000, ...o.timing },
    ...(o.neighbours === undefined ? {} : { neighbours: o.neighbours }),
    host: {
      capabilities: async () => caps,
      sample: () => ({ nodeId, loadAverage: 0, cpus: 1, memoryUsedMb: 0, memoryTotalMb: 1, workflowsRunning: 0, workloadsRunning: 0, sentAt: Date.now() }),
      audit: () => {},
      findNodesForWorkflow: async () => [],
      runStep: async (from, req, emit, onCancel) => await stepServer.run(from, req, emit, onCancel),
      cancelStep: async (from, workflowId, stepId) => await stepServer.cancel(from, workflowId, stepId),
      attachStep: async (from, workflowId, stepId, attempt, emit, onCancel) => await stepServer.attach(from, workflowId, stepId, attempt, emit, onCancel),
      findCommands: async commands => await foundOnPath(runtime.system, commands),
      // As a node without a policy says: every member may do everything (an empty list would forbid routing here).
      allowedActions: () => [...POLICY_ACTIONS],
      acceptAuditEntry: async () => true,
      listWorkflows: async () => [],
      resumeWorkflow: async () => { throw new Error('no workflows here') },
      membersChanged: member => { o.onMemberChange?.(member) },
      tick: () => {}
    }
  })
  mesh.onArtifactChannel((id, channel, onClose) => artifacts.attach(id, channel, onClose))
  await mesh.start()
  const m = mesh
  return { name, nodeId, dataDir, mesh, artifacts, audits, close: async () => { await m.stop(); await auditLog.close() }, crash: async () => { await m.stop({ farewell: false }) } }
}

/** Waits until every member sees every other as usable. */
export async function meshed (members: ArtifactMember[], timeoutMs = 20_000): Promise<void> {
  await eventually('members to see each other', () => members.every(a => members.every(b => a === b || a.mesh.member(b.nodeId)?.usable === true)), timeoutMs)
}
