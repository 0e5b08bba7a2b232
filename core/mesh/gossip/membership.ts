// The SWIM membership engine (Lifeguard-flavoured, memberlist's constants): it
// probes the members this node holds links to, one per probe interval in a
// shuffled round robin, asks others to probe one that does not answer, suspects
// and then declares dead what nobody reaches, and spreads all it learns on the
// messages it sends anyway. It owns no connection and no clock: the host gives it
// links and timers (types.ts), so the mesh and the simulation run the same code.
import { shortId } from '../../hex.js'
import { BroadcastQueue } from './broadcast-queue.js'
import { retransmitLimit, suspicionTimeouts } from './config.js'
import { Suspicion } from './suspicion.js'
import type { GossipAck, GossipConfig, GossipEvents, GossipLinks, GossipState, GossipTimers, GossipUpdate, IndirectAck, KnownMember } from './types.js'
import { overrides, wellFormed } from './update-rules.js'

/** The member table's cap: a flood of invented ids must not exhaust memory. */
export const MAX_MEMBERS = 10_000
/** Lifeguard's cap on the local health score (memberlist AwarenessMaxMultiplier 8, less the 1 it starts from). */
const MAX_HEALTH = 8
/** A push-pull may carry the whole table: it gets this many probe intervals. */
const SYNC_TIMEOUT_PROBES = 5

export interface MembershipOptions {
  self: string
  meta: Uint8Array
  links: GossipLinks
  timers: GossipTimers
  random: () => number
  config: GossipConfig
  events?: GossipEvents
  maxMembers?: number
}

export interface MembershipStats {
  sent: Record<'ping' | 'ack' | 'pingReq' | 'indirectAck' | 'sync', number>
  received: number
  suspicions: number
  refutations: number
  deaths: number
  /** Updates refused as malformed or hostile, or for want of room. */
  ignored: number
}

interface Member extends KnownMember {
  /** The news that put the member in its state: relayed as is in a push-pull. */
  news: GossipUpdate
  suspicion: Suspicion | null
}

const gone = (state: GossipState): boolean => state === 'dead' || state === 'left'

export class Membership {
  readonly stats: MembershipStats = { sent: { ping: 0, ack: 0, pingReq: 0, indirectAck: 0, sync: 0 }, received: 0, suspicions: 0, refutations: 0, deaths: 0, ignored: 0 }
  private readonly self: string
  private readonly links: GossipLinks
  private readonly config: GossipConfig
  private readonly random: () => number
  private readonly events: GossipEvents | undefined
  private readonly maxMembers: number
  private readonly table = new Map<string, Member>()
  private readonly queue = new BroadcastQueue()
  /** Every pending timer, so that stop() cancels them all. */
  private readonly pending = new Set<() => void>()
  private readonly clock: GossipTimers
  private readonly probing = new Set<string>()
  /** When each member last pushed-pulled with this node: a new link's second exchange is skipped. */
  private readonly syncedAt = new Map<string, number>()
  private selfNews: GossipUpdate
  /** Alive and suspect members, self included: the N of the suspicion timeouts. */
  private live = 1
  private running = false
  /**
   * Lifeguard's local health: how far behind this node itself is running (0 = on time, at most
   * MAX_HEALTH). Raised when its own probe timer fires late, lowered by each answered probe; its
   * timeouts, and the suspicions it starts, are stretched by (1 + health), so a node starved of CPU
   * does not accuse members that are only waiting for it.
   */
  private health = 0
  private probeOrder: string[] = []
  private probeSet = new Set<string>()
  private probeAt = 0

  constructor (opts: MembershipOptions) {
    this.self = opts.self
    this.links = opts.links
    this.config = opts.config
    this.random = opts.random
    this.events = opts.events
    this.maxMembers = opts.maxMembers ?? MAX_MEMBERS
    const timers = opts.timers
    this.clock = { now: () => timers.now(), after: (ms, fn) => this.after(timers, ms, fn) }
    this.selfNews = { nodeId: this.self, incarnation: 0, state: 'alive', from: this.self, meta: opts.meta }
  }

  get incarnation (): number {
    return this.selfNews.incarnation
  }

  /** News of a state this node still has to pass on (0 once the mesh has settled). */
  get urgentNews (): number {
    return this.queue.urgent
  }

  // ---- lifecycle

  start (): void {
    if (this.running) return
    this.running = true
    this.queue.push(this.selfNews)
    let due = this.clock.now() + this.config.probeIntervalMs
    this.every(this.config.probeIntervalMs, () => {
      const now = this.clock.now()
      if (now - due > this.config.probeIntervalMs / 2) this.health = Math.min(MAX_HEALTH, this.health + 1)
      due = now + this.config.probeIntervalMs
      this.probeNext()
    })
    this.every(this.config.gossipIntervalMs, () => this.gossip())
    this.every(this.config.pushPullIntervalMs, () => {
      const linked = this.links.linked()
      if (linked.length > 0) this.pushPull(linked[Math.floor(this.random() * linked.length)] as string)
    })
  }

  stop (): void {
    this.running = false
    for (const cancel of [...this.pending]) cancel()
    this.pending.clear()
  }

  /** `urgent`: news others act on (what it can do, what it holds), pushed as a state is; otherwise (its load) it rides on probes and acks only. */
  setMeta (meta: Uint8Array, urgent = false): void {
    this.speak('alive', this.selfNews.incarnation + 1, meta, urgent)
  }

  /** Says goodbye to every linked member at once; the caller stops the engine next. */
  leave (): void {
    this.speak('left', this.selfNews.incarnation + 1, null)
    for (const to of this.links.linked()) this.send(to, [this.selfNews, ...this.take().filter(u => u !== this.selfNews)], () => {})
  }

  // ---- what others ask of this node

  onPing (from: string, updates: GossipUpdate[]): GossipAck {
    this.stats.received++
    this.merge(updates, from, false)
    this.heard(from)
    this.stats.sent.ack++
    return { updates: this.take() }
  }

  async onPingReq (from: string, target: string, updates: GossipUpdate[]): Promise<IndirectAck> {
    this.stats.received++
    this.merge(updates, from, false)
    this.heard(from)
    // Lifeguard's nack: answering at all tells the asker this node is alive, even when it cannot reach the target.
    const reached = typeof target === 'string' && this.links.linked().includes(target) && await this.pingOnce(target, this.config.probeTimeoutMs)
    this.stats.sent.indirectAck++
    return { reached, updates: this.take() }
  }

  onSync (from: string, state: GossipUpdate[]): GossipUpdate[] {
    this.stats.received++
    this.merge(state, from, true)
    this.heard(from)
    if (typeof from === 'string' && (this.syncedAt.size < this.maxMembers || this.syncedAt.has(from))) this.syncedAt.set(from, this.clock.now())
    this.stats.sent.sync++
    return this.fullState()
  }

  /**
   * A new link: exchange full state with it, how a joining node learns the mesh and the mesh
   * learns it. Both ends of a link are told; each waits a random part of a gossip interval
   * and skips the exchange if the other end's came first, so a link costs one push-pull.
   */
  linkUp (nodeId: string): void {
    if (!this.running) return
    const at = this.clock.now()
    this.clock.after(this.random() * this.config.gossipIntervalMs, () => {
      if ((this.syncedAt.get(nodeId) ?? -1) < at) this.pushPull(nodeId)
      this.syncedAt.delete(nodeId)
    })
  }

  /** A link closed: probe that member now rather than at its turn, indirectly when no link is left to it. */
  linkDown (nodeId: string): void {
    if (this.running) void this.probe(nodeId)
  }

  // ---- what this node knows

  /** The state alone, without a copy: for hosts that poll often (the simulation's checks). */
  stateOf (nodeId: string): GossipState | undefined {
    return this.table.get(nodeId)?.state
  }

  members (): KnownMember[] {
    return [...this.table.values()].map(known)
  }

  member (nodeId: string): KnownMember | undefined {
    const m = this.table.get(nodeId)
    return m === undefined ? undefined : known(m)
  }

  // ---- probing

  /** The next linked member in a shuffled round robin, reshuffled when walked through or when the links change. */
  private nextTarget (): string | undefined {
    const linked = this.links.linked()
    if (linked.length !== this.probeSet.size || linked.some(id => !this.probeSet.has(id))) this.reshuffle(linked)
    for (let pass = 0; pass < 2; pass++) {
      while (this.probeAt < this.probeOrder.length) {
        const id = this.probeOrder[this.probeAt++] as string
        const m = this.table.get(id)
        if (m !== undefined && !gone(m.state)) return id
      }
      this.reshuffle(linked)
    }
    return undefined
  }

  private reshuffle (linked: string[]): void {
    this.probeOrder = shuffle([...linked], this.random)
    this.probeSet = new Set(linked)
    this.probeAt = 0
  }

  private probeNext (): void {
    const target = this.nextTarget()
    if (target !== undefined) void this.probe(target)
  }

  /** SWIM's probe: a direct ping if linked, then up to indirectChecks ping-reqs; nobody reached by the deadline → suspect. */
  private async probe (target: string): Promise<void> {
    const m = this.table.get(target)
    if (m === undefined || gone(m.state) || this.probing.has(target)) return
    const incarnation = m.incarnation
    const began = this.clock.now()
    this.probing.add(target)
    try {
      const direct = this.links.linked().includes(target)
      if (direct && await this.pingOnce(target, this.config.probeTimeoutMs * (1 + this.health))) { this.health = Math.max(0, this.health - 1); return }
      if (!this.running) return
      const asked = await this.indirect(target, direct)
      if (asked.reached || !this.running) return
      // A probe that took far past its deadline says this node was stalled (stopped, swapped out,
      // its event loop starved), not that the target is: Lifeguard's point that a slow prober must
      // not accuse others. It is not held against the target.
      if (this.clock.now() - began > this.config.probeDeadlineMs * (1 + this.health) + this.config.probeIntervalMs) { this.health = Math.min(MAX_HEALTH, this.health + 1); return }
      const now = this.table.get(target)
      if (now === undefined || now.incarnation !== incarnation) return
      const news: GossipUpdate = { nodeId: target, incarnation, state: 'suspect', from: this.self, meta: null }
      // Already suspect (another's news came first): this probe is an independent confirmation (Lifeguard).
      if (now.state === 'suspect') { if (now.suspicion?.confirm(this.self) === true) this.queue.push(news); return }
      if (now.state !== 'alive') return
      this.change(now, news, direct ? `no answer to direct or ${asked.count} indirect probes` : `link closed, no answer to ${asked.count} indirect probes`)
    } finally {
      this.probing.delete(target)
    }
  }

  private async pingOnce (to: string, timeoutMs: number): Promise<boolean> {
    this.stats.sent.ping++
    try {
      // Lifeguard's buddy system: a member probed while suspect is told so on the probe itself, to refute at once.
      const m = this.table.get(to)
      const updates = this.take()
      if (m?.state === 'suspect') updates.unshift({ nodeId: to, incarnation: m.incarnation, state: 'suspect', from: this.self, meta: null })
      const ack = await this.links.ping(to, updates, timeoutMs)
      if (!this.running) return false
      this.answered(to, ack?.updates, false)
      return true
    } catch {
      return false
    }
  }

  /**
   * Ping-reqs through up to indirectChecks other linked members and, while still linked,
   * one more direct ping alongside (memberlist's TCP fallback ping): in a sparse mesh the
   * others are seldom linked to the target, and a lost packet must not make a suspect.
   */
  private async indirect (target: string, linked: boolean): Promise<{ reached: boolean, count: number }> {
    const others = this.links.linked().filter(id => id !== target)
    const vias = shuffle(others, this.random).slice(0, this.config.indirectChecks)
    const timeoutMs = (this.config.probeDeadlineMs - this.config.probeTimeoutMs) * (1 + this.health)
    const fallback = linked ? this.pingOnce(target, timeoutMs) : Promise.resolve(false)
    const answers = await Promise.all([fallback, ...vias.map(async via => {
      this.stats.sent.pingReq++
      try {
        const ack = await this.links.pingReq(via, target, this.take(), timeoutMs)
        if (!this.running) return false
        this.answered(via, ack?.updates, false)
        return ack?.reached === true
      } catch {
        return false
      }
    })])
    return { reached: answers.includes(true), count: vias.length }
  }

  // ---- spreading news

  /**
   * News of a state goes to gossipNodes linked members every gossipIntervalMs, on top of the probes.
   * Metadata alone waits for the probes and acks: every member's load refreshed now and then is news
   * in proportion to N, and sending it apart would make a member's messages grow with the mesh.
   */
  private gossip (): void {
    if (this.queue.urgent === 0) return
    const linked = this.links.linked()
    for (const to of shuffle([...linked], this.random).slice(0, this.config.gossipNodes)) {
      const updates = this.take()
      if (updates.length === 0) return
      this.send(to, updates, (ack) => this.answered(to, ack.updates, false))
    }
  }

  private send (to: string, updates: GossipUpdate[], then: (ack: GossipAck) => void): void {
    this.stats.sent.ping++
    this.links.ping(to, updates, this.config.probeTimeoutMs).then(ack => { if (this.running) then(ack) }, () => {})
  }

  private pushPull (to: string): void {
    this.stats.sent.sync++
    this.links.sync(to, this.fullState(), SYNC_TIMEOUT_PROBES * this.config.probeIntervalMs)
      .then(state => { if (this.running) this.answered(to, state, true) }, () => {})
  }

  private answered (from: string, updates: GossipUpdate[] | undefined, sync: boolean): void {
    this.stats.received++
    this.merge(updates, from, sync)
    this.heard(from)
  }

  private take (): GossipUpdate[] {
    return this.queue.take(this.config.maxPiggyback, retransmitLimit(this.config, this.table.size + 1))
  }

  private fullState (): GossipUpdate[] {
    const out = [this.selfNews]
    for (const m of this.table.values()) out.push(m.news)
    return out
  }

  /** This node's own news: a new incarnation, state and metadata, queued for everyone. */
  private speak (state: 'alive' | 'left', incarnation: number, meta: Uint8Array | null, urgent = true): void {
    this.selfNews = { nodeId: this.self, incarnation, state, from: this.self, meta: meta ?? this.selfNews.meta }
    this.queue.push(this.selfNews, urgent)
  }

  // ---- applying news

  private merge (updates: unknown, sender: string, sync: boolean): void {
    if (!Array.isArray(updates)) return
    for (const u of updates) this.apply(u, sender, sync)
  }

  private apply (u: unknown, sender: string, sync: boolean): void {
    if (!wellFormed(u) || ((u.state === 'alive' || u.state === 'left') && u.from !== u.nodeId)) { this.stats.ignored++; return }
    if (u.nodeId === this.self) { this.aboutSelf(u); return }
    const m = this.table.get(u.nodeId)
    // A push-pull's news is passed on only when it is the sender's own (how a new member is announced).
    const relay = !sync || u.nodeId === sender
    if (m === undefined) { this.learn(u, sender, relay); return }
    m.updatedAt = this.clock.now()
    // memberlist's push-pull: another's "dead" is only a suspicion here, which this node times itself.
    const news = sync && u.state === 'dead' ? { ...u, state: 'suspect' as const, from: sender, meta: null } : u
    if (overrides(news.incarnation, news.state, m.incarnation, m.state)) {
      this.change(m, news, this.reason(news, sender), relay)
    } else if (news.state === 'suspect' && m.state === 'suspect' && news.incarnation === m.incarnation && m.suspicion?.confirm(news.from) === true) {
      // A new independent confirmation shortens the timer here; passing it on shortens it elsewhere.
      this.queue.push(news)
    }
  }

  /** Only this node speaks for itself: it refutes suspicion, death or a departure it did not announce, and ignores alive news it did not send. */
  private aboutSelf (u: GossipUpdate): void {
    if (u.state === 'alive' || u.from === this.self) {
      // Alive news of this node that it never spoke: its own word from before a restart (the
      // incarnation starts again at 0). Others would hold that above anything it says now, so it
      // speaks again above it, as memberlist does, with what it is now.
      // So is its goodbye from before a restart: while it is alive it has said none, and left at an
      // incarnation it has reached would keep it gone everywhere until forgotten.
      const earlierLife = u.from === this.self && this.selfNews.state !== 'left' && (
        (u.state === 'alive' && (u.incarnation > this.selfNews.incarnation || (u.incarnation === this.selfNews.incarnation && u.meta !== null && !sameMeta(u.meta, this.selfNews.meta)))) ||
        (u.state === 'left' && u.incarnation >= this.selfNews.incarnation))
      if (earlierLife) { this.stats.refutations++; this.speak('alive', u.incarnation + 1, null); return }
      if (u.incarnation > this.selfNews.incarnation) this.stats.ignored++
      return
    }
    if (u.incarnation < this.selfNews.incarnation || this.selfNews.state === 'left') return
    this.stats.refutations++
    this.speak('alive', u.incarnation + 1, null)
  }

  /**
   * A member first heard of: only alive news adds one (news of the death of a stranger is no news).
   * What a push-pull brings about others is not passed on (relay false): a joining node that
   * relayed its whole first sync would flood the mesh with news everyone has.
   */
  private learn (u: GossipUpdate, sender: string, relay: boolean): void {
    if (u.state !== 'alive') return
    if (this.table.size >= this.maxMembers) { this.stats.ignored++; return }
    const now = this.clock.now()
    const direct = u.nodeId === sender
    const m: Member = { nodeId: u.nodeId, state: 'alive', incarnation: u.incarnation, meta: u.meta ?? null, learned: direct ? 'direct' : 'gossip', updatedAt: now, stateSince: now, news: u, suspicion: null }
    this.table.set(u.nodeId, m)
    this.live++
    if (relay) this.queue.push(u)
    this.emit(m, null, direct ? 'joined (direct)' : `joined (via gossip from ${shortId(sender)})`)
  }

  private reason (u: GossipUpdate, sender: string): string {
    switch (u.state) {
      case 'alive': return 'alive'
      case 'suspect': return `suspected by ${shortId(u.from)} (via ${shortId(sender)})`
      case 'dead': return `declared dead by ${shortId(u.from)}`
      case 'left': return 'left'
    }
  }

  /** Puts `m` in the state `u` says, queues the news on (unless a push-pull brought it), and tells the host. */
  private change (m: Member, u: GossipUpdate, why: string, relay = true): void {
    const previous = m.state
    const previousMeta = m.meta
    const now = this.clock.now()
    m.suspicion?.cancel()
    m.suspicion = null
    if (u.state === 'alive') {
      why = previous === 'suspect' ? 'refuted suspicion' : gone(previous) ? `came back (incarnation ${u.incarnation})` : 'new metadata'
      m.meta = u.meta ?? null
    }
    if (u.state === 'suspect') this.suspect(m, u.from)
    if (u.state === 'dead') this.stats.deaths++
    const wasLive = !gone(previous)
    const isLive = !gone(u.state)
    this.live += (isLive ? 1 : 0) - (wasLive ? 1 : 0)
    m.incarnation = u.incarnation
    m.news = u
    m.updatedAt = now
    if (previous !== u.state) {
      m.state = u.state
      m.stateSince = now
      if (gone(u.state)) this.forgetLater(m)
    }
    // A live member's new metadata is passed on by piggyback only. Any change of state is urgent, and so
    // is a live member's new incarnation with the same metadata: a refutation, which nodes that never
    // heard the suspicion must pass on as fast as those that did.
    if (relay) this.queue.push(u, previous !== u.state || u.meta === null || sameMeta(u.meta, previousMeta))
    this.emit(m, previous, why)
  }

  private suspect (m: Member, from: string): void {
    this.stats.suspicions++
    const timeouts = suspicionTimeouts(this.config, this.live)
    const minMs = timeouts.minMs * (1 + this.health)
    const maxMs = timeouts.maxMs * (1 + this.health)
    const k = this.config.suspicionMult - 2
    const incarnation = m.incarnation
    m.suspicion = new Suspicion({
      timers: this.clock,
      minMs,
      maxMs,
      expected: this.live - 2 < k ? 0 : k,
      from,
      onTimeout: (_confirmations, elapsedMs) => {
        m.suspicion = null
        if (m.state !== 'suspect' || this.table.get(m.nodeId) !== m) return
        this.change(m, { nodeId: m.nodeId, incarnation, state: 'dead', from: this.self, meta: null }, `suspected by ${shortId(from)}, not refuted within ${Math.round(elapsedMs)} ms`)
      }
    })
  }

  /** A dead or left member stays listed for forgetAfterMs, unless it comes back first. */
  private forgetLater (m: Member): void {
    const since = m.stateSince
    this.clock.after(this.config.forgetAfterMs, () => {
      if (this.table.get(m.nodeId) === m && gone(m.state) && m.stateSince === since) this.table.delete(m.nodeId)
    })
  }

  private heard (from: string): void {
    const m = this.table.get(from)
    if (m === undefined) return
    m.learned = 'direct'
    m.updatedAt = this.clock.now()
  }

  private emit (m: Member, previous: GossipState | null, why: string): void {
    if (this.events === undefined) return
    try {
      this.events.changed(known(m), previous, why)
    } catch {
      // A listener's failure is the host's: the engine's state is already consistent.
    }
  }

  // ---- timers

  private after (timers: GossipTimers, ms: number, fn: () => void): () => void {
    let cancelTimer = (): void => {}
    const cancel = (): void => { this.pending.delete(cancel); cancelTimer() }
    cancelTimer = timers.after(ms, () => { this.pending.delete(cancel); if (this.running) fn() })
    this.pending.add(cancel)
    return cancel
  }

  /** fn every ms until stop(). */
  private every (ms: number, fn: () => void): void {
    const tick = (): void => { this.clock.after(ms, tick); fn() }
    this.clock.after(ms, tick)
  }
}

/** A copy of what is known of `m`, without the engine's bookkeeping. */
function known (m: Member): KnownMember {
  return { nodeId: m.nodeId, state: m.state, incarnation: m.incarnation, meta: m.meta, learned: m.learned, updatedAt: m.updatedAt, stateSince: m.stateSince }
}

function sameMeta (a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Fisher–Yates, in place, with the engine's random source (seeded in the simulation). */
function shuffle<T> (items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = items[i] as T
    items[i] = items[j] as T
    items[j] = t
  }
  return items
}
