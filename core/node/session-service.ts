// Sessions as people reach them: a session is answered by the node holding it,
// and its id names that node, so a call for another member's session goes there.
import { SeError } from '../errors.js'
import type { MeshPeerApi, SessionInfo, SessionOutput } from '../protocol/types.js'
import type { SessionManager } from '../session/session-manager.js'
import { gatherFromMembers, type AskOptions } from '../mesh/ask-members.js'
import type { Member, MeshHost } from '../mesh/mesh.js'

export interface SessionServiceOptions {
  sessions: SessionManager
  nodeId: string
  nodeName: string
  /** Usable members; none without a mesh. */
  members: () => Member[]
  /** A member's name, for "via" in what its people do here. */
  memberName: (nodeId: string) => string
  meshQuery: (what: string) => AskOptions
  /** A member's API over a connection opened now if there is none. */
  reach: (nodeId: string) => Promise<MeshPeerApi>
}

export class SessionService {
  constructor (private readonly o: SessionServiceOptions) {}

  /** The user a local session belongs to, or null (for front ends that check ownership themselves). */
  owner (sessionId: string): string | null {
    return this.o.sessions.ownerOf(sessionId)
  }

  async open (owner: string, name: string | null, node: string | null, via = ''): Promise<SessionInfo> {
    if (node === null || node === this.o.nodeName || this.o.nodeId.startsWith(node)) return await this.o.sessions.create(owner, name, via)
    const member = this.o.members().find(m => m.name === node || m.nodeId.startsWith(node))
    if (member === undefined) throw SeError.noSuchMember(node)
    return await (await this.o.reach(member.nodeId)).sessionNew(owner, name, null)
  }

  async list (owner: string): Promise<SessionInfo[]> {
    const local = this.o.sessions.list(owner)
    const remote = await gatherFromMembers(this.o.members().filter(m => m.holds('sessions')), async api => await api.sessionList(owner), this.o.meshQuery('sessions'))
    return [...local, ...remote]
  }

  attach (sessionId: string, owner: string, fromSeq: number, onOutput: (output: SessionOutput) => boolean | void, onCancel?: (listener: () => void) => void, via = ''): Promise<SessionInfo> {
    const sessions = this.o.sessions
    if (sessions.has(sessionId)) return sessions.attach(sessionId, owner, fromSeq, o => { onOutput(o) }, onCancel ?? (() => {}), via)
    return this.holder(sessionId).then(async api => await api.sessionAttach(sessionId, owner, fromSeq, onOutput, onCancel))
  }

  async input (sessionId: string, owner: string, line: string): Promise<number> {
    if (this.o.sessions.has(sessionId)) return this.o.sessions.input(sessionId, owner, line)
    return await (await this.holder(sessionId)).sessionInput(sessionId, owner, line)
  }

  async close (sessionId: string, owner: string): Promise<SessionInfo> {
    if (this.o.sessions.has(sessionId)) return await this.o.sessions.closeSession(sessionId, owner, `closed by ${owner}`)
    return await (await this.holder(sessionId)).sessionClose(sessionId, owner)
  }

  /** What mesh members may ask of this node's own sessions; never forwarded further. */
  forMembers (): NonNullable<MeshHost['sessions']> {
    const sessions = this.o.sessions
    const via = (from: string): string => ` via ${this.o.memberName(from)}`
    return {
      sessionNew: async (from, owner, name) => await sessions.create(owner, name, via(from)),
      sessionList: async (_from, owner) => sessions.list(owner),
      sessionAttach: async (from, id, owner, fromSeq, emit, onCancel) => await sessions.attach(id, owner, fromSeq, emit, onCancel, via(from)),
      sessionInput: async (_from, id, owner, line) => sessions.input(id, owner, line),
      sessionClose: async (from, id, owner) => await sessions.closeSession(id, owner, `closed by ${owner}${via(from)}`)
    }
  }

  /** The member holding a session, by the node id in its name: connected to now if need be. */
  private async holder (sessionId: string): Promise<MeshPeerApi> {
    const prefix = /^ss-([0-9a-f]{8})-/.exec(sessionId)?.[1]
    const member = prefix === undefined ? undefined : this.o.members().find(m => m.nodeId.startsWith(prefix))
    if (member === undefined) throw SeError.sessionNowhere(sessionId)
    return await this.o.reach(member.nodeId)
  }
}
