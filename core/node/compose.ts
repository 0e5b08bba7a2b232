// Puts a node together, once, in the order its parts need each other: identity
// and trail first, then what routes and runs work, then what people and members
// reach. Nothing here decides anything; each part has its own file.
import { capabilitySet } from '../workflow/requirements.js'
import { SeError } from '../errors.js'
import { DEFAULT_CREDENTIALS, DEFAULT_TOOLS, MAX_CONCURRENT_WORKFLOWS, MESH_QUERY_TIMEOUT_MS, VERSION } from '../constants.js'
import b4a from 'b4a'
import { toHex, shortId } from '../hex.js'
import { join } from '../paths.js'
import type { Runtime } from '../ports.js'
import type { MeshPeerApi, NodeApi, NodeMatch, Requirements } from '../protocol/types.js'
import { AuditLog } from '../audit/log.js'
import { ArtifactService } from '../artifact/service.js'
import { StepFiles } from '../artifact/step-files.js'
import { WorkflowEngine } from '../workflow/engine.js'
import { WorkflowStore } from '../workflow/store.js'
import { CONTAINER_CAPABILITY } from '../workflow/step-kind.js'
import { SessionManager } from '../session/session-manager.js'
import type { AskOptions } from '../mesh/ask-members.js'
import type { Mesh } from '../mesh/mesh.js'
import { Router, rankNodes } from '../mesh/router.js'
import type { StepServer } from '../mesh/step-server.js'
import type { Catalogue } from './catalogue.js'
import { detectCapabilities } from './capabilities.js'
import { checkCommands } from './command-check.js'
import { loadPolicy, POLICY_FILE } from '../access/policy-file.js'
import type { Policy } from '../access/policy.js'
import { CommandService } from './command-service.js'
import { loadOrCreateIdentity, type NodeIdentity } from './identity.js'
import { buildMesh } from './mesh-host.js'
import { NodeFacts } from './node-facts.js'
import type { NodeConfig } from './node-config.js'
import { SessionService } from './session-service.js'
import { WorkflowService } from './workflow-service.js'
import { WorkloadService } from './workload-service.js'

/** A node's parts once it has started: none of them is missing. */
export interface StartedNode {
  identity: NodeIdentity
  audit: AuditLog
  engine: WorkflowEngine
  facts: NodeFacts
  router: Router
  workflows: WorkflowService
  commands: CommandService
  sessions: SessionService
  sessionManager: SessionManager
  workloads: WorkloadService
  /** The artifacts this node holds, places, grants and serves. */
  artifacts: ArtifactService
  /** Around every step, local or routed here: artifacts placed and published, $SE_OUTPUT. */
  stepFiles: StepFiles
  /** Null for a node without a mesh. */
  mesh: Mesh | null
  stepServer: StepServer | null
  /** Who may do what here; null: everyone the node lets in may do everything. */
  policy: Policy | null
  startedAt: number
}

export interface Lifecycle {
  /** False once the node is stopping. */
  accepting: () => boolean
  /** Settles once the engine has read back every workflow on disk. */
  recovered: Promise<void>
}

/** `api` is the node's face, which a session's lines drive as any client does. */
export async function composeNode (runtime: Runtime, config: NodeConfig, catalogue: Catalogue, lifecycle: Lifecycle, api: NodeApi): Promise<StartedNode> {
  const { fs, crypto, clock, system, log } = runtime
  const dataDir = config.dataDir
  // A policy with a mistake stops the start: a node must not run more open than its owner wrote.
  const policy = await loadPolicy(fs, dataDir, config.policyFile)
  if (policy !== null) log.info(`policy ${policy.file}: ${policy.rules.length} rules, ${policy.roles.size} roles; what it does not allow is refused (se policy show)`)
  else if (config.mesh !== undefined) log.info(`no policy (${join(dataDir, POLICY_FILE)}, --policy or SE_POLICY): every member of mesh ${config.mesh.name} may do everything on this node`)
  const identity = await loadOrCreateIdentity(fs, crypto, dataDir, config.name ?? system.hostname, clock.now())
  if (config.name !== undefined) identity.name = config.name
  const id = identity.id
  // Looked for while the trail and the store open: `podman info` alone takes half a second or more.
  const detecting = detectCapabilities(system, {
    nodeId: id,
    name: identity.name,
    version: VERSION,
    tools: config.tools ?? DEFAULT_TOOLS,
    credentials: config.credentials ?? DEFAULT_CREDENTIALS,
    tags: config.tags ?? []
  })
  // Awaited below; this only keeps a failure from going unheard should opening the trail fail first.
  detecting.catch(() => {})
  const audit = new AuditLog({ dir: join(dataDir, 'audit'), fs, crypto, clock, identity: identity.keyPair })
  await audit.open()
  const appendQuietly = (input: Parameters<AuditLog['append']>[0]): void => { audit.append(input).catch(err => log.warn(`audit: ${(err as Error).message}`)) }
  const store = new WorkflowStore(fs, join(dataDir, 'workflows'))
  await store.open()
  const capabilities = await detecting
  const startedAt = clock.now()
  await audit.append({ event: 'node_start', message: `node ${identity.name} (${shortId(id)}) started with ${capabilities.engines.join(', ')}; tools ${capabilities.tools.join(', ') || 'none'}${config.mesh === undefined ? '' : `; mesh ${config.mesh.name}`}`, domains: ['node'] })
  // A node that was killed could not end what it had started: those processes must
  // not run on beside the steps it is about to resume.
  const leftovers = await runtime.processes.endLeftovers?.(id) ?? 0
  if (leftovers > 0) {
    const message = `ended ${leftovers} process${leftovers === 1 ? '' : 'es'} that this node's previous run started and left running`
    log.warn(message)
    await audit.append({ event: 'leftovers_ended', message, domains: ['node'] })
  }

  // Parts built later are reached through `parts`: members may call in only once the mesh is started, below.
  const parts: Partial<StartedNode> = {}
  const meshQuery = (what: string): AskOptions => ({
    deadlineMs: MESH_QUERY_TIMEOUT_MS,
    // A member that holds what is asked about but is no neighbour of this node gets a connection for the question.
    reach: async nodeId => await reach(nodeId),
    onLate: names => log.warn(`${what}: no answer within ${MESH_QUERY_TIMEOUT_MS} ms from ${names.join(', ')}; listed without them`)
  })
  const members = (): ReturnType<Mesh['usableMembers']> => parts.mesh?.usableMembers() ?? []
  const memberName = (nodeId: string): string => parts.mesh?.member(nodeId)?.name ?? nodeId.slice(0, 8)

  const workloads = new WorkloadService({
    runtime,
    config: config.workloads,
    dataDir,
    nodeId: id,
    nodeName: identity.name,
    advertisesContainers: capabilities.engines.includes(CONTAINER_CAPABILITY),
    audit: async input => { await audit.append(input) },
    provide: name => { parts.mesh?.provide([name]).catch(err => log.warn(`announcing ${name}: ${(err as Error).message}`)) },
    withdraw: name => { parts.mesh?.withdraw([name]).catch(err => log.warn(`withdrawing ${name}: ${(err as Error).message}`)) }
  })
  const facts = new NodeFacts({
    runtime,
    capabilities,
    workflowsRunning: () => parts.engine?.counts().running ?? 0,
    workloadsRunning: () => (parts.stepServer?.count ?? 0) + workloads.count()
  })
  const commands = new CommandService({ nodeId: id, dataDir, allow: config.allowCommands ?? null, processes: runtime.processes, audit, sessions: () => parts.sessionManager ?? null })
  const sessionManager = new SessionManager({
    fs, clock, log,
    dir: join(dataDir, 'sessions'),
    nodeId: id,
    nodeName: identity.name,
    home: config.sessionHome ?? dataDir,
    ...(config.sessionIdleMs === undefined ? {} : { idleMs: config.sessionIdleMs }),
    newId: () => `ss-${id.slice(0, 8)}-${toHex(crypto.randomBytes(3))}`,
    audit: appendQuietly,
    host: {
      api,
      runCommand: async (command, io) => await commands.run(command, io),
      isDirectory: async path => await fs.isDirectory(path),
      readText: async path => { const b = await fs.read(path); return b === null ? null : b4a.toString(b, 'utf8') }
    }
  })
  parts.sessionManager = sessionManager
  await sessionManager.open()
  const reach = async (nodeId: string): Promise<MeshPeerApi> => {
    if (parts.mesh == null) throw SeError.noSuchMember(nodeId.slice(0, 12))
    return await parts.mesh.reach(nodeId)
  }
  const sessions = new SessionService({ sessions: sessionManager, nodeId: id, nodeName: identity.name, members, memberName, meshQuery, reach })

  // Artifacts: one store under the data dir, served to members over their artifact channels (below, once the mesh exists).
  const artifacts = new ArtifactService({ fs, crypto, log, dataDir, nodeId: id, secretKey: identity.keyPair.secretKey, env: name => system.env(name), audit: appendQuietly, memberName: nodeId => `${memberName(nodeId)} (${nodeId.slice(0, 8)})`, reach: async nodeId => await (parts.mesh?.lease(nodeId) ?? Promise.reject(SeError.noSuchMember(nodeId.slice(0, 12)))),
    // A holder the mesh lists down or gone is not waited for: the requester makes the artifact again elsewhere.
    holderGone: nodeId => { const m = parts.mesh?.member(nodeId); return m === undefined || m.left || m.state === 'down' } })
  await artifacts.open()
  const stepFiles = new StepFiles({ artifacts, fs, dataDir })

  let router: Router | null = null
  const findNodesForWorkflow = async (requirements: Requirements): Promise<NodeMatch[]> => rankNodes((router as Router).candidates(), requirements)
  if (config.mesh !== undefined) {
    const joined = await buildMesh({
      runtime,
      config: config.mesh,
      keyPair: identity.keyPair,
      dataDir,
      nodeId: id,
      name: identity.name,
      audit,
      recovered: lifecycle.recovered,
      capabilities: async () => facts.capabilities(),
      sample: () => facts.sample(),
      findNodesForWorkflow,
      holds: workflowId => parts.engine?.get(workflowId) !== undefined,
      workflowName: workflowId => parts.engine?.get(workflowId)?.name,
      listWorkflows: states => parts.workflows?.list(states) ?? [],
      resumeForMember: async (memberName, workflowId, result, memberKey) => await (parts.workflows as WorkflowService).resumeForMember(memberName, workflowId, result, memberKey),
      wake: () => parts.engine?.wake(),
      sessions: sessions.forMembers(),
      holding: () => ({
        waiting: (parts.workflows?.list(['waiting_intervention', 'running']) ?? []).filter(w => w.interventions.length > 0 || w.intervention !== null).length,
        sessions: sessionManager.openCount
      }),
      runContainer: (spec, onOutput) => workloads.runContainer(spec, onOutput),
      policy
    })
    parts.mesh = joined.mesh
    parts.stepServer = joined.stepServer
    joined.mesh.onArtifactChannel((nodeId, channel, onClose) => artifacts.attach(nodeId, channel, onClose))
    joined.stepServer.useStepFiles(stepFiles)
  }
  router = new Router({ members: parts.mesh ?? null, local: () => facts.detected, clock, audit: input => { audit.append(input).catch(() => {}) } })
  const engine = new WorkflowEngine({
    node: { id, name: identity.name, dataDir, cli: config.cli ?? 'se' },
    store,
    audit,
    processes: runtime.processes,
    clock,
    newId: () => `wf-${clock.now().toString(36)}-${toHex(crypto.randomBytes(4))}`,
    env: name => system.env(name),
    maxConcurrent: config.maxConcurrentWorkflows ?? MAX_CONCURRENT_WORKFLOWS,
    log,
    executors: [...(config.executors ?? []), workloads.stepExecutor()],
    stepFiles,
    placement: router
  })
  parts.engine = engine
  const commandCheck = { system, router, member: (nodeId: string) => parts.mesh?.member(nodeId), deadlineMs: MESH_QUERY_TIMEOUT_MS }
  const findCapable = async (capabilities: string[]): Promise<void> => {
    const here = capabilitySet(facts.detected)
    const missing = capabilities.filter(c => !here.has(c))
    if (missing.length > 0) await parts.mesh?.findCapable(missing)
  }
  const workflows = new WorkflowService({ engine, catalogue, router, clock, findCapable, nodeId: id, members, accepting: lifecycle.accepting, meshQuery, decisions: { crypto, policy: () => policy, now: () => clock.now() }, refused: (message, workflowId) => { appendQuietly({ event: 'action_refused', message, workflowId, domains: ['security'] }) }, checkCommands: async (definition, file, routing) => { await checkCommands(definition, file, routing, commandCheck) } })
  parts.workflows = workflows
  return { identity, audit, engine, facts, router, workflows, commands, sessions, sessionManager, workloads, artifacts, stepFiles, mesh: parts.mesh ?? null, stepServer: parts.stepServer ?? null, policy, startedAt }
}
