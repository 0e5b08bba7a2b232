// One interactive session: who owns it, where it stands, and the output it keeps
// for clients that attach later (bounded: the newest entries win).
import b4a from 'b4a'
import { SESSION_HISTORY, SESSION_TRANSCRIPT_BYTES, SESSION_TRANSCRIPT_ENTRIES } from '../constants.js'
import type { SessionInfo, SessionOutput } from '../protocol/types.js'

export interface SessionRecord {
  id: string
  name: string | null
  owner: string
  nodeId: string
  nodeName: string
  cwd: string
  createdAt: number
  lastActiveAt: number
  state: 'open' | 'closed'
  closedReason: string | null
  /** The line running when the record was written; set again after a crash means it was cut short. */
  running: string | null
  nextSeq: number
  transcript: SessionOutput[]
  history: string[]
}

export class Session {
  attached = 0
  /** Lines sent and not yet finished, the running one included. */
  queued = 0
  private readonly listeners = new Set<(o: SessionOutput) => void>()
  private transcriptBytes: number

  constructor (readonly record: SessionRecord) {
    this.transcriptBytes = record.transcript.reduce((n, o) => n + b4a.byteLength(o.text), 0)
  }

  get id (): string { return this.record.id }
  get owner (): string { return this.record.owner }
  get isOpen (): boolean { return this.record.state === 'open' }

  info (): SessionInfo {
    const r = this.record
    return { id: r.id, name: r.name, owner: r.owner, nodeId: r.nodeId, nodeName: r.nodeName, state: r.state, cwd: r.cwd, createdAt: r.createdAt, lastActiveAt: r.lastActiveAt, attached: this.attached, busy: r.running !== null || this.queued > 0, closedReason: r.closedReason }
  }

  append (stream: string, text: string, at: number): SessionOutput {
    const out: SessionOutput = { sessionId: this.id, seq: this.record.nextSeq++, stream, text: newestBytes(text, SESSION_TRANSCRIPT_BYTES), at }
    const t = this.record.transcript
    t.push(out)
    this.transcriptBytes += b4a.byteLength(out.text)
    while (t.length > 1 && (t.length > SESSION_TRANSCRIPT_ENTRIES || this.transcriptBytes > SESSION_TRANSCRIPT_BYTES)) {
      this.transcriptBytes -= b4a.byteLength((t.shift() as SessionOutput).text)
    }
    for (const l of this.listeners) l(out)
    return out
  }

  remember (line: string): void {
    const h = this.record.history
    h.push(line)
    if (h.length > SESSION_HISTORY) h.splice(0, h.length - SESSION_HISTORY)
  }

  /** Kept output from `fromSeq` on; the first entry says how much was dropped before it, if any. */
  backlog (fromSeq: number): SessionOutput[] {
    const kept = this.record.transcript.filter(o => o.seq >= fromSeq)
    const first = this.record.transcript[0]
    const dropped = first === undefined ? 0 : first.seq - Math.max(fromSeq, 1)
    if (first !== undefined && dropped > 0) {
      kept.unshift({ sessionId: this.id, seq: first.seq - 1, stream: 'info', text: `(${dropped} earlier output entries were dropped: a session keeps its newest ${SESSION_TRANSCRIPT_ENTRIES} or ${SESSION_TRANSCRIPT_BYTES / 1024} KiB)`, at: first.at })
    }
    return kept
  }

  listen (listener: (o: SessionOutput) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }
}

/** One entry larger than the whole transcript keeps only its end, as a terminal's scrollback would. */
function newestBytes (text: string, max: number): string {
  if (text.length <= max / 4) return text
  const bytes = b4a.from(text, 'utf8')
  if (bytes.byteLength <= max) return text
  // Room for the note itself, so the entry stays within max.
  const keep = max - 64
  return `(${bytes.byteLength - keep} earlier bytes of this output were cut)\n` + b4a.toString(bytes.subarray(bytes.byteLength - keep), 'utf8')
}
