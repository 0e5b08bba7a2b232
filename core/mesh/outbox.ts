// Audit entries this node made for another node's workflow, kept on disk until
// that node has them. Each destination has its own queue file, rewritten
// atomically on every change, so an entry is either queued or delivered: never
// lost on a crash. The receiver drops an entry it already holds (same origin
// signature), so delivering twice after a lost reply does no harm. A drain that
// stops on a passing trouble of the receiver (a timeout, a full disk) tries
// again by itself: nothing else may happen to start one.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { FileSystem, Logger } from '../ports.js'
import type { SignedAuditEntry } from '../protocol/types.js'

export type Submit = (entry: SignedAuditEntry) => Promise<boolean>

/** Errors that mean the receiver will never take the entry: retrying cannot help. */
const PERMANENT = new Set(['BAD_REQUEST', 'UNKNOWN_WORKFLOW', 'NOT_ALLOWED'])
/** The link is gone: the member's next connection starts a new drain with the new link. */
const LINK_GONE = new Set(['CONNECTION_CLOSED'])
/** First wait before a stopped drain is tried again; it doubles up to the most. */
const RETRY_FIRST_MS = 1000
const RETRY_MAX_MS = 30_000

export class Outbox {
  private readonly queues = new Map<string, SignedAuditEntry[]>()
  private readonly draining = new Map<string, Promise<void>>()
  private readonly retries = new Map<string, { timer: ReturnType<typeof setTimeout>, delayMs: number }>()
  private closed = false

  constructor (private readonly fs: FileSystem, private readonly dir: string, private readonly log: Logger) {}

  async open (): Promise<void> {
    await this.fs.mkdirp(this.dir)
    for (const file of await this.fs.list(this.dir)) {
      if (!file.endsWith('.json')) continue
      const bytes = await this.fs.read(join(this.dir, file))
      if (bytes === null) continue
      try {
        const entries = JSON.parse(b4a.toString(bytes, 'utf8')) as SignedAuditEntry[]
        if (Array.isArray(entries) && entries.length > 0) this.queues.set(file.slice(0, -'.json'.length), entries)
      } catch (err) {
        this.log.warn(`outbox ${file} is unreadable and was left in place: ${(err as Error).message}`)
      }
    }
  }

  pending (nodeId: string): number { return this.queues.get(nodeId)?.length ?? 0 }
  destinations (): string[] { return [...this.queues.keys()].filter(k => this.pending(k) > 0) }

  async enqueue (nodeId: string, entries: SignedAuditEntry[]): Promise<void> {
    const queue = this.queues.get(nodeId) ?? []
    queue.push(...entries)
    this.queues.set(nodeId, queue)
    await this.save(nodeId)
  }

  /** Sends everything queued for nodeId, oldest first; stops at the first transient failure. */
  drain (nodeId: string, submit: Submit): Promise<void> {
    const previous = this.draining.get(nodeId) ?? Promise.resolve()
    const next = previous.then(() => this.drainNow(nodeId, submit))
    this.draining.set(nodeId, next)
    return next
  }

  /** Stops retrying; what is queued stays on disk for the next start. */
  close (): void {
    this.closed = true
    for (const { timer } of this.retries.values()) clearTimeout(timer)
    this.retries.clear()
  }

  private async drainNow (nodeId: string, submit: Submit): Promise<void> {
    const queue = this.queues.get(nodeId)
    while (queue !== undefined && queue.length > 0) {
      try {
        await submit(queue[0] as SignedAuditEntry)
      } catch (err) {
        if (!(err instanceof SeError) || !PERMANENT.has(err.code)) { this.retryLater(nodeId, submit, err); return }
        this.log.warn(`audit entry for ${nodeId.slice(0, 12)} refused for good, dropped: ${err.message}`)
      }
      queue.shift()
      await this.save(nodeId)
    }
    this.forgetRetry(nodeId)
  }

  // Over the same link, backing off: the receiver answered, so it is there, and may take the entry later.
  private retryLater (nodeId: string, submit: Submit, err: unknown): void {
    if (this.closed || (err instanceof SeError && LINK_GONE.has(err.code))) return
    const previous = this.retries.get(nodeId)
    if (previous !== undefined) clearTimeout(previous.timer)
    const delayMs = previous === undefined ? RETRY_FIRST_MS : Math.min(previous.delayMs * 2, RETRY_MAX_MS)
    const timer = setTimeout(() => { void this.drain(nodeId, submit).catch(() => {}) }, delayMs)
    ;(timer as { unref?: () => void }).unref?.()
    this.retries.set(nodeId, { timer, delayMs })
  }

  private forgetRetry (nodeId: string): void {
    const retry = this.retries.get(nodeId)
    if (retry === undefined) return
    clearTimeout(retry.timer)
    this.retries.delete(nodeId)
  }

  private async save (nodeId: string): Promise<void> {
    const queue = this.queues.get(nodeId) ?? []
    const file = join(this.dir, `${nodeId}.json`)
    if (queue.length === 0) { await this.fs.remove(file); return }
    await this.fs.writeAtomic(file, JSON.stringify(queue))
  }
}
