// One member's artifact channel: this node's requests to it (each waits for
// its reply, or the reply timeout, or the connection's end) and its requests
// to this node (served one at a time, each reply sent only when the connection
// has room, so a slow reader holds the server back instead of filling memory).
import { SeError, toSeError } from '../errors.js'
import type { MessageChannel } from '../ports.js'
import { KIND, decodeMessage, encodeMessage, type Kind, type WireMessage } from './wire.js'

export interface Reply {
  kind: Kind
  header: Record<string, unknown>
  payload?: Uint8Array
}

/** Answers one request of the member; a thrown SeError goes back to it as an ERROR. */
export type Serve = (request: WireMessage) => Promise<Reply>

interface Pending {
  resolve (m: WireMessage): void
  reject (err: Error): void
  timer: ReturnType<typeof setTimeout>
}

export class ArtifactLink {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private serving: Promise<void> = Promise.resolve()
  private closed = false

  constructor (readonly nodeId: string, private readonly channel: MessageChannel, private readonly serve: Serve, private readonly timeoutMs: number) {
    channel.onMessage(data => this.received(data))
  }

  get isClosed (): boolean { return this.closed }

  /** Sends a request and waits for its reply; an ERROR reply is thrown as the member's SeError. */
  async request (kind: Kind, header: Record<string, unknown>): Promise<WireMessage> {
    if (this.closed) throw SeError.connectionClosed(this.nodeId.slice(0, 12))
    const id = this.nextId++
    const reply = new Promise<WireMessage>((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(SeError.artifactNoReply(this.nodeId, this.timeoutMs)) }, this.timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
    })
    this.channel.send(encodeMessage(kind, id, header))
    const m = await reply
    if (m.kind === KIND.ERROR) {
      const h = m.header as { code?: string, message?: string, hint?: string }
      throw SeError.fromRemote({ code: String(h.code ?? 'INTERNAL'), message: String(h.message ?? 'the member failed'), hint: typeof h.hint === 'string' ? h.hint : null, details: [] })
    }
    return m
  }

  /** The connection ended: whatever waits for a reply fails now, not at its timeout. */
  close (): void {
    if (this.closed) return
    this.closed = true
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(SeError.closedBeforeReply(this.nodeId.slice(0, 12), 'an artifact request'))
      this.pending.delete(id)
    }
  }

  private received (data: Uint8Array): void {
    if (this.closed) return
    const m = decodeMessage(data)
    // Not one of ours: nothing to answer, and nothing to trust in it.
    if (m === null) return
    if (m.kind === KIND.MANIFEST_REQUEST || m.kind === KIND.CHUNK_REQUEST) {
      // One failed answer (the connection went as it was sent) must not stop the ones after it.
      this.serving = this.serving.then(async () => await this.answer(m)).catch(() => {})
      return
    }
    const p = this.pending.get(m.id)
    if (p === undefined) return
    this.pending.delete(m.id)
    clearTimeout(p.timer)
    p.resolve(m)
  }

  private async answer (request: WireMessage): Promise<void> {
    let reply: Reply
    try {
      reply = await this.serve(request)
    } catch (err) {
      const e = toSeError(err)
      reply = { kind: KIND.ERROR, header: { code: e.code, message: e.reason, ...(e.hint === undefined ? {} : { hint: e.hint }) } }
    }
    if (this.closed) return
    if (!this.channel.send(encodeMessage(reply.kind, request.id, reply.header, reply.payload))) await this.channel.drained()
  }
}
