// Errors writing under the data dir.
import { SeError, messageOf } from './se-error.js'

export const storageErrors = {
  /**
   * A write under the data dir failed because its file system is full: nothing was
   * recorded, and the node carries on once there is room.
   */
  noSpace (dir: string, freeBytes: number | null, cause: unknown): SeError {
    const free = freeBytes === null ? '' : ` (${formatBytes(freeBytes)} free)`
    return new SeError('NO_SPACE', `no space left for the data dir ${dir}${free}: nothing was recorded`, { hint: 'free space on that file system; the node carries on by itself once writes succeed again', cause })
  },

  /** A member's audit entry that is not one: malformed, or signed by another key than its source's. */
  badAuditEntry (why: string): SeError {
    return new SeError('BAD_REQUEST', why)
  },

  /** Appended to after close(): the node is stopping. */
  auditClosed (): SeError {
    return new SeError('SHUTTING_DOWN', 'the audit trail is closed')
  },

  /** A write under the data dir failed for another reason (permissions, I/O error). */
  writeFailed (file: string, cause: unknown): SeError {
    return new SeError('WRITE_FAILED', `could not write ${file}: ${messageOf(cause)}`, { hint: 'check the data dir\'s file system and permissions', cause })
  }
}

function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`
}
