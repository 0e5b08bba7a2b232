// Files for core, with the durability core asks for: atomic replace is
// write → fsync → rename → fsync of the directory.
import { randomBytes } from 'node:crypto'
import fsSync from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { AppendFile, FileSystem } from '../../core/ports.js'

export class NodeFileSystem implements FileSystem {
  async read (file: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  // Synchronous on purpose: eight thread-pool round trips cost more than the
  // event loop waits for one small durable write (see bench/steps.ts).
  async writeAtomic (file: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> {
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`
    const fd = fsSync.openSync(tmp, 'w', opts.mode ?? 0o644)
    try {
      fsSync.writeFileSync(fd, data)
      fsSync.fdatasyncSync(fd)
    } finally {
      fsSync.closeSync(fd)
    }
    try {
      fsSync.renameSync(tmp, file)
    } catch (err) {
      fsSync.rmSync(tmp, { force: true })
      throw err
    }
    syncDir(path.dirname(file))
  }

  async openAppend (file: string): Promise<AppendFile> {
    const fd = fsSync.openSync(file, 'a', 0o600)
    return {
      append: async data => { fsSync.writeFileSync(fd, data) },
      sync: async () => { fsSync.fdatasyncSync(fd) },
      close: async () => { fsSync.closeSync(fd) }
    }
  }

  async isDirectory (path: string): Promise<boolean> {
    return await fs.stat(path).then(s => s.isDirectory(), () => false)
  }

  async list (dir: string): Promise<string[]> {
    try {
      return await fs.readdir(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  async mkdirp (dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  }

  async remove (file: string): Promise<void> {
    await fs.rm(file, { force: true, recursive: true })
  }

  async truncate (file: string, size: number): Promise<void> {
    await fs.truncate(file, size)
  }
}

// A rename is durable only once its directory is synced. Filesystems that refuse
// to sync a directory lose nothing more by skipping it.
function syncDir (dir: string): void {
  let fd: number | undefined
  try {
    fd = fsSync.openSync(dir, 'r')
    fsSync.fsyncSync(fd)
  } catch {
  } finally {
    if (fd !== undefined) fsSync.closeSync(fd)
  }
}
