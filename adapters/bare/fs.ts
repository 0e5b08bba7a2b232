// Files for core on Bare (bare-fs), with the same durability as on Node:
// atomic replace is write → fsync → rename → fsync of the directory.
import b4a from 'b4a'
import fs from 'bare-fs'
import path from 'bare-path'
import type { AppendFile, FileSystem } from '../../core/ports.js'

const code = (err: unknown): string | undefined => (err as { code?: string }).code

export class BareFileSystem implements FileSystem {
  constructor (private readonly randomHex: () => string) {}

  async read (file: string): Promise<Uint8Array | null> {
    try {
      return await fs.promises.readFile(file) as Uint8Array
    } catch (err) {
      if (code(err) === 'ENOENT') return null
      throw err
    }
  }

  // Synchronous, as on Node: one small durable write costs less than the thread-pool round trips.
  async writeAtomic (file: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> {
    const tmp = `${file}.${this.randomHex()}.tmp`
    const fd = fs.openSync(tmp, 'w', opts.mode ?? 0o644)
    try {
      writeAll(fd, data)
      fs.fdatasyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    try {
      fs.renameSync(tmp, file)
    } catch (err) {
      fs.rmSync(tmp, { force: true })
      throw err
    }
    syncDir(path.dirname(file))
  }

  async openAppend (file: string): Promise<AppendFile> {
    const fd = fs.openSync(file, 'a', 0o600)
    return {
      append: async data => { writeAll(fd, data) },
      sync: async () => { fs.fdatasyncSync(fd) },
      close: async () => { fs.closeSync(fd) }
    }
  }

  async isDirectory (dir: string): Promise<boolean> {
    return await fs.promises.stat(dir).then(s => s.isDirectory(), () => false)
  }

  async list (dir: string): Promise<string[]> {
    try {
      return await fs.promises.readdir(dir) as string[]
    } catch (err) {
      if (code(err) === 'ENOENT') return []
      throw err
    }
  }

  async mkdirp (dir: string): Promise<void> {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 })
  }

  async remove (file: string): Promise<void> {
    await fs.promises.rm(file, { force: true, recursive: true })
  }

  async truncate (file: string, size: number): Promise<void> {
    await fs.promises.truncate(file, size)
  }
}

// bare-fs has no writeFileSync on a descriptor: write until every byte is down.
function writeAll (fd: number, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? b4a.from(data) : data
  for (let at = 0; at < bytes.byteLength;) at += fs.writeSync(fd, bytes, at, bytes.byteLength - at)
}

// A rename is durable only once its directory is synced; where that is refused nothing more is lost.
function syncDir (dir: string): void {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch {
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}
