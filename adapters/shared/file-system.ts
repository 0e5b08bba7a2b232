// The FileSystem port over an fs module with node:fs's shape — node:fs on Node,
// bare-fs on Bare — so both runtimes read, list and write the data dir alike.
// The durable writes are DurableFiles'; the rest is the module's promise API.
import type { AppendFile, FileLock, FileSystem } from '../../core/ports.js'
import { DurableFiles, type SyncFs } from './durable-files.js'

/** The promise calls used here; node:fs and bare-fs both have them with these shapes. */
export interface FsModule extends SyncFs {
  promises: {
    readFile: (path: string) => Promise<Uint8Array>
    readdir: (path: string) => Promise<string[]>
    mkdir: (path: string, opts: { recursive: boolean, mode: number }) => Promise<unknown>
    rm: (path: string, opts: { force: boolean, recursive: boolean }) => Promise<void>
    truncate: (path: string, size: number) => Promise<void>
    stat: (path: string) => Promise<{ isDirectory: () => boolean }>
  }
}

const code = (err: unknown): string | undefined => (err as { code?: string }).code

export class PortFileSystem implements FileSystem {
  private readonly durable: DurableFiles

  constructor (private readonly fs: FsModule, randomHex: () => string, dirname: (path: string) => string) {
    this.durable = new DurableFiles(fs, randomHex, dirname)
  }

  async read (file: string): Promise<Uint8Array | null> {
    try {
      return await this.fs.promises.readFile(file)
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
    return await this.fs.promises.stat(dir).then(s => s.isDirectory(), () => false)
  }

  async list (dir: string): Promise<string[]> {
    try {
      return await this.fs.promises.readdir(dir)
    } catch (err) {
      if (code(err) === 'ENOENT') return []
      throw err
    }
  }

  async mkdirp (dir: string): Promise<void> {
    await this.fs.promises.mkdir(dir, { recursive: true, mode: 0o700 })
  }

  async remove (file: string): Promise<void> {
    await this.fs.promises.rm(file, { force: true, recursive: true })
  }

  async truncate (file: string, size: number): Promise<void> {
    await this.fs.promises.truncate(file, size)
  }
}
