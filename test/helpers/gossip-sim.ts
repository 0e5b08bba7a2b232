// A deterministic discrete-event simulation of the gossip engine: a virtual clock
// with a priority queue of timers, an in-memory network with per-message loss and
// random delay, neighbour links formed as the mesh forms them (neighbourhood.ts),
// and a seeded schedule of joins, graceful leaves and silent crashes. One seed
// decides everything, so a failing run replays exactly. No socket, no real timer:
// only setImmediate, once per distinct virtual instant, to let promise
// continuations run in order before the clock moves on.
import { Membership } from '../../core/mesh/gossip/membership.js'
import { gossipConfig, type GossipTiming } from '../../core/mesh/gossip/config.js'
import { acceptsNeighbour, dialsNeeded, neighbourTarget } from '../../core/mesh/gossip/neighbourhood.js'
import type { GossipConfig, GossipLinks, GossipState, GossipTimers, GossipUpdate } from '../../core/mesh/gossip/types.js'
import { SeededRandom } from './seeded-random.js'

// ---- virtual time

interface Timer { at: number, seq: number, fn: () => void, cancelled: boolean }

/** Timers ordered by (time, insertion): a binary heap; cancelled ones are skipped when they come up. */
export class VirtualClock implements GossipTimers {
  private heap: Timer[] = []
  private seq = 0
  private time = 0

  now (): number {
    return this.time
  }

  after (ms: number, fn: () => void): () => void {
    const t: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false }
    this.push(t)
    return () => { t.cancelled = true }
  }

  /** Runs every timer due by `until` (or until `stop()` says so), draining promise work after each instant. */
  async run (until: number, stop: () => boolean = () => false): Promise<void> {
    while (this.heap.length > 0 && (this.heap[0] as Timer).at <= until && !stop()) {
      const at = (this.heap[0] as Timer).at
      this.time = at
      while (this.heap.length > 0 && (this.heap[0] as Timer).at === at) {
        const t = this.pop()
        if (!t.cancelled) t.fn()
      }
      await new Promise<void>(resolve => setImmediate(resolve))
    }
    if (!stop()) this.time = Math.max(this.time, until)
  }

  private less (a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push (t: Timer): void {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i] as Timer, h[p] as Timer)) break
      ;[h[i], h[p]] = [h[p] as Timer, h[i] as Timer]
      i = p
    }
  }

  private pop (): Timer {
    const h = this.heap
    const top = h[0] as Timer
    const last = h.pop() as Timer
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l] as Timer, h[m] as Timer)) m = l
        if (r < h.length && this.less(h[r] as Timer, h[m] as Timer)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m] as Timer, h[i] as Timer]
        i = m
      }
    }
    return top
  }
}

// ---- the scenario

export interface Scenario {
  seed: number
  nodes: number
  /** Joins at random instants over this window (the first at 0). */
  joinOverMs: number
  /** Quiet time after the last join before churn starts. */
  settleMs: number
  crashes?: number
  leaves?: number
  /** Crashes and leaves at random instants over this window. */
  churnOverMs?: number
  /** Run on at most this long after the churn window, ending early once every crash is detected. */
  tailMs: number
  /** The least run after the churn window (so message rates see the quiet too). */
  minTailMs?: number
  /** Then this long more, nothing happening, for the steady load (msgsPerNodePerSecQuiet). */
  quietMs?: number
  loss?: number
  delayMs?: [number, number]
  neighbours?: number
  timing?: GossipTiming
  /** Existing nodes a joining node learns, as a DHT lookup would give it. */
  introducers?: number
  /** A crashed node's links close after this many probe intervals (the transport's own timeout). */
  transportTimeoutProbes?: number
}

export interface Detection { nodeId: string, crashedAt: number, detectedMs: number | null }

export interface SimReport {
  config: GossipConfig
  nodes: number
  live: number
  target: number
  lastJoinAt: number
  /** From the last join until every live node knows every live node as alive; null if never. */
  convergenceMs: number | null
  /** Suspicions of live nodes: episodes (member and incarnation), however many nodes heard of each. */
  falseSuspicions: number
  /** Live nodes declared dead, counted at every node that did. */
  falseDeaths: number
  detections: Detection[]
  /** Messages (all kinds, counted at the sender) per live node per second, over the churn window and tail. */
  msgsPerNodePerSec: number
  /** The same over the whole run, joins included (not the quiet window). */
  msgsPerNodePerSecAll: number
  /** Over the quiet window after everything settled (quietMs): what a member costs while nothing changes; null without one. */
  msgsPerNodePerSecQuiet: number | null
  maxLinks: number
  simulatedMs: number
  events: number
}

export const SIM_TIMING: GossipTiming = { probeIntervalMs: 1000, probeDeadlineMs: 1000, suspicionFloorMs: 0 }
const POLL_MS = 100
const DIAL_TIMEOUT_PROBES = 2
const LINK_GONE = new Error('link gone')
const TIMED_OUT = new Error('timed out')

type NodeState = 'live' | 'crashed' | 'left'

interface SimNode {
  id: string
  state: NodeState
  engine: Membership
  links: Set<string>
  /** links as an array, rebuilt only when they change: linked() is called on every probe. */
  linked: string[]
  dialling: Set<string>
  /** How many live nodes this one knows as alive: kept up to date from its engine's events. */
  aliveSeen: number
}

/** Runs one scenario to its end and reports what a test or the bench checks. */
export async function simulate (s: Scenario): Promise<SimReport> {
  return await new GossipSim(s).run()
}

export class GossipSim {
  readonly clock = new VirtualClock()
  readonly rng: SeededRandom
  readonly config: GossipConfig
  readonly target: number
  private readonly nodes = new Map<string, SimNode>()
  private readonly liveIds: string[] = []
  private readonly loss: number
  private readonly delay: [number, number]
  private messages = 0
  private maxLinks = 0
  private readonly suspected = new Set<string>()
  private falseDeaths = 0
  private readonly detections: Detection[] = []
  private readonly random: () => number

  constructor (private readonly s: Scenario) {
    this.rng = new SeededRandom(s.seed)
    this.random = () => this.rng.next()
    this.config = gossipConfig(s.timing ?? SIM_TIMING)
    this.target = neighbourTarget(s.neighbours)
    this.loss = s.loss ?? 0
    this.delay = s.delayMs ?? [1, 20]
  }

  /** Every node's engine, for tests that look inside. */
  engine (id: string): Membership | undefined {
    return this.nodes.get(id)?.engine
  }

  async run (): Promise<SimReport> {
    const s = this.s
    const started = this.clock.now()
    let lastJoinAt = 0
    for (let i = 0; i < s.nodes; i++) {
      const at = i === 0 ? 0 : Math.round(this.rng.next() * s.joinOverMs)
      lastJoinAt = Math.max(lastJoinAt, at)
      const id = nodeId(i)
      this.clock.after(at, () => this.join(id))
    }
    const churnAt = lastJoinAt + s.settleMs
    const churnOver = s.churnOverMs ?? 0
    const victims = this.rng.sample(Array.from({ length: s.nodes }, (_, i) => nodeId(i)).slice(1), (s.crashes ?? 0) + (s.leaves ?? 0))
    victims.forEach((id, i) => {
      const at = churnAt + Math.round(this.rng.next() * churnOver)
      this.clock.after(at, () => i < (s.crashes ?? 0) ? this.crash(id) : this.leave(id))
    })
    this.every(this.config.probeIntervalMs, () => { for (const id of this.liveIds) this.plan(this.nodes.get(id) as SimNode) })

    // Convergence: polled after the last join, failing fast, until it holds once.
    let convergenceMs: number | null = null
    const poll = (): void => {
      const t = this.clock.now()
      if (convergenceMs === null && t >= lastJoinAt && this.converged()) convergenceMs = t - lastJoinAt
      for (const d of this.detections) if (d.detectedMs === null && this.detected(d.nodeId)) d.detectedMs = t - d.crashedAt
    }
    this.every(POLL_MS, poll)

    await this.clock.run(churnAt)
    const messagesAtChurn = this.messages
    const churnEnd = churnAt + churnOver
    const minEnd = churnEnd + (s.minTailMs ?? 0)
    const crashes = s.crashes ?? 0
    await this.clock.run(churnEnd + s.tailMs, () => this.clock.now() >= minEnd && this.detections.length === crashes && this.detections.every(d => d.detectedMs !== null) && convergenceMs !== null)
    const end = this.clock.now()
    const live = this.liveIds.length
    const messagesAtEnd = this.messages
    let quiet: number | null = null
    if ((s.quietMs ?? 0) > 0) {
      await this.clock.run(end + (s.quietMs as number))
      quiet = (this.messages - messagesAtEnd) / live / ((s.quietMs as number) / 1000)
    }
    for (const n of this.nodes.values()) n.engine.stop()
    return {
      config: this.config,
      nodes: s.nodes,
      live,
      target: this.target,
      lastJoinAt,
      convergenceMs,
      falseSuspicions: this.suspected.size,
      falseDeaths: this.falseDeaths,
      detections: this.detections,
      msgsPerNodePerSec: (messagesAtEnd - messagesAtChurn) / live / Math.max(1, (end - churnAt) / 1000),
      msgsPerNodePerSecAll: messagesAtEnd / live / Math.max(1, (end - started) / 1000),
      msgsPerNodePerSecQuiet: quiet,
      maxLinks: this.maxLinks,
      simulatedMs: this.clock.now() - started,
      events: this.messages
    }
  }

  // ---- membership changes

  private join (id: string): void {
    const node: SimNode = { id, state: 'live', engine: undefined as unknown as Membership, links: new Set(), linked: [], dialling: new Set(), aliveSeen: 0 }
    node.engine = new Membership({
      self: id,
      meta: new Uint8Array(0),
      links: this.linksOf(node),
      timers: this.clock,
      random: this.random,
      config: this.config,
      events: { changed: (m, previous) => this.observe(node, m.nodeId, m.state, m.incarnation, previous) }
    })
    const introducers = this.lookup(id)
    this.nodes.set(id, node)
    this.liveIds.push(id)
    node.engine.start()
    this.plan(node, introducers)
  }

  private crash (id: string): void {
    const node = this.nodes.get(id)
    if (node?.state !== 'live') return
    this.gone(node, 'crashed')
    this.detections.push({ nodeId: id, crashedAt: this.clock.now(), detectedMs: null })
    // Silent: the others' links close only when their transport gives up on it.
    this.clock.after((this.s.transportTimeoutProbes ?? 10) * this.config.probeIntervalMs, () => this.unlinkAll(node))
  }

  private leave (id: string): void {
    const node = this.nodes.get(id)
    if (node?.state !== 'live') return
    node.engine.leave()
    this.gone(node, 'left')
    // The goodbye is on the wire: the links close once it has had time to arrive.
    this.clock.after(this.delay[1] + 1, () => this.unlinkAll(node))
  }

  private gone (node: SimNode, state: NodeState): void {
    node.state = state
    node.engine.stop()
    const i = this.liveIds.indexOf(node.id)
    this.liveIds[i] = this.liveIds[this.liveIds.length - 1] as string
    this.liveIds.pop()
    for (const a of this.liveIds) {
      const observer = this.nodes.get(a) as SimNode
      if (observer.engine.stateOf(node.id) === 'alive') observer.aliveSeen--
    }
  }

  private unlinkAll (node: SimNode): void {
    for (const other of [...node.links]) {
      const peer = this.nodes.get(other) as SimNode
      this.unlink(node, peer)
      if (peer.state === 'live') peer.engine.linkDown(node.id)
    }
  }

  // ---- neighbourhoods

  /** Dials as the neighbourhood plan says: `known` are the introducers of a node that knows nobody yet. */
  private plan (node: SimNode, known?: string[]): void {
    if (node.state !== 'live' || node.links.size + node.dialling.size >= Math.ceil(this.target / 2)) return
    let candidates = known ?? node.engine.members().filter(m => m.state === 'alive' && !node.links.has(m.nodeId)).map(m => m.nodeId)
    // Knowing nobody to dial (its introducers refused it, say), a node looks the mesh up again.
    if (candidates.length === 0) candidates = this.lookup(node.id)
    const dials = dialsNeeded({ neighbours: node.links.size, dialling: [...node.dialling], candidates, target: this.target, random: this.random })
    for (const to of dials) this.dial(node, to)
  }

  /** A DHT lookup: a few random live nodes other than `self`. */
  private lookup (self: string): string[] {
    return this.rng.sample(this.liveIds, (this.s.introducers ?? 3) + 1).filter(id => id !== self).slice(0, this.s.introducers ?? 3)
  }

  private dial (node: SimNode, to: string): void {
    node.dialling.add(to)
    let settled = false
    const settle = (): void => { settled = true; node.dialling.delete(to) }
    this.clock.after(DIAL_TIMEOUT_PROBES * this.config.probeIntervalMs, () => { if (!settled) settle() })
    this.clock.after(this.latency(), () => {
      const peer = this.nodes.get(to)
      if (settled || peer?.state !== 'live' || node.state !== 'live') return
      settle()
      if (node.links.has(to) || !acceptsNeighbour(peer.links.size, this.target) || !acceptsNeighbour(node.links.size, this.target)) return
      this.link(node, peer)
      node.engine.linkUp(to)
      peer.engine.linkUp(node.id)
    })
  }

  private link (a: SimNode, b: SimNode): void {
    a.links.add(b.id); b.links.add(a.id)
    a.linked = [...a.links]; b.linked = [...b.links]
    this.maxLinks = Math.max(this.maxLinks, a.links.size, b.links.size)
  }

  private unlink (a: SimNode, b: SimNode): void {
    a.links.delete(b.id); b.links.delete(a.id)
    a.linked = [...a.links]; b.linked = [...b.links]
  }

  // ---- the network

  private linksOf (node: SimNode): GossipLinks {
    return {
      linked: () => node.linked,
      ping: async (to, updates, timeoutMs) => await this.request(node, to, timeoutMs, peer => peer.engine.onPing(node.id, updates)),
      pingReq: async (via, target, updates, timeoutMs) => await this.request(node, via, timeoutMs, async peer => await peer.engine.onPingReq(node.id, target, updates)),
      sync: async (to, state: GossipUpdate[], timeoutMs) => await this.request(node, to, timeoutMs, peer => peer.engine.onSync(node.id, state))
    }
  }

  /** One request over a link and its answer, each a message that may be lost or late. */
  private async request<T> (from: SimNode, to: string, timeoutMs: number, handle: (peer: SimNode) => T | Promise<T>): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      if (!from.links.has(to)) { reject(LINK_GONE); return }
      let done = false
      const cancel = this.clock.after(timeoutMs, () => { if (!done) { done = true; reject(TIMED_OUT) } })
      this.send(() => {
        const peer = this.nodes.get(to)
        if (peer?.state !== 'live') return
        const answer = (value: T): void => {
          if (peer.state !== 'live') return
          this.send(() => { if (!done && from.state === 'live') { done = true; cancel(); resolve(value) } })
        }
        const r = handle(peer)
        if (r instanceof Promise) r.then(answer, () => {}); else answer(r)
      })
    })
  }

  /** One message: counted at the sender, then lost or delivered after a random delay. */
  private send (deliver: () => void): void {
    this.messages++
    if (this.loss > 0 && this.rng.chance(this.loss)) return
    this.clock.after(this.latency(), deliver)
  }

  private latency (): number {
    return this.rng.between(this.delay[0], this.delay[1])
  }

  // ---- measures

  /** A live node suspected counts once per episode (its incarnation), however many nodes hear of it; a false death counts at every node that declares it. */
  private observe (observer: SimNode, about: string, state: GossipState, incarnation: number, previous: GossipState | null): void {
    if (state === previous || this.nodes.get(about)?.state !== 'live') return
    observer.aliveSeen += (state === 'alive' ? 1 : 0) - (previous === 'alive' ? 1 : 0)
    if (state === 'suspect') this.suspected.add(`${about}:${incarnation}`)
    if (state === 'dead') this.falseDeaths++
  }

  /** Every live node knows every other live node as alive (counted as the engines tell of changes). */
  private converged (): boolean {
    const others = this.liveIds.length - 1
    for (const a of this.liveIds) if ((this.nodes.get(a) as SimNode).aliveSeen !== others) return false
    return true
  }

  /** Every live node sees `id` dead or left, or has never heard of it. */
  private detected (id: string): boolean {
    for (const a of this.liveIds) {
      const state = (this.nodes.get(a) as SimNode).engine.stateOf(id)
      if (state === 'alive' || state === 'suspect') return false
    }
    return true
  }

  private every (ms: number, fn: () => void): void {
    const tick = (): void => { this.clock.after(ms, tick); fn() }
    this.clock.after(ms, tick)
  }
}

/** Ids shaped as the mesh's (64 hex characters), distinct by index. */
export function nodeId (i: number): string {
  return i.toString(16).padStart(8, '0').repeat(8)
}
