// Membership of a mesh: who is connected, what they can do, whether they are
// alive. Every peer connection is authenticated (allowlist, then the mesh-secret
// proof) before an RPC frame is read from it; members then swap capabilities and
// heartbeat, and a member that falls silent turns suspect, then down.
import { SeError } from '../errors.js'
import type { Clock, Crypto, Logger, MeshTransport, MessageChannel, PeerLink } from '../ports.js'
import { fromHex, toHex } from '../hex.js'
import type { AuditInput } from '../audit/log.js'
import { MESSAGES } from '../protocol/codec.js'
import { SEMeshPeer, SESession } from '../protocol/schema.js'
import type {
  InterventionResult, MemberState, SessionInfo, SessionOutput, MeshNode, MeshPeerApi, NodeCapabilities, NodeMatch, NodeSample, ProviderRecord, Requirements,
  SignedAuditEntry, StepOutcome, StepRequest, WorkflowEvent, WorkflowStatus
} from '../protocol/types.js'
import { rpcClient } from '../rpc/node-api.js'
import { RpcPeer, type CallObserver, type Handler } from '../rpc/peer.js'
import { REJECTIONS } from '../metrics/rejections.js'
import { commandNames } from '../workflow/commands.js'
import { authenticate } from './handshake.js'
import { providerTopic, type MeshKeys } from './keys.js'

export interface MeshTiming {
  heartbeatMs: number
  /** Silence after which a member is suspect. */
  suspectMs: number
  /** Silence after which a member is down and its connection dropped. */
  downMs: number
  handshakeMs: number
  /** How long a provider lookup result is reused. */
  providerCacheMs: number
  providerLookupMs: number
}

// A hello takes one round trip. The handshake timeout is short because Hyperswarm's duplicate
// handling sometimes leaves one side holding a connection the other never saw: that side only
// reconnects once it gives up on the hello, so this timeout is how long such a join takes.
export const DEFAULT_TIMING: MeshTiming = { heartbeatMs: 1000, suspectMs: 3000, downMs: 6000, handshakeMs: 1500, providerCacheMs: 5000, providerLookupMs: 3000 }

/** What the mesh asks of the node it belongs to. */
export interface MeshHost {
  capabilities (): Promise<NodeCapabilities>
  sample (): NodeSample
  audit (input: AuditInput): void
  findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]>
  runStep (from: string, request: StepRequest, emit: (event: WorkflowEvent) => void, onCancel: (listener: () => void) => void): Promise<StepOutcome>
  cancelStep (from: string, workflowId: string, stepId: string): Promise<boolean>
  /** Which of these commands are on this node's PATH (names only, already checked). */
  findCommands (commands: string[]): Promise<string[]>
  /** What member `from` may do here by this node's policy. */
  allowedActions (from: string): string[]
  acceptAuditEntry (from: string, entry: SignedAuditEntry): Promise<boolean>
  /** Workflows this node holds, for a member showing the mesh's pending interventions. */
  listWorkflows (from: string, states: string[]): Promise<WorkflowStatus[]>
  /** A person at another member answers an intervention of a workflow this node holds. */
  resumeWorkflow (from: string, workflowId: string, result: InterventionResult): Promise<WorkflowStatus>
  /** A member became usable, or stopped being so. */
  membersChanged (member: Member): void
  /** Every heartbeat: a chance to retry what waits on membership, should a change have been missed. */
  tick (): void
  /** This node's own sessions, for a person at another member (the owner comes from that member). */
  sessions?: {
    sessionNew (from: string, owner: string, name: string | null): Promise<SessionInfo>
    sessionList (from: string, owner: string): Promise<SessionInfo[]>
    sessionAttach (from: string, id: string, owner: string, fromSeq: number, emit: (o: SessionOutput) => void, onCancel: (listener: () => void) => void): Promise<SessionInfo>
    sessionInput (from: string, id: string, owner: string, line: string): Promise<number>
    sessionClose (from: string, id: string, owner: string): Promise<SessionInfo>
  }
}

export type ArtifactChannelListener = (nodeId: string, channel: MessageChannel, onClose: (listener: () => void) => void) => void

export interface MeshOptions {
  /** Told how long calls between members took. */
  observe?: { served?: CallObserver, calls?: CallObserver }
  transport: MeshTransport
  keys: MeshKeys
  crypto: Crypto
  clock: Clock
  log: Logger
  nodeId: string
  name: string
  /** Hex public keys allowed to join; null lets anyone holding the secret in. */
  allow: Set<string> | null
  /** Hex public keys to connect to directly, whether or not they announce. */
  peers: string[]
  timing: MeshTiming
  host: MeshHost
}

/**
 * Messages a member may call; everything else is refused and audited. The mesh's own protocol (SEMeshPeer)
 * and sessions (SESession), and five of the messages for the node's own clients that members need too (as
 * MeshPeerApi declares): what this node can do and which nodes fit some requirements, the member's own
 * audit entries for the shared trail, and the workflows waiting for a person, listed and answered from any
 * node of the mesh. The other client messages (running commands, deploying, reading the trail) stay local.
 */
const PEER_MESSAGES: ReadonlySet<string> = new Set([
  ...Object.keys(SEMeshPeer.messages),
  ...Object.keys(SESession.messages),
  'getCapabilities', 'findNodesForWorkflow', 'submitAuditEntry', 'listWorkflows', 'resumeWorkflow'
])

export class Member {
  capabilities: NodeCapabilities | null = null
  state: MemberState = 'up'
  sample: NodeSample | null = null
  latencyMs: number | null = null
  rpc: RpcPeer | null = null
  api: MeshPeerApi | null = null
  beating = false
  /** What this node may do there by the member's policy; null until it has said (an older member never does). */
  allows: string[] | null = null

  constructor (readonly nodeId: string, public name: string, public lastSeen: number) {}

  get connected (): boolean { return this.rpc !== null && !this.rpc.isClosed }
  /** Can be given work: connected, alive, and it has said what it can do. */
  get usable (): boolean { return this.connected && this.state === 'up' && this.capabilities !== null }
}

export class Mesh {
  readonly members = new Map<string, Member>()
  private readonly providing = new Set<string>()
  private readonly providerCache = new Map<string, { at: number, keys: string[] }>()
  private readonly lastRejected = new Map<string, number>()
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null
  private refreshTimer: ReturnType<typeof setTimeout> | null = null
  private stopped = false
  private ownSample: NodeSample | null = null
  private ownSampleAt = 0
  private artifactChannel: ArtifactChannelListener | null = null

  constructor (private readonly opts: MeshOptions) {}

  get name (): string { return this.opts.keys.name }

  async start (): Promise<void> {
    const { transport, keys, timing } = this.opts
    transport.onConnection(link => { void this.accept(link) })
    this.heartbeatTimer = setInterval(() => this.tick(), timing.heartbeatMs)
    for (const key of this.opts.peers) transport.joinPeer(fromHex(key))
    await transport.join(keys.topic)
    this.scheduleRefresh(100)
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer)
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer)
    // Provider records go with the node; a lookup must not find a node that has stopped.
    await Promise.all([...this.providing].map(id => withTimeout(this.opts.transport.unannounce(providerTopic(this.opts.crypto, this.opts.keys, id)), 2000).catch(() => {})))
    for (const member of this.members.values()) member.rpc?.close()
    await this.opts.transport.destroy()
  }

  /** Told of each member connection's artifact channel, once the handshake has proved who is on the other end. */
  onArtifactChannel (listener: ArtifactChannelListener): void {
    this.artifactChannel = listener
  }

  /** Members that can take work now, with what the router needs to rank them. */
  usableMembers (): Member[] {
    return [...this.members.values()].filter(m => m.usable)
  }

  member (nodeId: string): Member | undefined {
    return this.members.get(nodeId)
  }

  view (): MeshNode[] {
    return [...this.members.values()].filter(m => m.capabilities !== null).map(m => ({
      nodeId: m.nodeId,
      name: m.name,
      self: false,
      state: m.state,
      lastSeen: m.lastSeen,
      capabilities: m.capabilities as NodeCapabilities,
      sample: m.sample,
      latencyMs: m.latencyMs,
      allows: m.allows === null ? null : [...m.allows],
      learned: 'direct',
      link: m.connected ? 'neighbour' : null
    }))
  }

  // ---- provider records

  async provide (ids: string[]): Promise<void> {
    const { transport, crypto, keys } = this.opts
    for (const id of ids) {
      if (this.providing.has(id)) continue
      this.providing.add(id)
      await transport.announce(providerTopic(crypto, keys, id))
    }
  }

  /** Stops announcing ids, so lookups stop finding this node for them. */
  async withdraw (ids: string[]): Promise<void> {
    const { transport, crypto, keys } = this.opts
    for (const id of ids) {
      if (!this.providing.delete(id)) continue
      this.providerCache.delete(id)
      await transport.unannounce(providerTopic(crypto, keys, id))
    }
  }

  async findProviders (id: string): Promise<ProviderRecord[]> {
    const { transport, crypto, keys, clock, timing } = this.opts
    const cached = this.providerCache.get(id)
    let found: string[]
    if (cached !== undefined && clock.now() - cached.at < timing.providerCacheMs) {
      found = cached.keys
    } else {
      found = (await transport.lookup(providerTopic(crypto, keys, id), timing.providerLookupMs)).map(toHex)
      this.providerCache.set(id, { at: clock.now(), keys: found })
    }
    const keysFound = new Set(found)
    if (this.providing.has(id)) keysFound.add(this.opts.nodeId)
    return [...keysFound].sort().map(nodeId => {
      if (nodeId === this.opts.nodeId) return { id, nodeId, name: this.opts.name, state: 'up' }
      const m = this.members.get(nodeId)
      return { id, nodeId, name: m?.name ?? null, state: m?.state ?? 'unknown' }
    })
  }

  // ---- connections

  private async accept (link: PeerLink): Promise<void> {
    const { allow, crypto, keys, clock, timing } = this.opts
    const remoteId = toHex(link.remotePublicKey)
    if (this.stopped) { link.close(); return }
    if (allow !== null && !allow.has(remoteId)) {
      REJECTIONS.rejectOnce(link, 'mesh', 'not_allowed')
      this.rejected(remoteId, `peer ${remoteId.slice(0, 12)} is not on this node's allowlist`)
      link.close()
      return
    }
    let auth
    try {
      auth = await authenticate(link, { crypto, keys, publicKey: fromHex(this.opts.nodeId), name: this.opts.name, timeoutMs: timing.handshakeMs })
    } catch (err) {
      // A connection Hyperswarm replaced with a duplicate closes or goes quiet (CONNECTION_CLOSED,
      // TIMEOUT); only a wrong hello is a refusal.
      if (err instanceof SeError && err.code === 'PEER_REJECTED') this.rejected(remoteId, err.message)
      link.close()
      return
    }
    let member = this.members.get(remoteId)
    if (member === undefined) {
      member = new Member(remoteId, auth.hello.name, clock.now())
      this.members.set(remoteId, member)
    }
    const m = member
    m.name = auth.hello.name
    // One connection per pair: the newest wins, and calls on the old one fail over to it.
    const old = m.rpc
    const rpc = new RpcPeer(auth.connection, {
      ...(this.opts.observe === undefined ? {} : { observe: this.opts.observe }),
      handlers: this.handlersFor(m),
      onProtocolError: err => this.protocolError(m, err),
      onUnknownMessage: message => this.refused(m, message)
    })
    m.rpc = rpc
    m.api = rpcClient<MeshPeerApi>(rpc)
    // Only now, with membership proved, may anything read what the member sends on its artifact channel.
    if (link.artifacts !== undefined) this.artifactChannel?.(remoteId, link.artifacts, l => link.onClose(() => l()))
    old?.close()
    rpc.onClose(() => {
      if (m.rpc !== rpc) return
      m.rpc = null
      m.api = null
      this.opts.host.membersChanged(m)
    })
    this.seen(m)
    // The peer's first calls (its capabilities) may have come with its hello and been
    // handled while the RpcPeer was being built, when this member had no connection
    // or the old one: that change went unseen, or sent work (the outbox) down a
    // connection about to close. Told again now that the new one is in place.
    if (m.usable) this.opts.host.membersChanged(m)
    try {
      await m.api.registerCapabilities(await this.opts.host.capabilities())
      await this.beat(m)
      // Its policy is read once at its start: asked once per connection, for the dashboard's marks.
      m.allows = await m.api.allowedActions().catch(() => m.allows)
    } catch {
      // A peer that leaves mid-introduction is retried when it connects again.
    }
  }

  private handlersFor (member: Member): Map<string, Handler> {
    const host = this.opts.host
    const handlers = new Map<string, Handler>()
    for (const name of MESSAGES.keys()) {
      if (!PEER_MESSAGES.has(name)) {
        handlers.set(name, async () => {
          this.refused(member, name)
          throw SeError.notForMembers(name)
        })
      }
    }
    handlers.set('heartbeat', async req => {
      member.sample = req.sample as NodeSample
      this.seen(member)
      return this.sample()
    })
    handlers.set('registerCapabilities', async req => {
      const caps = req.capabilities as NodeCapabilities
      if (caps.nodeId !== member.nodeId) throw SeError.capabilitiesOfAnother(member.nodeId, caps.nodeId)
      const first = member.capabilities === null
      member.capabilities = caps
      member.name = caps.name
      this.seen(member)
      if (first) this.opts.host.audit({ event: 'node_join', message: `node ${caps.name} (${member.nodeId.slice(0, 8)}) joined mesh ${this.name}: ${[...new Set([...caps.engines, ...caps.tools, ...caps.tags])].join(', ')}`, domains: ['mesh'] })
      host.membersChanged(member)
      return true
    })
    handlers.set('getCapabilities', async () => await host.capabilities())
    handlers.set('findNodesForWorkflow', async req => await host.findNodesForWorkflow(req.requirements as Requirements))
    handlers.set('runStep', async (req, ctx) => await host.runStep(member.nodeId, req.request as StepRequest, e => ctx.emit(e), l => ctx.onCancel(l)))
    handlers.set('cancelStep', async req => await host.cancelStep(member.nodeId, req.workflowId as string, req.stepId as string))
    handlers.set('findCommands', async req => await host.findCommands(commandNames(req.commands as string[])))
    handlers.set('allowedActions', async () => host.allowedActions(member.nodeId))
    handlers.set('listWorkflows', async req => await host.listWorkflows(member.nodeId, req.states as string[]))
    handlers.set('resumeWorkflow', async req => await host.resumeWorkflow(member.nodeId, req.workflowId as string, req.result as InterventionResult))
    const sessions = host.sessions
    if (sessions !== undefined) {
      const from = member.nodeId
      handlers.set('sessionNew', async req => await sessions.sessionNew(from, req.owner as string, req.name as string | null))
      handlers.set('sessionList', async req => await sessions.sessionList(from, req.owner as string))
      handlers.set('sessionAttach', async (req, ctx) => await sessions.sessionAttach(from, req.sessionId as string, req.owner as string, Number(req.fromSeq), o => ctx.emit(o), l => ctx.onCancel(l)))
      handlers.set('sessionInput', async req => await sessions.sessionInput(from, req.sessionId as string, req.owner as string, req.line as string))
      handlers.set('sessionClose', async req => await sessions.sessionClose(from, req.sessionId as string, req.owner as string))
    }
    handlers.set('submitAuditEntry', async req => {
      const entry = req.entry as SignedAuditEntry
      if (entry.entry.sourceNodeId !== member.nodeId) {
        this.refused(member, 'submitAuditEntry', `an entry of ${entry.entry.sourceNodeId.slice(0, 12)}`)
        throw SeError.auditEntryOfAnother(member.nodeId)
      }
      return await host.acceptAuditEntry(member.nodeId, entry)
    })
    return handlers
  }

  // ---- liveness

  private tick (): void {
    const { clock, timing } = this.opts
    const now = clock.now()
    for (const m of this.members.values()) {
      if (m.connected) void this.beat(m)
      const silence = now - m.lastSeen
      const state: MemberState = silence < timing.suspectMs ? 'up' : silence < timing.downMs ? 'suspect' : 'down'
      if (state === m.state) continue
      this.transition(m, state, `silent for ${silence} ms`)
      // A down member's calls must fail now, so its work can move elsewhere.
      if (state === 'down') m.rpc?.close()
    }
    this.opts.host.tick()
  }

  private async beat (m: Member): Promise<void> {
    if (m.beating || m.rpc === null) return
    m.beating = true
    const started = this.opts.clock.now()
    try {
      m.sample = await m.rpc.call('heartbeat', { sample: this.sample() }, { timeoutMs: this.opts.timing.heartbeatMs * 2 }) as NodeSample
      m.latencyMs = this.opts.clock.now() - started
      this.seen(m)
    } catch {
      // Silence is what the tick measures; one lost heartbeat says nothing yet.
    } finally {
      m.beating = false
    }
  }

  /**
   * This node's load sample, read at most once per SAMPLE_REUSE_MS (or half a heartbeat, if shorter): the beats
   * a tick sends every member, and the answers to theirs, share one. Reading memory and load costs tens of µs.
   */
  private sample (): NodeSample {
    const now = this.opts.clock.now()
    if (this.ownSample === null || now - this.ownSampleAt >= Math.min(SAMPLE_REUSE_MS, this.opts.timing.heartbeatMs / 2) || now < this.ownSampleAt) {
      this.ownSample = this.opts.host.sample()
      this.ownSampleAt = now
    }
    return this.ownSample
  }

  private seen (m: Member): void {
    m.lastSeen = this.opts.clock.now()
    if (m.state !== 'up') this.transition(m, 'up', 'heard from again')
  }

  private transition (m: Member, state: MemberState, why: string): void {
    const previous = m.state
    m.state = state
    this.opts.host.audit({ event: `node_${state}`, message: `node ${m.name} (${m.nodeId.slice(0, 8)}) ${previous} -> ${state}: ${why}`, domains: ['mesh'] })
    this.opts.host.membersChanged(m)
  }

  /** Looks the mesh topic up again, often at first and then rarely: peers that announce after our last look are found here. */
  private scheduleRefresh (delayMs: number, round = 0): void {
    if (this.stopped) return
    this.refreshTimer = setTimeout(() => {
      // Nodes that start together each look before the others announce: look every 250 ms for the
      // first two seconds, so a mesh forms in about that, then back off to every 15 s.
      const next = round < 8 ? 250 : Math.min(delayMs * 2, 15_000)
      this.opts.transport.refresh(this.opts.keys.topic).catch(() => {}).finally(() => this.scheduleRefresh(next, round + 1))
    }, delayMs)
  }

  // ---- refusals, audited once a minute per peer so a hostile peer cannot flood the trail

  private rejected (remoteId: string, why: string): void {
    this.opts.log.warn(why)
    if (this.throttled(`reject:${remoteId}`)) return
    this.opts.host.audit({ event: 'peer_rejected', message: `${why}; dropped before any RPC`, domains: ['mesh', 'security'] })
  }

  private refused (m: Member, message: string, what = ''): void {
    if (this.throttled(`refuse:${m.nodeId}:${message}`)) return
    this.opts.host.audit({ event: 'rpc_refused', message: `${m.name} (${m.nodeId.slice(0, 8)}) called '${message}'${what === '' ? '' : ` with ${what}`}, which mesh members may not`, domains: ['mesh', 'security'] })
  }

  private protocolError (m: Member, err: SeError): void {
    if (this.throttled(`garbled:${m.nodeId}`)) return
    this.opts.host.audit({ event: 'peer_protocol_error', message: `${m.name} (${m.nodeId.slice(0, 8)}): ${err.message}`, domains: ['mesh', 'security'] })
  }

  // Per key once a minute, and at most REFUSALS_AUDITED_PER_MINUTE in all: a flood of
  // strangers, each with a fresh key, must not fill the trail (or this map) either.
  private throttled (key: string): boolean {
    const now = this.opts.clock.now()
    for (const [k, at] of this.lastRejected) {
      if (now - at < REFUSAL_AUDIT_INTERVAL_MS) break
      this.lastRejected.delete(k)
    }
    if (this.lastRejected.has(key) || this.lastRejected.size >= REFUSALS_AUDITED_PER_MINUTE) return true
    this.lastRejected.set(key, now)
    return false
  }
}

/** How long a node's own load sample is reused for the heartbeats it sends and answers. */
const SAMPLE_REUSE_MS = 100
/** A refusal of one kind from one peer is audited once in this long. */
const REFUSAL_AUDIT_INTERVAL_MS = 60_000
/** Refusals audited per interval across all peers; the rest are only logged. */
const REFUSALS_AUDITED_PER_MINUTE = 100

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(SeError.gaveUp(ms)), ms)
    promise.then(v => { clearTimeout(timer); resolve(v) }, err => { clearTimeout(timer); reject(err) })
  })
}
