// The gossip engine's constants: memberlist's LAN defaults (DefaultLANConfig),
// which assume a 1 s probe interval, scaled to the probe interval this mesh runs
// at, and the few formulas every part of the engine (and its tests) derive from
// them: how long a suspicion lasts, how often news is retransmitted, and how long
// a crash may take to be known everywhere.
import type { GossipConfig } from './types.js'

/** memberlist IndirectChecks: members asked to ping one that did not answer. */
export const INDIRECT_CHECKS = 3
/** memberlist RetransmitMult: news goes out RETRANSMIT_MULT·⌈log10(N+1)⌉ times. */
export const RETRANSMIT_MULT = 4
/** memberlist SuspicionMult: suspicion lasts at least this many probe intervals (times log10 N). */
export const SUSPICION_MULT = 4
/** memberlist SuspicionMaxTimeoutMult: with no confirmations a suspicion lasts this many times the least. */
export const SUSPICION_MAX_TIMEOUT_MULT = 6
/** memberlist GossipNodes: members each gossip round goes to. */
export const GOSSIP_NODES = 3
/** memberlist's GossipInterval (200 ms) is a fifth of its ProbeInterval (1 s). */
export const GOSSIP_INTERVALS_PER_PROBE = 5
/** memberlist's PushPullInterval (30 s) is 30 ProbeIntervals. */
export const PUSH_PULL_PROBES = 30
/** Updates on one message: memberlist fills a UDP packet; 16 keeps a message small whatever the metadata. */
export const MAX_PIGGYBACK = 16
/** Dead and left members stay listed (for `se nodes`) this many probe intervals. */
export const FORGET_AFTER_PROBES = 60

export interface GossipTiming { probeIntervalMs: number, probeDeadlineMs: number, suspicionFloorMs: number }

/** The engine's configuration for a probe interval and deadline, with `over` replacing any derived value. */
export function gossipConfig (timing: GossipTiming, over: Partial<GossipConfig> = {}): GossipConfig {
  const { probeIntervalMs, probeDeadlineMs, suspicionFloorMs } = timing
  return {
    probeIntervalMs,
    // memberlist: ProbeTimeout is half the ProbeInterval; it must also leave half the deadline to the indirect probes.
    probeTimeoutMs: Math.min(probeIntervalMs / 2, probeDeadlineMs / 2),
    probeDeadlineMs,
    indirectChecks: INDIRECT_CHECKS,
    retransmitMult: RETRANSMIT_MULT,
    suspicionMult: SUSPICION_MULT,
    suspicionMaxTimeoutMult: SUSPICION_MAX_TIMEOUT_MULT,
    suspicionFloorMs,
    gossipIntervalMs: probeIntervalMs / GOSSIP_INTERVALS_PER_PROBE,
    gossipNodes: GOSSIP_NODES,
    pushPullIntervalMs: probeIntervalMs * PUSH_PULL_PROBES,
    maxPiggyback: MAX_PIGGYBACK,
    forgetAfterMs: probeIntervalMs * FORGET_AFTER_PROBES,
    ...over
  }
}

/**
 * How long a suspicion of a member lasts in a mesh of `n` live members (memberlist
 * suspicionTimeout): at least `minMs`, which grows with log10 n because news takes
 * longer to reach everyone (and the suspect longer to hear it and refute), and never
 * under the node's floor; at most `maxMs` when nobody else confirms it (Lifeguard).
 */
export function suspicionTimeouts (config: GossipConfig, n: number): { minMs: number, maxMs: number } {
  const scale = Math.max(1, Math.log10(Math.max(1, n)))
  const minMs = Math.max(config.suspicionFloorMs, config.suspicionMult * scale * config.probeIntervalMs)
  return { minMs, maxMs: config.suspicionMaxTimeoutMult * minMs }
}

/** How many times one piece of news is sent in a mesh of `n` members (memberlist retransmitLimit). */
export function retransmitLimit (config: GossipConfig, n: number): number {
  return config.retransmitMult * Math.ceil(Math.log10(Math.max(0, n) + 1))
}

/** Hops news needs over a graph of `n` nodes where each has at least maxLinks/2 links, plus one for the odd long path. */
export function disseminationHops (n: number, maxLinks: number): number {
  const degree = Math.max(2, maxLinks / 2)
  return Math.ceil(Math.log(Math.max(2, n)) / Math.log(degree)) + 1
}

/**
 * The longest the design lets a crash go unknown: from the crash of a member until
 * every live member of a mesh of `n`, where a member holds at most `maxLinks` links,
 * sees it dead. Each term is one stage a detection passes through, at its worst.
 */
export function detectionBoundMs (config: GossipConfig, n: number, maxLinks: number): number {
  // (a) Only members linked to the crashed one probe it, each walking its links in a
  //     shuffled round robin of one probe per interval: every one of them has sent it
  //     a probe within maxLinks intervals of the crash, so the first fails by then.
  const firstProbe = Math.max(1, maxLinks) * config.probeIntervalMs
  // (b) That probe, direct and then indirect, gives up at its deadline: now it is suspect.
  const probe = config.probeDeadlineMs
  // (c) The suspicion runs out: at its longest when no other member confirms it.
  const suspicion = suspicionTimeouts(config, n).maxMs
  // (d) The dead news spreads: each hop may wait for a full retransmit budget of
  //     gossip rounds at the member before it, over log(n)/log(degree) hops (+1).
  const dissemination = disseminationHops(n, maxLinks) * retransmitLimit(config, n) * config.gossipIntervalMs
  return firstProbe + probe + suspicion + dissemination
}
