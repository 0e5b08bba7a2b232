// Files for core on Node, with the durability core asks for (adapters/shared/durable-files.ts).
import { randomBytes } from 'node:crypto'
import fsSync from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { AppendFile, FileLock, FileSystem } from '../../core/ports.js'
import { DurableFiles } from '../shared/durable-files.js'

export class NodeFileSystem implements FileSystem {
  private readonly durable = new DurableFiles(fsSync, () => randomBytes(4).toString('hex'), path.dirname)

  async read (file: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  async writeAtomic (file: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> {
    this.durable.writeAtomic(file, data, opts.mode)
  }

  async openAppend (file: string): Promise<AppendFile> {
    return this.durable.openAppend(file)
  }

  async tryLock (file: string, holder: string): Promise<FileLock | null> {
    return this.durable.tryLock(file, holder)
  }

  async freeBytes (file: string): Promise<number | null> {
    return this.durable.freeBytes(file)
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
