// The node as its mesh members see it: what they may ask of it (steps to run,
// audit entries to keep, interventions and sessions of people at other members),
// wired to the node's services. The mesh itself is core/mesh/mesh.ts.
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { KeyPair, Runtime } from '../ports.js'
import type { AuditLog } from '../audit/log.js'
import type { NodeCapabilities, NodeMatch, NodeSample, Requirements, WorkflowStatus, InterventionResult } from '../protocol/types.js'
import type { ContainerStepSpec } from '../workload/types.js'
import { meshKeys } from '../mesh/keys.js'
import { DEFAULT_TIMING, Mesh, stepReattachMs, type MeshHost, type Member } from '../mesh/mesh.js'
import { Outbox } from '../mesh/outbox.js'
import type { MeshConfig } from '../mesh/settings.js'
import { StepServer } from '../mesh/step-server.js'
import { allowedActions, decide, POLICY_ACTIONS, type Policy, type PolicyAction } from '../access/policy.js'
import { foundOnPath } from './command-check.js'
import type { ProcessHandle } from '../ports.js'

export interface MeshHostDeps {
  runtime: Runtime
  config: MeshConfig
  keyPair: KeyPair
  dataDir: string
  nodeId: string
  name: string
  audit: AuditLog
  /** Settles once the node has read back its workflows. */
  recovered: Promise<void>
  capabilities: () => Promise<NodeCapabilities>
  sample: () => NodeSample
  findNodesForWorkflow: (requirements: Requirements) => Promise<NodeMatch[]>
  /** Whether this node holds the workflow (exact id). */
  holds: (workflowId: string) => boolean
  /** The name of a workflow this node holds, for rules that name workflows. */
  workflowName: (workflowId: string) => string | undefined
  listWorkflows: (states: string[]) => WorkflowStatus[]
  resumeForMember: (memberName: string, workflowId: string, result: InterventionResult, memberKey: string) => Promise<WorkflowStatus>
  /** Something a waiting workflow may be waiting for has changed. */
  wake: () => void
  sessions: NonNullable<MeshHost['sessions']>
  /** Workflows waiting for a person and open sessions held here, told to the mesh by gossip. */
  holding: () => { waiting: number, sessions: number }
  runContainer: (spec: ContainerStepSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void) => ProcessHandle
  /** Who may do what here; null: every member may do everything (a mesh of one person). */
  policy: Policy | null
}

/** How often the same refusal of the same member is kept in the trail. */
const REFUSAL_KEPT_EVERY_MS = 60_000

export interface JoinedMesh {
  mesh: Mesh
  stepServer: StepServer
}

/** Builds the mesh and what serves its members; `mesh.start()` joins it. */
export async function buildMesh (d: MeshHostDeps): Promise<JoinedMesh> {
  const { crypto, clock, log } = d.runtime
  const outbox = new Outbox(d.runtime.fs, join(d.dataDir, 'outbox'), log)
  await outbox.open()
  let mesh: Mesh | null = null
  const memberName = (nodeId: string): string => mesh?.member(nodeId)?.name ?? nodeId.slice(0, 8)
  const deliver = async (nodeId: string): Promise<void> => {
    if (mesh === null || outbox.pending(nodeId) === 0 || mesh.member(nodeId)?.usable !== true) return
    // The requester may be no neighbour of this node: its entries open a connection to it.
    const api = await mesh.reach(nodeId)
    await outbox.drain(nodeId, async entry => await api.submitAuditEntry(entry))
  }
  const timing = { ...DEFAULT_TIMING, ...d.config.timing }
  // A step whose requester's connection dropped runs on well past the time that requester tries to come back.
  const stepServer = new StepServer({ runtime: d.runtime, audit: d.audit, outbox, dataDir: d.dataDir, nodeId: d.nodeId, deliver, runContainer: d.runContainer, keptMs: 3 * stepReattachMs(timing) })
  const appendQuietly = (input: Parameters<AuditLog['append']>[0]): void => { d.audit.append(input).catch(err => log.warn(`audit: ${(err as Error).message}`)) }
  // A member asking the same refused thing again and again (a dashboard polling the mesh's
  // questions every second) is kept once a minute per member and request, not every time.
  const lastKept = new Map<string, number>()
  const keepOnce = (key: string): boolean => {
    const now = clock.now()
    const at = lastKept.get(key)
    if (at !== undefined && now - at < REFUSAL_KEPT_EVERY_MS) return false
    if (lastKept.size >= 1024) lastKept.clear()
    lastKept.set(key, now)
    return true
  }
  // Refused before anything is done, in this node's trail, naming the rule the caller met.
  const allowed = (from: string, action: PolicyAction, verb: string, workflowId?: string, workflow?: string, capabilities?: string[]): void => {
    if (d.policy === null) return
    const verdict = decide(d.policy, action, { nodeKey: from, personKey: null }, { ...(workflow === undefined ? {} : { workflow }), ...(capabilities === undefined ? {} : { capabilities }) })
    if (verdict.allowed) return
    const who = `${memberName(from)} (${from.slice(0, 8)})`
    if (keepOnce(`${from}:${verb}:${workflowId ?? ''}`)) appendQuietly({ event: 'action_refused', message: `${who} may not ${verb} on ${d.name}: ${verdict.reason}`, ...(workflowId === undefined ? {} : { workflowId }), domains: ['mesh', 'security'] })
    throw SeError.notAllowedByPolicy(who, verb, d.name, verdict.reason)
  }
  // Under a policy a member's step gets a credential of this node only when it declares it
  // (requires credential:NAME) and the policy lets that member run such steps; without one, as before.
  const withheld = async (from: string, requires: string[]): Promise<string[]> => {
    const policy = d.policy
    if (policy === null) return []
    const credentials = (await d.capabilities()).credentials
    return credentials.filter(name => {
      const capability = `credential:${name}`
      return !requires.includes(capability) || !decide(policy, 'run', { nodeKey: from, personKey: null }, { capabilities: [capability] }).allowed
    })
  }
  const host: MeshHost = {
    capabilities: d.capabilities,
    sample: d.sample,
    audit: appendQuietly,
    findNodesForWorkflow: d.findNodesForWorkflow,
    runStep: async (from, req, emit, onCancel) => {
      allowed(from, 'run', 'run steps', req.workflowId, undefined, req.requires)
      return await stepServer.run(from, req, emit, onCancel, await withheld(from, req.requires))
    },
    cancelStep: async (from, workflowId, stepId) => await stepServer.cancel(from, workflowId, stepId),
    attachStep: async (from, workflowId, stepId, attempt, emit, onCancel) => await stepServer.attach(from, workflowId, stepId, attempt, emit, onCancel),
    findCommands: async commands => await foundOnPath(d.runtime.system, commands),
    allowedActions: from => d.policy === null ? [...POLICY_ACTIONS] : allowedActions(d.policy, { nodeKey: from, personKey: null }),
    acceptAuditEntry: async (from, entry) => {
      // The mesh opens before the node has read its workflows back: an entry for one of them waits for that, not refused as unknown.
      await d.recovered
      // Only entries about workflows this node asked for belong in its trail.
      if (!d.holds(entry.entry.workflowId)) throw SeError.notOurWorkflow(from, entry.entry.workflowId)
      await d.audit.appendRemote(entry)
      return true
    },
    listWorkflows: async (from, states) => {
      allowed(from, 'read', 'list the workflows')
      return d.listWorkflows(states)
    },
    resumeWorkflow: async (from, workflowId, result) => {
      // Every member is asked at once (askTheHolder): one that does not hold the workflow says so, not that the caller may not answer it there.
      if (!d.holds(workflowId)) throw SeError.unknownWorkflow(workflowId)
      // A person's signed decision is held to the policy for that person where the workflow is; an unsigned one, to the member's.
      if (result.signed === null || result.signed === undefined) allowed(from, 'approve', 'answer interventions', workflowId, d.workflowName(workflowId))
      try {
        return await d.resumeForMember(memberName(from), workflowId, result, from)
      } catch (err) {
        // A signed decision refused (forged, replayed, or its person not allowed) is kept here too, naming who carried it.
        if (err instanceof SeError && err.code === 'NOT_ALLOWED') appendQuietly({ event: 'action_refused', message: `${memberName(from)} (${from.slice(0, 8)}) carried a decision ${d.name} refused: ${err.reason}`, workflowId, domains: ['mesh', 'security'] })
        throw err
      }
    },
    sessions: {
      sessionNew: async (from, owner, name) => { allowed(from, 'session', 'open sessions'); return await d.sessions.sessionNew(from, owner, name) },
      sessionList: async (from, owner) => { allowed(from, 'session', 'list sessions'); return await d.sessions.sessionList(from, owner) },
      sessionAttach: async (from, id, owner, fromSeq, emit, onCancel) => { allowed(from, 'session', 'attach to sessions'); return await d.sessions.sessionAttach(from, id, owner, fromSeq, emit, onCancel) },
      sessionInput: async (from, id, owner, line) => { allowed(from, 'session', 'send lines to sessions'); return await d.sessions.sessionInput(from, id, owner, line) },
      sessionClose: async (from, id, owner) => { allowed(from, 'session', 'close sessions'); return await d.sessions.sessionClose(from, id, owner) }
    },
    holding: d.holding,
    tick: () => { if (mesh?.usableMembers().length !== 0) d.wake() },
    membersChanged: (member: Member) => {
      if (!member.usable) return
      d.wake()
      void deliver(member.nodeId).catch(() => {})
    }
  }
  mesh = new Mesh({
    transport: await d.config.transport(d.keyPair),
    keys: meshKeys(crypto, d.config.name, d.config.secret),
    crypto,
    clock,
    log,
    nodeId: d.nodeId,
    name: d.name,
    allow: d.config.allow === null ? null : new Set(d.config.allow),
    peers: d.config.peers,
    neighbours: d.config.neighbours,
    timing,
    ...(d.config.observe === undefined ? {} : { observe: d.config.observe }),
    host
  })
  return { mesh, stepServer }
}
