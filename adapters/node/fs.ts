// Files for core, with the durability core asks for: atomic replace is
// write → fsync → rename → fsync of the directory.
import { randomBytes } from 'node:crypto'
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

  async writeAtomic (file: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> {
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`
    const handle = await fs.open(tmp, 'w', opts.mode ?? 0o644)
    try {
      await handle.writeFile(data)
      await handle.datasync()
    } finally {
      await handle.close()
    }
    try {
      await fs.rename(tmp, file)
    } catch (err) {
      await fs.rm(tmp, { force: true })
      throw err
    }
    await syncDir(path.dirname(file))
  }

  async openAppend (file: string): Promise<AppendFile> {
    const handle = await fs.open(file, 'a', 0o600)
    return {
      append: async data => { await handle.appendFile(data) },
      sync: async () => { await handle.datasync() },
      close: async () => { await handle.close() }
    }
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

// A rename is durable only once its directory is synced. Directories are opened
// read-only for that; filesystems that refuse it lose nothing more by skipping.
async function syncDir (dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(dir, 'r')
    await handle.sync()
  } catch {
  } finally {
    await handle?.close()
  }
}
