// A member of the mesh as this node knows it: what gossip says of it (state,
// capabilities, load), and the connection this node holds to it, if any. Most
// members of a large mesh are known by gossip alone; a connection is opened to
// one only to make it a neighbour or to give it work.
import type { MemberState, MeshPeerApi, NodeCapabilities, NodeSample } from '../protocol/types.js'
import type { RpcPeer } from '../rpc/peer.js'

export type Learned = 'direct' | 'gossip'

export class Member {
  capabilities: NodeCapabilities | null = null
  state: MemberState = 'up'
  /** When its state last changed (it is dialled a while after it went suspect or down, to hear it refute). */
  stateSince = 0
  /** Down because it said goodbye: nothing to wait for or dial, unlike a member that may only look down. */
  left = false
  sample: NodeSample | null = null
  latencyMs: number | null = null
  rpc: RpcPeer | null = null
  api: MeshPeerApi | null = null
  /** What this node may do there by the member's policy; null until it has said. */
  allows: string[] | null = null
  learned: Learned = 'gossip'
  /** What it said it holds that people here may ask about: workflows waiting for a person, open sessions. */
  holding = { waiting: 0, sessions: 0 }
  /** Both ends keep the connection as part of their neighbourhoods. */
  neighbour = false
  /** This node dialled it, so this node is the one that closes it (the dialler's swarm would dial again). */
  dialled = false
  /** When work (a step, a session, an artifact, the outbox) last used the connection. */
  lastUsed = 0
  /** Work holding the connection open now, whatever its traffic. */
  leases = 0
  /** A connection either end is closing on purpose (its neighbourhood is full, or work is done): no sign of a crash. */
  unlinking: RpcPeer | null = null
  /** The connection on which this node last asked the member to be a neighbour: asked once per connection. */
  askedOn: RpcPeer | null = null
  /** That request is still unanswered: the link is kept until it is. */
  asking = false
  /** Not dialled as a neighbour again before this (it refused, or could not be reached). */
  cooldownUntil = 0

  constructor (readonly nodeId: string, public name: string, public lastSeen: number) {}

  get connected (): boolean { return this.rpc !== null && !this.rpc.isClosed }
  /** Can be given work: alive, and it has said what it can do. A connection is opened when work needs one. */
  get usable (): boolean { return this.state === 'up' && this.capabilities !== null }
  get link (): 'neighbour' | 'work' | null { return this.connected ? (this.neighbour ? 'neighbour' : 'work') : null }
  /** Worth asking the mesh's questions: connected already, or it says it holds something to answer. */
  holds (what: 'waiting' | 'sessions'): boolean { return this.connected || this.holding[what] > 0 }
}
