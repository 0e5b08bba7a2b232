// Membership of a mesh: who is in it, what they can do, whether they are alive.
// A node holds connections to a bounded neighbourhood only (SE_MESH_NEIGHBOURS)
// and learns everyone else by gossip (gossip/membership.ts: SWIM probes over the
// links it holds, suspicion a live member refutes, news piggybacked on probes,
// push-pull anti-entropy). Work opens a connection on demand to the member it
// goes to, closed again when idle. Every connection is authenticated (allowlist,
// then the mesh-secret proof) before an RPC frame is read from it.
import { SeError } from '../errors.js'
import b4a from 'b4a'
import type { Clock, Crypto, Logger, MeshTransport, MessageChannel, PeerLink } from '../ports.js'
import { fromHex, toHex } from '../hex.js'
import type { AuditInput } from '../audit/log.js'
import { MESSAGES, namedType } from '../protocol/codec.js'
import { SEMeshPeer, SESession } from '../protocol/schema.js'
import type {
  GossipMeta, InterventionResult, MemberState, SessionInfo, SessionOutput, MeshNode, MeshPeerApi, NodeCapabilities, NodeMatch, NodeSample, ProviderRecord, Requirements,
  SignedAuditEntry, StepOutcome, StepRequest, WorkflowEvent, WorkflowStatus
} from '../protocol/types.js'
import { rpcClient } from '../rpc/node-api.js'
import { RpcPeer, type CallObserver, type CancelReason, type Handler } from '../rpc/peer.js'
import { REJECTIONS } from '../metrics/rejections.js'
import { commandNames } from '../workflow/commands.js'
import { authenticate } from './handshake.js'
import { capabilityTopic, providerTopic, type MeshKeys } from './keys.js'
import { Member, type Learned } from './member.js'
import { gossipConfig } from './gossip/config.js'
import { Membership } from './gossip/membership.js'
import { BRIDGE_INTERVALS, BRIDGE_MAX_BACKOFF, acceptsNeighbour, bridges, dialsNeeded, neighbourTarget } from './gossip/neighbourhood.js'
import type { GossipAck, GossipLinks, GossipState, GossipUpdate, IndirectAck, KnownMember } from './gossip/types.js'

export { Member }

export interface MeshTiming {
  /** One probe of one linked member per interval: SWIM's protocol period. */
  heartbeatMs: number
  /** How long a probe, direct then through others, may go unanswered before the member is suspect. */
  suspectMs: number
  /** The least time a suspect stays suspect before it is down; more in a larger mesh (log N), less as others confirm. */
  downMs: number
  handshakeMs: number
  /** How long a provider lookup result is reused. */
  providerCacheMs: number
  providerLookupMs: number
  /** A work connection (not a neighbour link) unused this long is closed by the node that opened it. */
  idleMs: number
}

// A hello takes one round trip. The handshake timeout is short because Hyperswarm's duplicate
// handling sometimes leaves one side holding a connection the other never saw: that side only
// reconnects once it gives up on the hello, so this timeout is how long such a join takes.
export const DEFAULT_TIMING: MeshTiming = { heartbeatMs: 1000, suspectMs: 3000, downMs: 6000, handshakeMs: 1500, providerCacheMs: 5000, providerLookupMs: 3000, idleMs: 30_000 }

/** What the mesh asks of the node it belongs to. */
export interface MeshHost {
  capabilities (): Promise<NodeCapabilities>
  sample (): NodeSample
  audit (input: AuditInput): void
  findNodesForWorkflow (requirements: Requirements): Promise<NodeMatch[]>
  /** `onCancel`'s listener learns why: cancelled by the requester, or its connection gone (it may attach again). */
  runStep (from: string, request: StepRequest, emit: (event: WorkflowEvent) => void, onCancel: (listener: (why: CancelReason) => void) => void): Promise<StepOutcome>
  cancelStep (from: string, workflowId: string, stepId: string): Promise<boolean>
  /** The requester joins again a step it routed here, after its connection dropped. */
  attachStep (from: string, workflowId: string, stepId: string, attempt: number, emit: (event: WorkflowEvent) => void, onCancel: (listener: (why: CancelReason) => void) => void): Promise<StepOutcome>
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
  /** What this node holds that people at other members ask about; gossiped, so they ask only where it is. */
  holding?: () => { waiting: number, sessions: number }
  /** Every probe interval: a chance to retry what waits on membership, should a change have been missed. */
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
  /** How many neighbour links to keep (SE_MESH_NEIGHBOURS); the default when absent. */
  neighbours?: number
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

export class Mesh {
  readonly members = new Map<string, Member>()
  readonly membership: Membership
  private readonly providing = new Set<string>()
  private readonly providerCache = new Map<string, { at: number, keys: string[] }>()
  private readonly lastRejected = new Map<string, number>()
  /** Nodes found on the mesh topic that gossip has not told of yet: whom a joining node dials first. */
  private readonly discovered = new Set<string>()
  private announced: Promise<void> = new Promise(() => {})
  /** Capability announcements, one after another (each waits for the one before). */
  private announcing: Promise<void> = Promise.resolve()
  /**
   * Dials under way: as a neighbour or for work, since when. `revive`: a member lately taken for
   * down, dialled to hear it refute; no charge on the neighbour dials. `bridge`: see bridges().
   */
  private readonly dialling = new Map<string, { neighbour: boolean, since: number, revive?: boolean, bridge?: boolean }>()
  /** When this node next reaches past its neighbourhood, and how many times the base interval it waits after a refusal. */
  private nextBridgeAt = 0
  private bridgeBackoff = 1
  private readonly waiting = new Map<string, Array<() => void>>()
  private readonly explicit: Set<string>
  private readonly target: number
  private tickTimer: ReturnType<typeof setInterval> | null = null
  private refreshTimer: ReturnType<typeof setTimeout> | null = null
  private stopped = false
  private ownSample: NodeSample | null = null
  private ownSampleAt = 0
  private published: { caps: string, sample: NodeSample | null, holding: string, at: number } | null = null
  private artifactChannel: ArtifactChannelListener | null = null
  private readonly capabilityTopics = new Set<string>()

  constructor (private readonly opts: MeshOptions) {
    this.target = neighbourTarget(opts.neighbours)
    this.explicit = new Set(opts.peers)
    const { clock, timing } = opts
    this.membership = new Membership({
      self: opts.nodeId,
      meta: new Uint8Array(0),
      links: this.gossipLinks(),
      timers: { now: () => clock.now(), after: (ms, fn) => { const t = setTimeout(fn, ms); return () => clearTimeout(t) } },
      random: Math.random,
      config: gossipConfig({ probeIntervalMs: timing.heartbeatMs, probeDeadlineMs: timing.suspectMs, suspicionFloorMs: timing.downMs }),
      events: { changed: (known, previous, why) => this.learn(known, previous, why) }
    })
  }

  get name (): string { return this.opts.keys.name }
  /** How many neighbour links this node keeps at most. */
  get neighbourTarget (): number { return this.target }

  async start (): Promise<void> {
    const { transport, keys, timing } = this.opts
    transport.onConnection(link => { void this.accept(link) })
    await this.publish(true)
    this.membership.start()
    // The first bridge waits a whole period: a node just started is still forming its neighbourhood.
    this.nextBridgeAt = this.opts.clock.now() + BRIDGE_INTERVALS * timing.heartbeatMs * (0.5 + Math.random())
    this.tickTimer = setInterval(() => this.tick(), timing.heartbeatMs)
    for (const key of this.explicit) this.dial(key, true)
    // Announced, never dialled as a whole: whom to connect to is this node's choice (its neighbourhood),
    // not the swarm's. The announcement is not waited for: this node finds the others by looking them up.
    this.announced = transport.join(keys.topic)
    this.announced.catch(err => this.opts.log.warn(`announcing mesh ${keys.name} on the DHT: ${(err as Error).message}`))
    this.scheduleRefresh(0)
  }

  /**
   * Settles once this node is announced on the mesh topic (others can find it): what "joined" means for
   * its readiness. Until start(), and on a DHT nobody answers, it waits.
   */
  get joined (): Promise<void> {
    return this.announced
  }

  /** `farewell: false` leaves as a crash does, without a word: what tests of failure detection need. */
  async stop (opts: { farewell?: boolean } = {}): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.tickTimer !== null) clearInterval(this.tickTimer)
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer)
    // Said goodbye, so members mark this node left at once rather than suspect it.
    if (opts.farewell !== false) {
      this.membership.leave()
      await new Promise(resolve => setTimeout(resolve, FAREWELL_MS))
    }
    this.membership.stop()
    if (opts.farewell === false) { for (const member of this.members.values()) member.rpc?.close(); await this.opts.transport.destroy(); return }
    // Provider records go with the node; a lookup must not find a node that has stopped. An announcement
    // still under way ends first, or it could land after its unannouncement.
    await withTimeout(this.announcing, 2000).catch(() => {})
    const topics = [...[...this.providing].map(id => providerTopic(this.opts.crypto, this.opts.keys, id)), ...[...this.capabilityTopics].map(c => capabilityTopic(this.opts.crypto, this.opts.keys, c))]
    await Promise.all(topics.map(async topic => await withTimeout(this.opts.transport.unannounce(topic), 2000).catch(() => {})))
    for (const member of this.members.values()) member.rpc?.close()
    for (const resolve of [...this.waiting.values()].flat()) resolve()
    await this.opts.transport.destroy()
  }

  /** Told of each member connection's artifact channel, once the handshake has proved who is on the other end. */
  onArtifactChannel (listener: ArtifactChannelListener): void {
    this.artifactChannel = listener
  }

  /** Members that can take work now (a connection is opened when work goes to one), with what the router needs to rank them. */
  usableMembers (): Member[] {
    return [...this.members.values()].filter(m => m.usable)
  }

  member (nodeId: string): Member | undefined {
    return this.members.get(nodeId)
  }

  /** Connections held now: to neighbours, and for work. */
  links (): { neighbours: number, work: number } {
    let neighbours = 0
    let work = 0
    for (const m of this.members.values()) {
      if (!m.connected) continue
      if (m.neighbour) neighbours++
      else work++
    }
    return { neighbours, work }
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
      learned: m.learned,
      link: m.link
    }))
  }

  /**
   * The member's API over a connection, opened now if there is none (work goes to members gossip
   * told of, most of which this node holds no connection to). `lease` keeps it open until released.
   */
  async reach (nodeId: string, opts: { timeoutMs?: number } = {}): Promise<MeshPeerApi> {
    const m = this.members.get(nodeId)
    if (m === undefined) throw SeError.noSuchMember(nodeId.slice(0, 12))
    m.lastUsed = this.opts.clock.now()
    if (m.connected && m.api !== null) return m.api
    const timeoutMs = opts.timeoutMs ?? Math.max(REACH_MIN_MS, this.opts.timing.handshakeMs * 3)
    if (!this.dialling.has(nodeId)) this.dial(nodeId, false)
    await new Promise<void>(resolve => {
      const list = this.waiting.get(nodeId) ?? []
      const done = (): void => { clearTimeout(timer); resolve() }
      // Given up on: its waiter goes, or a member that never answers would keep one per try.
      const timer = setTimeout(() => {
        const left = (this.waiting.get(nodeId) ?? []).filter(w => w !== done)
        if (left.length > 0) this.waiting.set(nodeId, left)
        else this.waiting.delete(nodeId)
        resolve()
      }, timeoutMs)
      list.push(done)
      this.waiting.set(nodeId, list)
    })
    m.lastUsed = this.opts.clock.now()
    if (m.connected && m.api !== null) return m.api
    throw SeError.memberUnreachable(m.name, nodeId, timeoutMs)
  }

  /** How long the router tries to join again a step whose connection dropped (stepReattachMs). */
  get reattachMs (): number { return stepReattachMs(this.opts.timing) }

  /** Keeps a member's connection open while work that does not show as calls (an artifact transfer) uses it. */
  async lease (nodeId: string): Promise<() => void> {
    await this.reach(nodeId)
    const m = this.members.get(nodeId) as Member
    m.leases++
    let released = false
    return () => {
      if (released) return
      released = true
      m.leases--
      m.lastUsed = this.opts.clock.now()
    }
  }

  // ---- provider records and capabilities on the DHT

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
    const found = await this.lookupCached(`provider:${id}`, providerTopic(this.opts.crypto, this.opts.keys, id))
    const keysFound = new Set(found)
    if (this.providing.has(id)) keysFound.add(this.opts.nodeId)
    return [...keysFound].sort().map(nodeId => {
      if (nodeId === this.opts.nodeId) return { id, nodeId, name: this.opts.name, state: 'up' }
      const m = this.members.get(nodeId)
      return { id, nodeId, name: m?.name ?? null, state: m?.state ?? 'unknown' }
    })
  }

  /**
   * Members that have each of these capabilities, found on the DHT when gossip has not told of one yet
   * (a node that has just joined knows few members): each one found is connected to and asked what it
   * can do, so the router can rank it. Returns how many members were added.
   */
  async findCapable (capabilities: string[]): Promise<number> {
    const wanted = capabilities.map(plainCapability).filter(c => !this.usableMembers().some(m => hasCapability(m.capabilities as NodeCapabilities, c)))
    let added = 0
    for (const capability of new Set(wanted)) {
      const found = await this.lookupCapability(capability)
      await Promise.all(found.filter(id => id !== this.opts.nodeId && this.admits(id) && this.members.get(id)?.usable !== true).slice(0, CAPABLE_ASKED).map(async nodeId => {
        const m = this.memberFor(nodeId, 'direct')
        try {
          const api = await this.reach(nodeId)
          const caps = await api.getCapabilities()
          if (caps.nodeId !== nodeId || m.capabilities !== null) return
          m.capabilities = caps
          m.name = caps.name
          m.lastSeen = this.opts.clock.now()
          added++
          this.opts.host.membersChanged(m)
        } catch {
          // Gone since it announced: the next lookup will not find it.
        }
      }))
    }
    return added
  }

  /** The keys of the nodes announcing a capability on the DHT (reused for providerCacheMs). */
  async lookupCapability (capability: string): Promise<string[]> {
    const c = plainCapability(capability)
    return await this.lookupCached(`capability:${c}`, capabilityTopic(this.opts.crypto, this.opts.keys, c))
  }

  private async lookupCached (key: string, topic: Uint8Array): Promise<string[]> {
    const { transport, clock, timing } = this.opts
    const cached = this.providerCache.get(key)
    if (cached !== undefined && clock.now() - cached.at < timing.providerCacheMs) return cached.keys
    const found = (await transport.lookup(topic, timing.providerLookupMs)).map(toHex)
    this.providerCache.set(key, { at: clock.now(), keys: found })
    return found
  }

  /** Announces each capability this node has (tags and engines: what steps ask for by name) under its own topic. */
  private async announceCapabilities (caps: NodeCapabilities): Promise<void> {
    const { transport, crypto, keys } = this.opts
    const now = new Set([...caps.tags, ...caps.engines])
    for (const c of [...this.capabilityTopics]) {
      if (now.has(c)) continue
      this.capabilityTopics.delete(c)
      await transport.unannounce(capabilityTopic(crypto, keys, c)).catch(() => {})
    }
    for (const c of now) {
      if (this.capabilityTopics.has(c)) continue
      this.capabilityTopics.add(c)
      await transport.announce(capabilityTopic(crypto, keys, c)).catch(err => this.opts.log.warn(`announcing capability ${c}: ${(err as Error).message}`))
    }
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
    const m = this.memberFor(remoteId, 'direct')
    m.name = auth.hello.name
    m.learned = 'direct'
    m.lastSeen = clock.now()
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
      m.neighbour = false
      // A dialled member's swarm entry is dropped too, or Hyperswarm would dial it again and again:
      // whether to, and whom instead, is the neighbourhood's choice at the next tick.
      if (m.dialled) { m.dialled = false; this.opts.transport.leavePeer(fromHex(m.nodeId)) }
      if (m.unlinking !== rpc) this.membership.linkDown(m.nodeId)
      this.opts.host.membersChanged(m)
    })
    const dial = this.dialling.get(remoteId)
    this.dialling.delete(remoteId)
    for (const resolve of this.waiting.get(remoteId) ?? []) resolve()
    this.waiting.delete(remoteId)
    this.membership.linkUp(remoteId)
    if (m.usable) this.opts.host.membersChanged(m)
    try {
      if (dial?.neighbour === true && !m.neighbour) {
        m.askedOn = rpc
        m.asking = true
        m.neighbour = await m.api.neighbour().finally(() => { if (m.askedOn === rpc) m.asking = false })
        if (dial.bridge === true) this.bridgeBackoff = m.neighbour ? 1 : Math.min(this.bridgeBackoff * 2, BRIDGE_MAX_BACKOFF)
        // Its neighbourhood is full: the link serves whatever work asked for it, then closes when idle.
        if (!m.neighbour) m.cooldownUntil = clock.now() + NEIGHBOUR_COOLDOWN_INTERVALS * timing.heartbeatMs
      }
      // Its policy is read once at its start: asked once per connection, for the dashboard's marks.
      m.allows = await m.api.allowedActions().catch(() => m.allows)
    } catch {
      // A peer that leaves mid-introduction is retried when it connects again.
    }
  }

  private admits (nodeId: string): boolean {
    return this.opts.allow === null || this.opts.allow.has(nodeId)
  }

  private memberFor (nodeId: string, learned: Learned): Member {
    let m = this.members.get(nodeId)
    if (m === undefined) {
      m = new Member(nodeId, nodeId.slice(0, 8), this.opts.clock.now())
      m.learned = learned
      this.members.set(nodeId, m)
      this.discovered.delete(nodeId)
    }
    return m
  }

  /** Opens a connection to a member: as a neighbour (asked once it is up), or for work. */
  private dial (nodeId: string, neighbour: boolean, revive = false, bridge = false): void {
    if (this.stopped || nodeId === this.opts.nodeId) return
    const m = this.memberFor(nodeId, 'gossip')
    this.dialling.set(nodeId, { neighbour, since: this.opts.clock.now(), revive, bridge })
    m.dialled = true
    this.opts.transport.joinPeer(fromHex(nodeId))
  }

  /** Keeps the neighbourhood at its size, closes idle work connections, gives up on dials that went nowhere. */
  private maintain (): void {
    const { clock, timing, transport } = this.opts
    const now = clock.now()
    const giveUpMs = Math.max(REACH_MIN_MS, timing.handshakeMs * 3)
    for (const [nodeId, d] of this.dialling) {
      if (now - d.since < giveUpMs) continue
      this.dialling.delete(nodeId)
      const m = this.members.get(nodeId)
      if (m === undefined || m.connected) continue
      m.dialled = false
      m.cooldownUntil = now + NEIGHBOUR_COOLDOWN_INTERVALS * timing.heartbeatMs
      if (!this.explicit.has(nodeId)) transport.leavePeer(fromHex(nodeId))
    }
    let neighbours = 0
    const idle: Member[] = []
    const candidates: string[] = []
    const revivable: string[] = []
    for (const m of this.members.values()) {
      if (m.connected) {
        if (m.neighbour) neighbours++
        else if (m.leases === 0 && !(m.rpc as RpcPeer).busy && now - m.lastUsed > timing.idleMs && !this.explicit.has(m.nodeId)) idle.push(m)
        continue
      }
      if (m.cooldownUntil > now || this.dialling.has(m.nodeId)) continue
      if (m.state === 'up') candidates.push(m.nodeId)
      else if (!m.left && now - m.stateSince < REVIVE_INTERVALS * timing.heartbeatMs) revivable.push(m.nodeId)
    }
    // An idle connection that is no neighbour link (work done, a neighbour request refused, or one
    // Hyperswarm made again after a drop, which neither end asked for) becomes a neighbour link
    // while the neighbourhood has room, once per connection; otherwise it is closed.
    for (const m of idle) {
      const rpc = m.rpc as RpcPeer
      // Asked and not answered yet (the member may be slow, or stopped): the answer decides.
      if (m.askedOn === rpc && m.asking) continue
      if (neighbours < this.target && m.askedOn !== rpc && m.api !== null) {
        m.askedOn = rpc
        m.asking = true
        neighbours++
        m.api.neighbour().then(yes => { if (m.rpc === rpc && yes) m.neighbour = true }, () => {}).finally(() => { if (m.askedOn === rpc) m.asking = false })
        continue
      }
      this.unlink(m)
    }
    // Requests crossing each other can leave a node over its target (it said yes to others while its
    // own requests were answered): the excess is closed, links it dialled first, and both ends re-plan.
    if (neighbours > this.target) {
      // A link carrying calls (a step running there) is kept: it is trimmed at a later tick, once idle.
      const excess = [...this.members.values()].filter(m => m.connected && m.neighbour && !this.explicit.has(m.nodeId) && !(m.rpc as RpcPeer).busy).sort((a, b) => Number(b.dialled) - Number(a.dialled))
      const trimmed = excess.slice(0, neighbours - this.target)
      for (const m of trimmed) this.unlink(m)
      neighbours -= trimmed.length
    }
    for (const id of this.discovered) if (!this.dialling.has(id)) candidates.push(id)
    const dialling = [...this.dialling].filter(([, d]) => d.neighbour && d.revive !== true).map(([id]) => id)
    const planned = dialsNeeded({ neighbours, dialling, candidates, target: this.target, random: Math.random })
    for (const id of planned) this.dial(id, true)
    // A bridge, while this node holds half its target or fewer: a member it holds no link to, dialled as
    // a neighbour. The link's exchange of state carries news across groups of neighbourhoods that
    // never link otherwise; refused, the next one waits twice as long. None while news is still being
    // passed on (a mesh starting up, its neighbourhoods still forming): that turn is skipped, not held
    // back, or every node would bridge at the same moment once the news stopped.
    if (planned.length === 0 && bridges(neighbours, this.target) && now >= this.nextBridgeAt) {
      this.nextBridgeAt = now + BRIDGE_INTERVALS * this.bridgeBackoff * timing.heartbeatMs * (0.5 + Math.random())
      const pool = this.membership.urgentNews > 0 ? [] : candidates.filter(id => !this.dialling.has(id) && this.members.get(id) !== undefined)
      const id = pool[Math.floor(Math.random() * pool.length)]
      if (id !== undefined) this.dial(id, true, false, true)
    }
    // A node with no link at all dials members it took for suspect or down lately: it may be the one that
    // was cut off (it paused; its links dropped), or they may have been. A link lets news of their state
    // reach them so the live one refutes it (memberlist gossips to the dead a while for the same reason).
    const reviving = [...this.dialling].filter(([, d]) => d.revive === true).map(([id]) => id)
    const links = this.links()
    if (links.neighbours + links.work > 0) return
    for (const id of dialsNeeded({ neighbours, dialling: [...dialling, ...planned, ...reviving], candidates: revivable, target: this.target, random: Math.random })) this.dial(id, true, true)
  }

  /**
   * Closes a connection on purpose, saying so first: a connection that just drops is the first sign
   * of a crash, and its other end probes the member at once; one closed on purpose is no such sign.
   */
  private unlink (m: Member): void {
    const rpc = m.rpc
    if (rpc === null || m.api === null) return
    m.unlinking = rpc
    void withTimeout(m.api.unlink(), this.opts.timing.heartbeatMs).catch(() => {}).finally(() => rpc.close())
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
    // Membership travels by gossip; the member's own word about itself arrives with it.
    handlers.set('heartbeat', async req => {
      member.sample = req.sample as NodeSample
      member.lastSeen = this.opts.clock.now()
      return this.sample()
    })
    handlers.set('registerCapabilities', async req => {
      const caps = req.capabilities as NodeCapabilities
      if (caps.nodeId !== member.nodeId) throw SeError.capabilitiesOfAnother(member.nodeId, caps.nodeId)
      return true
    })
    handlers.set('gossipPing', async req => this.membership.onPing(member.nodeId, req.updates as GossipUpdate[]))
    handlers.set('gossipPingReq', async req => await this.membership.onPingReq(member.nodeId, req.target as string, req.updates as GossipUpdate[]))
    handlers.set('gossipSync', async req => this.membership.onSync(member.nodeId, req.state as GossipUpdate[]))
    handlers.set('unlink', async () => {
      member.unlinking = member.rpc
      return true
    })
    handlers.set('neighbour', async () => {
      if (!member.neighbour && acceptsNeighbour(this.links().neighbours, this.target)) member.neighbour = true
      return member.neighbour
    })
    handlers.set('getCapabilities', async () => await host.capabilities())
    handlers.set('findNodesForWorkflow', async req => await host.findNodesForWorkflow(req.requirements as Requirements))
    handlers.set('runStep', async (req, ctx) => await host.runStep(member.nodeId, req.request as StepRequest, e => ctx.emit(e), l => ctx.onCancel(l)))
    handlers.set('cancelStep', async req => await host.cancelStep(member.nodeId, req.workflowId as string, req.stepId as string))
    handlers.set('attachStep', async (req, ctx) => await host.attachStep(member.nodeId, req.workflowId as string, req.stepId as string, Number(req.attempt), e => ctx.emit(e), l => ctx.onCancel(l)))
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

  // ---- membership

  private tick (): void {
    if (this.stopped) return
    this.maintain()
    void this.publish(false)
    this.opts.host.tick()
  }

  /**
   * What this node tells the mesh about itself: its capabilities, and its load. Load moves all the
   * time; it is sent again when it has moved enough to change a ranking, or has not been sent for
   * a while, so gossip carries news, not noise (every change travels to every member).
   */
  private async publish (force: boolean): Promise<void> {
    const now = this.opts.clock.now()
    const last = this.published
    const holding = this.opts.host.holding?.() ?? { waiting: 0, sessions: 0 }
    const holdingText = `${holding.waiting}/${holding.sessions}`
    // A question for a person, or a session, that appeared or went is news at once: members ask only where there are some.
    const holdingChanged = last !== null && last.holding !== holdingText
    // Every member's load news reaches every member: spaced out in proportion to the mesh's size, it
    // costs each node the same few items a second however large the mesh (news, not noise).
    const spacing = Math.max(META_MIN_INTERVALS, this.members.size / META_NEWS_PER_INTERVAL)
    if (!force && !holdingChanged && last !== null && now - last.at < this.opts.timing.heartbeatMs * spacing) return
    let caps: NodeCapabilities
    try { caps = await this.opts.host.capabilities() } catch { return }
    const sample = this.sample()
    const capsText = JSON.stringify(caps, (k, v) => k === 'loadAverage' || k === 'memoryFreeMb' ? undefined : v)
    if (!force && !holdingChanged && last !== null && last.caps === capsText && !loadMoved(last.sample, sample, now - last.at, this.opts.timing.heartbeatMs * Math.max(1, spacing / META_MIN_INTERVALS))) return
    this.published = { caps: capsText, sample, holding: holdingText, at: now }
    // New capabilities or a question or session that appeared or went are pushed at once; load alone rides on the probes.
    this.membership.setMeta(META.toBuffer({ capabilities: caps, sample, waiting: holding.waiting, sessions: holding.sessions }), holdingChanged || (last !== null && last.caps !== capsText))
    // Not waited for: a DHT announcement takes round trips, and a node starting must not wait on it
    // (members learn its capabilities by gossip; the DHT serves those that have not heard yet).
    if (last === null || last.caps !== capsText) this.announcing = this.announcing.then(async () => await this.announceCapabilities(caps)).catch(() => {})
  }

  /** What the gossip engine learned of a member, into the member table the router and views read. */
  private learn (known: KnownMember, previous: GossipState | null, why: string): void {
    // A node with an allowlist knows no member beyond it, whatever others say: it neither lists nor routes to one.
    if (known.nodeId === this.opts.nodeId || !this.admits(known.nodeId)) return
    const m = this.memberFor(known.nodeId, known.learned)
    if (known.learned === 'direct') m.learned = 'direct'
    m.lastSeen = known.updatedAt
    const hadCapabilities = m.capabilities !== null
    if (known.meta !== null) {
      const meta = decodeMeta(known.meta)
      // Metadata is the member's own word; news that puts another node's capabilities on it is dropped.
      if (meta !== null && meta.capabilities.nodeId === known.nodeId) {
        m.capabilities = meta.capabilities
        m.name = meta.capabilities.name
        m.sample = meta.sample ?? m.sample
        m.holding = { waiting: meta.waiting, sessions: meta.sessions }
      }
    }
    const state: MemberState = known.state === 'alive' ? 'up' : known.state === 'suspect' ? 'suspect' : 'down'
    m.left = known.state === 'left'
    if (!hadCapabilities && m.capabilities !== null && state === 'up') {
      const caps = m.capabilities
      this.opts.host.audit({ event: 'node_join', message: `node ${caps.name} (${m.nodeId.slice(0, 8)}) joined mesh ${this.name}${m.learned === 'gossip' ? ' (told by gossip)' : ''}: ${[...new Set([...caps.engines, ...caps.tools, ...caps.tags])].join(', ')}`, domains: ['mesh'] })
    }
    if (state !== m.state) {
      const from = m.state
      m.state = state
      m.stateSince = this.opts.clock.now()
      this.opts.host.audit({ event: `node_${state}`, message: `node ${m.name} (${m.nodeId.slice(0, 8)}) ${from} -> ${state}: ${known.state === 'left' ? 'left the mesh' : why}`, domains: ['mesh'] })
      // A down member's calls fail now: a step running there is joined again if the member was only
      // taken for down and refutes it (Router.reattach), or moves elsewhere if it does not.
      if (state === 'down') m.rpc?.close()
    }
    this.opts.host.membersChanged(m)
  }

  /** The gossip engine's links: the connections this node holds, called over their RPC. */
  private gossipLinks (): GossipLinks {
    const connected = (nodeId: string): Member => {
      const m = this.members.get(nodeId)
      if (m?.rpc == null || m.rpc.isClosed) throw SeError.connectionClosed(nodeId.slice(0, 12))
      return m
    }
    const timed = async <T>(nodeId: string, message: string, request: Record<string, unknown>, timeoutMs: number): Promise<T> => {
      const m = connected(nodeId)
      const started = this.opts.clock.now()
      const answer = await (m.rpc as RpcPeer).call(message, request, { timeoutMs }) as T
      m.latencyMs = this.opts.clock.now() - started
      return answer
    }
    return {
      linked: () => [...this.members.values()].filter(m => m.connected).map(m => m.nodeId),
      ping: async (to, updates, timeoutMs) => await timed<GossipAck>(to, 'gossipPing', { updates }, timeoutMs),
      pingReq: async (via, target, updates, timeoutMs) => await timed<IndirectAck>(via, 'gossipPingReq', { target, updates }, timeoutMs),
      sync: async (to, state, timeoutMs) => await timed<GossipUpdate[]>(to, 'gossipSync', { state }, timeoutMs)
    }
  }

  /**
   * This node's load sample, read at most once per SAMPLE_REUSE_MS (or half a probe interval, if shorter).
   * Reading memory and load costs tens of µs.
   */
  private sample (): NodeSample {
    const now = this.opts.clock.now()
    if (this.ownSample === null || now - this.ownSampleAt >= Math.min(SAMPLE_REUSE_MS, this.opts.timing.heartbeatMs / 2) || now < this.ownSampleAt) {
      this.ownSample = this.opts.host.sample()
      this.ownSampleAt = now
    }
    return this.ownSample
  }

  /**
   * Looks the mesh topic up: often at first, then rarely. A joining node dials some of whom it finds;
   * gossip then tells it of everyone, so a lookup only matters while it knows few members.
   */
  private scheduleRefresh (delayMs: number, round = 0): void {
    if (this.stopped) return
    this.refreshTimer = setTimeout(() => {
      // Every 250 ms for the first two seconds, every second while this node is still alone, then backing off to every 15 s.
      const alone = this.links().neighbours === 0
      const next = round < 8 ? 250 : alone ? 1000 : Math.min(Math.max(delayMs, 250) * 2, 15_000)
      const discover = (key: string): boolean => {
        if (key === this.opts.nodeId || this.members.has(key) || !this.admits(key) || this.discovered.size >= MAX_DISCOVERED) return false
        this.discovered.add(key)
        return true
      }
      // A node with no link yet dials the first it finds, not after the whole query (which takes seconds in a large mesh).
      const onFound = (publicKey: Uint8Array): void => {
        if (discover(toHex(publicKey)) && !this.stopped && this.links().neighbours === 0) this.maintain()
      }
      this.opts.transport.lookup(this.opts.keys.topic, this.opts.timing.providerLookupMs, onFound).then(found => {
        for (const key of found.map(toHex)) discover(key)
        this.maintain()
      }).catch(() => {}).finally(() => this.scheduleRefresh(next, round + 1))
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

/** How long a stopping node gives its goodbye to reach its links before it closes them. */
const FAREWELL_MS = 100
/** How long a node's own load sample is reused for what it sends. */
const SAMPLE_REUSE_MS = 100
/** A refusal of one kind from one peer is audited once in this long. */
const REFUSAL_AUDIT_INTERVAL_MS = 60_000
/** Refusals audited per interval across all peers; the rest are only logged. */
const REFUSALS_AUDITED_PER_MINUTE = 100
/** The least time work waits for a connection to a member it was given (a Hyperswarm dial and a hello). */
const REACH_MIN_MS = 5000

/**
 * How long a requester whose connection to a step's member dropped tries to join the step again
 * (a blip, a connection Hyperswarm replaced, a member paused past its suspicion): as long as it
 * takes to open a connection, and at least the time a member takes to be declared down.
 */
export function stepReattachMs (timing: MeshTiming): number {
  return Math.max(REACH_MIN_MS, timing.downMs)
}
/** A member that refused to be a neighbour, or could not be reached, is not asked again for this many probe intervals. */
const NEIGHBOUR_COOLDOWN_INTERVALS = 30
/** How long after it went suspect or down a member is still dialled when the neighbourhood has room (memberlist's GossipToTheDeadTime). */
const REVIVE_INTERVALS = 30
/** This node's metadata (load) goes out by gossip at most once in this many probe intervals… */
const META_MIN_INTERVALS = 5
/** …and then only when its load moved by this much per CPU, its running counts changed, or this many intervals passed. */
const META_LOAD_STEP = 0.25
/** Load news the whole mesh sends per probe interval at most, summed over its members (see publish). */
const META_NEWS_PER_INTERVAL = 4
const META_MAX_INTERVALS = 60
/** Keys found on the mesh topic, kept until gossip or a connection says who they are. */
const MAX_DISCOVERED = 256
/** At most this many nodes found for a capability on the DHT are asked what they can do. */
const CAPABLE_ASKED = 8

const META = namedType('GossipMeta')

function decodeMeta (bytes: Uint8Array): GossipMeta | null {
  try {
    return META.fromBuffer(b4a.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as GossipMeta
  } catch {
    return null
  }
}

/** Whether a new load sample is news to the mesh: enough to change how members rank this node. */
function loadMoved (before: NodeSample | null, after: NodeSample, elapsedMs: number, intervalMs: number): boolean {
  if (before === null || elapsedMs >= intervalMs * META_MAX_INTERVALS) return true
  const perCpu = (s: NodeSample): number => s.loadAverage / Math.max(1, s.cpus)
  return Math.abs(perCpu(before) - perCpu(after)) >= META_LOAD_STEP || before.workflowsRunning !== after.workflowsRunning || before.workloadsRunning !== after.workloadsRunning
}

/** `tag:gpu` and `gpu` name one capability on the DHT. */
function plainCapability (c: string): string {
  const at = c.indexOf(':')
  return at === -1 ? c : c.slice(at + 1)
}

function hasCapability (caps: NodeCapabilities, c: string): boolean {
  return caps.tags.includes(c) || caps.engines.includes(c) || caps.tools.includes(c) || caps.credentials.includes(c)
}

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(SeError.gaveUp(ms)), ms)
    promise.then(v => { clearTimeout(timer); resolve(v) }, err => { clearTimeout(timer); reject(err) })
  })
}
