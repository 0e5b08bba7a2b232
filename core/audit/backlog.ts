// Audit entries of a transition whose state is already on disk but which could not be
// written themselves (a full disk): they are kept in order and written as soon as
// writes succeed again, so the trail catches up by itself.
import { AUDIT_BACKLOG_RETRY_MS } from '../constants.js'
import type { AuditInput, AuditLog } from './log.js'
import type { Logger } from '../ports.js'

export class AuditBacklog {
  private readonly entries: AuditInput[] = []
  private timer: ReturnType<typeof setTimeout> | null = null
  private writing: Promise<void> | null = null

  constructor (private readonly audit: AuditLog, private readonly log: Logger | undefined, private readonly retryMs = AUDIT_BACKLOG_RETRY_MS) {}

  get size (): number { return this.entries.length }

  add (entries: AuditInput[], cause: unknown): void {
    if (entries.length === 0) return
    if (this.entries.length === 0) this.log?.warn(`audit: ${(cause as Error)?.message ?? String(cause)}; ${entries.length} entr${entries.length === 1 ? 'y waits' : 'ies wait'} to be written when writes succeed again`)
    this.entries.push(...entries)
    this.schedule()
  }

  /** Tries once more now (at shutdown); what still fails is lost with the process and said so. */
  async flush (): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    await this.write()
    if (this.entries.length > 0) this.log?.error(`audit: ${this.entries.length} entr${this.entries.length === 1 ? 'y' : 'ies'} could not be written before the node stopped`)
  }

  private schedule (): void {
    if (this.timer !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.write().then(() => { if (this.entries.length > 0) this.schedule() })
    }, this.retryMs)
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  private async write (): Promise<void> {
    this.writing ??= (async () => {
      let wrote = 0
      while (this.entries.length > 0) {
        try {
          await this.audit.append(this.entries[0] as AuditInput)
        } catch {
          return
        }
        this.entries.shift()
        wrote++
      }
      if (wrote > 0) this.log?.info(`audit: writes succeed again; the ${wrote} entr${wrote === 1 ? 'y' : 'ies'} that waited are in the trail`)
    })().finally(() => { this.writing = null })
    await this.writing
  }
}
