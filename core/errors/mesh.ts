// Errors of a mesh: its settings (keys, timing, bootstrap addresses), the
// handshake that lets a peer in, and what a member may ask of this node.
import { SeError } from './se-error.js'

/** A node key as messages show it: enough to tell nodes apart. */
const short = (nodeId: string): string => nodeId.slice(0, 12)

export const meshErrors = {
  /** `where` (a flag, a file and line) gave something that is not a node key. */
  badNodeKey (where: string, key: string): SeError {
    return new SeError('BAD_INPUT', `${where}: '${key}' is not a node key (64 hex characters)`, { hint: 'a node key is the id `se nodes` or `se capabilities --json` shows' })
  },

  badMeshTiming (heartbeatMs: number, suspectMs: number, downMs: number): SeError {
    return new SeError('BAD_INPUT', `mesh timing must be heartbeat < suspect < down, got ${heartbeatMs} / ${suspectMs} / ${downMs} ms`)
  },

  /** `se session new --node NAME` named no member that can be reached. */
  noSuchMember (node: string): SeError {
    return new SeError('NO_CAPABLE_NODE', `no usable mesh member named ${node}`, { hint: 'see `se nodes` for the members and their names' })
  },

  /** Nobody meets what a workflow or step needs; the router words `reason`. */
  noCapableNode (reason: string, alone: boolean): SeError {
    return new SeError('NO_CAPABLE_NODE', reason, {
      hint: alone ? 'install what is missing, add a tag with --capability, or join a mesh with a node that has it' : 'start a node that has it, add a tag with --capability, or check `se nodes`'
    })
  },

  badBootstrapAddress (address: string): SeError {
    return new SeError('BAD_INPUT', `bootstrap address '${address}' is not HOST:PORT`, { hint: 'for example --bootstrap 127.0.0.1:49737' })
  },

  /** A peer connected and sent no (or half a) hello in time. */
  noHello (peerId: string, timeoutMs: number): SeError {
    return new SeError('TIMEOUT', `peer ${short(peerId)} sent no hello within ${timeoutMs} ms`)
  },

  closedDuringHandshake (peerId: string): SeError {
    return new SeError('CONNECTION_CLOSED', `peer ${short(peerId)} closed the connection during the handshake`)
  },

  oversizedHello (peerId: string): SeError {
    return new SeError('PEER_REJECTED', `peer ${short(peerId)} sent an oversized hello`)
  },

  /** A hello that does not decode; `cause` is the decoder's complaint. */
  garbledHello (peerId: string, cause: unknown): SeError {
    return new SeError('PEER_REJECTED', `peer ${short(peerId)} sent a garbled hello`, { cause })
  },

  meshVersionMismatch (peerId: string, theirs: number, ours: number): SeError {
    return new SeError('PEER_REJECTED', `peer ${short(peerId)} speaks mesh protocol ${theirs}, this node mesh protocol ${ours}: they cannot work together`, { hint: 'run the same SE Mesh release on every node of a mesh (`se --version`)' })
  },

  /** Work needed a connection to a member and none could be opened in time. */
  memberUnreachable (name: string, nodeId: string, ms: number): SeError {
    return new SeError('TIMEOUT', `could not connect to ${name} (${short(nodeId)}) within ${ms} ms`, { hint: 'the member may have gone: `se nodes` shows what this node knows of it' })
  },

  /** A hello naming another node than the key the connection was made with. */
  helloOfAnother (peerId: string, claimedId: string): SeError {
    return new SeError('PEER_REJECTED', `peer ${short(peerId)} claims to be ${short(claimedId)}`)
  },

  /** A hello whose proof was not made with this mesh's secret. */
  noMeshSecret (peerId: string, peerName: string, mesh: string): SeError {
    return new SeError('PEER_REJECTED', `peer ${short(peerId)} (${peerName}) does not hold the mesh secret of '${mesh}'`)
  },

  /** A member called a message that is for the node's own clients only. */
  notForMembers (message: string): SeError {
    return new SeError('NOT_ALLOWED', `mesh members may not call '${message}'; it is for the node's own clients`)
  },

  /** A member registered capabilities in another node's name. */
  capabilitiesOfAnother (memberId: string, claimedId: string): SeError {
    return new SeError('NOT_ALLOWED', `node ${short(memberId)} may not register capabilities for ${short(claimedId)}`)
  },

  /** A member submitted an audit entry another node made. */
  auditEntryOfAnother (memberId: string): SeError {
    return new SeError('NOT_ALLOWED', `node ${short(memberId)} may submit only its own audit entries`)
  },

  /** A requester re-attaching to a step this node does not run for it (it ended long ago, or this node restarted). */
  stepNotHere (requesterId: string, workflowId: string, stepId: string, attempt: number): SeError {
    return new SeError('STEP_NOT_HERE', `step ${stepId} (attempt ${attempt}) of workflow ${workflowId} is not running here for ${short(requesterId)}, nor ended here lately`, { hint: 'the node may have restarted since: the requester applies its restart rules to the step' })
  },

  /** A mesh operation (a lookup, an introduction) that took too long. */
  gaveUp (ms: number): SeError {
    return new SeError('TIMEOUT', `gave up after ${ms} ms`)
  }
}
