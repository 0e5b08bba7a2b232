// Files for core on Bare (bare-fs), with the same durability as on Node
// (adapters/shared/durable-files.ts).
import fs from 'bare-fs'
import path from 'bare-path'
import type { AppendFile, FileLock, FileSystem } from '../../core/ports.js'
import { DurableFiles, type SyncFs } from '../shared/durable-files.js'

const code = (err: unknown): string | undefined => (err as { code?: string }).code

export class BareFileSystem implements FileSystem {
  private readonly durable: DurableFiles

  constructor (randomHex: () => string) {
    this.durable = new DurableFiles(fs as unknown as SyncFs, randomHex, path.dirname)
  }

  async read (file: string): Promise<Uint8Array | null> {
    try {
      return await fs.promises.readFile(file) as Uint8Array
    } catch (err) {
      if (code(err) === 'ENOENT') return null
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
