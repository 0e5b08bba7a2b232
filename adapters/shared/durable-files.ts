// The durable writes core asks for, on any runtime with a synchronous fs API
// (node:fs on Node, bare-fs on Bare): atomic replace (write → fsync → rename →
// fsync of the directory), appends that are all or nothing, the data dir's lock,
// and free space. A failed write leaves nothing behind: no temp file, no torn
// line, and its error says NO_SPACE when the file system is full.
import b4a from 'b4a'
import fsx from 'fs-native-extensions'
import { SeError } from '../../core/errors.js'
import type { AppendFile, FileLock } from '../../core/ports.js'

/** The calls of node:fs and bare-fs this module needs; both have them with these shapes. */
export interface SyncFs {
  openSync (path: string, flags: string, mode?: number): number
  closeSync (fd: number): void
  writeSync (fd: number, data: Uint8Array, offset: number, length: number): number
  readFileSync (path: string): Uint8Array
  fdatasyncSync (fd: number): void
  fsyncSync (fd: number): void
  renameSync (from: string, to: string): void
  rmSync (path: string, opts: { force: boolean }): void
  ftruncateSync (fd: number, length: number): void
  fstatSync (fd: number): { size: number }
  statfsSync (path: string): { bavail: number | bigint, bsize: number | bigint }
}

const FULL = new Set(['ENOSPC', 'EDQUOT'])

export class DurableFiles {
  constructor (
    private readonly fs: SyncFs,
    private readonly randomHex: () => string,
    private readonly dirname: (path: string) => string
  ) {}

  // Synchronous on purpose: the thread-pool round trips of the async API cost more
  // than the event loop waits for one small durable write (see bench/steps.ts).
  writeAtomic (file: string, data: Uint8Array | string, mode = 0o644): void {
    const tmp = `${file}.${this.randomHex()}.tmp`
    try {
      const fd = this.fs.openSync(tmp, 'w', mode)
      try {
        this.writeAll(fd, data)
        this.fs.fdatasyncSync(fd)
      } finally {
        this.fs.closeSync(fd)
      }
      this.fs.renameSync(tmp, file)
    } catch (err) {
      // Whatever failed, the half-written temp file goes: a full disk must not fill up with them.
      try { this.fs.rmSync(tmp, { force: true }) } catch {}
      throw this.failure(file, err)
    }
    this.syncDir(this.dirname(file))
  }

  openAppend (file: string): AppendFile {
    let fd: number
    try {
      fd = this.fs.openSync(file, 'a', 0o600)
    } catch (err) {
      throw this.failure(file, err)
    }
    let size = this.fs.fstatSync(fd).size
    return {
      append: async data => {
        try {
          this.writeAll(fd, data)
          size += typeof data === 'string' ? b4a.byteLength(data) : data.byteLength
        } catch (err) {
          // Part of the data may be down: cut it off, so the next append does not land after a torn line.
          // Truncating frees space, so it works on a full disk; if it fails, the file's size tells.
          try { this.fs.ftruncateSync(fd, size) } catch {}
          throw this.failure(file, err)
        }
      },
      sync: async () => {
        try {
          this.fs.fdatasyncSync(fd)
        } catch (err) {
          throw this.failure(file, err)
        }
      },
      truncate: async length => {
        this.fs.ftruncateSync(fd, length)
        this.fs.fdatasyncSync(fd)
        size = length
      },
      size: () => size,
      close: async () => { this.fs.closeSync(fd) }
    }
  }

  /**
   * Takes the exclusive lock on `file` (an open file description lock: the OS drops it
   * when the process ends, however it ends) and writes `holder` into it for others to read.
   */
  tryLock (file: string, holder: string): FileLock | null {
    let fd: number
    try {
      fd = this.fs.openSync(file, 'a+', 0o600)
    } catch (err) {
      throw this.failure(file, err)
    }
    if (!fsx.tryLock(fd)) {
      this.fs.closeSync(fd)
      return null
    }
    try {
      this.fs.ftruncateSync(fd, 0)
      this.writeAll(fd, holder)
    } catch {
      // Who holds the lock is a courtesy to people; the lock itself is what counts.
    }
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        try { this.fs.ftruncateSync(fd, 0) } catch {}
        this.fs.closeSync(fd)
      }
    }
  }

  freeBytes (path: string): number | null {
    try {
      const s = this.fs.statfsSync(path)
      return Number(s.bavail) * Number(s.bsize)
    } catch {
      return null
    }
  }

  /** What a failed write is called: NO_SPACE when the file system is full, WRITE_FAILED otherwise. */
  private failure (file: string, err: unknown): SeError {
    if (err instanceof SeError) return err
    const code = (err as { code?: string }).code
    const dir = this.dirname(file)
    if (code !== undefined && FULL.has(code)) return SeError.noSpace(dir, this.freeBytes(dir), err)
    return SeError.writeFailed(file, err)
  }

  private writeAll (fd: number, data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? b4a.from(data) : data
    for (let at = 0; at < bytes.byteLength;) at += this.fs.writeSync(fd, bytes, at, bytes.byteLength - at)
  }

  // A rename is durable only once its directory is synced. File systems that refuse
  // to sync a directory lose nothing more by skipping it.
  private syncDir (dir: string): void {
    let fd: number | undefined
    try {
      fd = this.fs.openSync(dir, 'r')
      this.fs.fsyncSync(fd)
    } catch {
    } finally {
      if (fd !== undefined) this.fs.closeSync(fd)
    }
  }
}
