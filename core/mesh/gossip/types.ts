// The contract between the SWIM membership engine (membership.ts) and whatever
// carries its messages: the mesh's member connections on Node and Bare, or the
// in-memory network of the simulation. The engine never opens a connection: it
// probes and gossips over the links its host holds (the node's neighbourhood
// and the connections its work opened), so the cost per node stays bounded.

/** What one node believes of another. `left` is a member that said goodbye; `dead` one that was suspected and never refuted it. */
export type GossipState = 'alive' | 'suspect' | 'dead' | 'left'

/**
 * One piece of news about a member, as it travels. Ordering (SWIM with Lifeguard):
 * a higher incarnation overrides a lower one; at the same incarnation suspect
 * overrides alive, and dead or left override both. Only the member itself raises
 * its incarnation: to refute a suspicion, or to publish new metadata.
 */
export interface GossipUpdate {
  nodeId: string
  incarnation: number
  state: GossipState
  /** Who said so: the member itself for alive/left, the suspector for suspect/dead. */
  from: string
  /** The member's metadata (opaque to the engine), carried with alive news; null elsewhere. */
  meta: Uint8Array | null
}

/** The answer to a ping: the target is alive, with news piggybacked. */
export interface GossipAck { updates: GossipUpdate[] }

/** What an intermediary asked to ping a target found out. */
export interface IndirectAck { reached: boolean, updates: GossipUpdate[] }

/** The links the engine may use. Every call rejects when the link is gone or the deadline passes. */
export interface GossipLinks {
  /** Members this node holds a link to right now: the only ones it can probe or ask. */
  linked (): string[]
  ping (to: string, updates: GossipUpdate[], timeoutMs: number): Promise<GossipAck>
  /** Asks `via` to ping `target` for us (SWIM's ping-req). */
  pingReq (via: string, target: string, updates: GossipUpdate[], timeoutMs: number): Promise<IndirectAck>
  /** Push-pull anti-entropy: sends everything this node knows, gets back everything the other knows. */
  sync (to: string, state: GossipUpdate[], timeoutMs: number): Promise<GossipUpdate[]>
}

/** Time, as the engine sees it: the runtime's clock and timers, or the simulation's virtual ones. */
export interface GossipTimers {
  now (): number
  /** Runs fn after ms; returns what cancels it. */
  after (ms: number, fn: () => void): () => void
}

/** A member as this node knows it. */
export interface KnownMember {
  nodeId: string
  state: GossipState
  incarnation: number
  meta: Uint8Array | null
  /** 'direct': this node has heard from the member itself over a link; 'gossip': only from others. */
  learned: 'direct' | 'gossip'
  /** When this node last learned anything about the member (ms, the timers' clock). */
  updatedAt: number
  /** When the member entered its current state. */
  stateSince: number
}

/** Told of every change the engine makes to what it knows. */
export interface GossipEvents {
  /** A member was first known, or its state or metadata changed. `why` is a short phrase for the trail. */
  changed (member: KnownMember, previous: GossipState | null, why: string): void
}

/** The engine's constants, memberlist's LAN defaults scaled to a probe interval (see config.ts). */
export interface GossipConfig {
  /** One probe of one linked member per interval (memberlist ProbeInterval). */
  probeIntervalMs: number
  /** How long a direct ping may take before indirect probes start (memberlist ProbeTimeout). */
  probeTimeoutMs: number
  /** How long a probe, direct and indirect, may take before the member is suspect. */
  probeDeadlineMs: number
  /** How many others are asked to ping a member that did not answer (memberlist IndirectChecks). */
  indirectChecks: number
  /** News is retransmitted retransmitMult·⌈log10(N+1)⌉ times (memberlist RetransmitMult). */
  retransmitMult: number
  /** Suspicion lasts at least suspicionMult·max(1, log10 N)·probeIntervalMs (memberlist SuspicionMult)… */
  suspicionMult: number
  /** …and at most suspicionMaxTimeoutMult times that, shrinking as others confirm (Lifeguard). */
  suspicionMaxTimeoutMult: number
  /** The least time a suspect stays suspect, whatever N (the node's --down-ms). */
  suspicionFloorMs: number
  /** News waiting to go out is also sent to gossipNodes linked members every gossipIntervalMs. */
  gossipIntervalMs: number
  gossipNodes: number
  /** A full push-pull exchange with one linked member every pushPullIntervalMs (memberlist PushPullInterval). */
  pushPullIntervalMs: number
  /** At most this many updates ride on one message. */
  maxPiggyback: number
  /** A dead or left member is forgotten after this long (memberlist GossipToTheDeadTime is shorter; we keep it for `se nodes`). */
  forgetAfterMs: number
}
