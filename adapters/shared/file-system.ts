// The FileSystem port over an fs module with node:fs's shape — node:fs on Node,
// bare-fs on Bare — so both runtimes read, list and write the data dir alike.
// The durable writes are DurableFiles'; the rest is the module's promise API.
import b4a from 'b4a'
import type { AppendFile, FileInfo, FileLock, FileSystem, ReadableFile, WritableFile } from '../../core/ports.js'
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
    lstat: (path: string) => Promise<StatLike>
    realpath: (path: string) => Promise<string>
    rename: (from: string, to: string) => Promise<void>
    chmod: (path: string, mode: number) => Promise<void>
    open: (path: string, flags: string, mode?: number) => Promise<FileHandleLike>
  }
}

interface StatLike { size: number, mode: number, isFile: () => boolean, isDirectory: () => boolean, isSymbolicLink: () => boolean }

/** The FileHandle both runtimes' `promises.open` give. */
interface FileHandleLike {
  read: (buffer: Uint8Array, offset: number, length: number, position: number) => Promise<{ bytesRead: number }>
  write: (buffer: Uint8Array, offset: number, length: number, position: number) => Promise<{ bytesWritten: number }>
  sync: () => Promise<void>
  close: () => Promise<void>
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

  async mkdirp (dir: string, mode = 0o700): Promise<void> {
    await this.fs.promises.mkdir(dir, { recursive: true, mode })
  }

  async remove (file: string): Promise<void> {
    await this.fs.promises.rm(file, { force: true, recursive: true })
  }

  async truncate (file: string, size: number): Promise<void> {
    await this.fs.promises.truncate(file, size)
  }

  async lstat (file: string): Promise<FileInfo | null> {
    let s: StatLike
    try {
      s = await this.fs.promises.lstat(file)
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return null
      throw err
    }
    const kind = s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other'
    return { kind, size: Number(s.size), mode: Number(s.mode) & 0o777 }
  }

  async realpath (file: string): Promise<string> {
    return await this.fs.promises.realpath(file)
  }

  async openRead (file: string): Promise<ReadableFile> {
    const handle = await this.fs.promises.open(file, 'r')
    return {
      read: async (position, length) => {
        const buffer = b4a.allocUnsafe(length)
        let filled = 0
        // A read may return less than asked before the end of the file; only 0 means the end.
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
          if (bytesRead === 0) break
          filled += bytesRead
        }
        return filled === length ? buffer : buffer.subarray(0, filled)
      },
      close: async () => { await handle.close() }
    }
  }

  async openWrite (file: string): Promise<WritableFile> {
    const handle = await this.fs.promises.open(file, 'w', 0o600)
    return {
      write: async (position, data) => {
        for (let at = 0; at < data.byteLength;) {
          const { bytesWritten } = await handle.write(data, at, data.byteLength - at, position + at)
          at += bytesWritten
        }
      },
      sync: async () => { await handle.sync() },
      close: async () => { await handle.close() }
    }
  }

  async rename (from: string, to: string): Promise<void> {
    await this.fs.promises.rename(from, to)
  }

  async chmod (file: string, mode: number): Promise<void> {
    await this.fs.promises.chmod(file, mode)
  }
}
