// The artifacts a node holds, under <dataDir>/artifacts/: one directory per
// artifact, named by its hash, holding its manifest and its files (by their
// index in the manifest). An artifact is assembled in tmp/ and renamed into
// place whole, so a crash never leaves a half artifact that looks whole; what
// is left in tmp/ is removed at the next start. Files are copied chunk by
// chunk: a large artifact never sits whole in memory.
import { toHex } from '../hex.js'
import { join } from '../paths.js'
import type { Crypto, FileSystem, WritableFile } from '../ports.js'
import { CHUNK_SIZE, MANIFEST_VERSION, chunkCount, decodeManifest, encodeManifest, manifestHash, type Manifest } from './manifest.js'
import type { Source } from './source.js'

const MANIFEST_FILE = 'manifest.json'
const TMP_DIR = 'tmp'

export interface ArtifactStoreOptions {
  fs: FileSystem
  crypto: Crypto
  /** <dataDir>/artifacts */
  dir: string
}

export class ArtifactStore {
  constructor (private readonly o: ArtifactStoreOptions) {}

  /** Drops what a crash left half assembled. */
  async open (): Promise<void> {
    await this.o.fs.remove(join(this.o.dir, TMP_DIR))
    await this.o.fs.mkdirp(join(this.o.dir, TMP_DIR))
  }

  async manifest (hash: string): Promise<Manifest | null> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return null
    const bytes = await this.o.fs.read(join(this.o.dir, hash, MANIFEST_FILE))
    return bytes === null ? null : decodeManifest(bytes)
  }

  /** Copies a step's files in, hashing each chunk as it goes; what was copied is what is hashed. */
  async importSource (source: Source): Promise<{ hash: string, manifest: Manifest }> {
    const incoming = await this.begin()
    try {
      const files = []
      for (const [index, file] of source.files.entries()) {
        const chunks: string[] = []
        const size = await copyChunks(this.o.fs, file.from, join(incoming.dir, String(index)), file.size, chunk => { chunks.push(toHex(this.o.crypto.sha256(chunk))) })
        files.push({ path: file.path, mode: file.mode, size, chunks })
      }
      const manifest: Manifest = { version: MANIFEST_VERSION, chunkSize: CHUNK_SIZE, directory: source.directory, files }
      const hash = manifestHash(this.o.crypto, manifest)
      await incoming.commit(hash, manifest)
      return { hash, manifest }
    } finally {
      await incoming.abandon()
    }
  }

  /** A place to write an artifact fetched from a member, chunk by chunk, before it is committed whole. */
  async begin (): Promise<Incoming> {
    const dir = join(this.o.dir, TMP_DIR, toHex(this.o.crypto.randomBytes(8)))
    await this.o.fs.mkdirp(dir)
    return new Incoming(this.o.fs, dir, this.o.dir)
  }

  async readChunk (hash: string, file: number, chunk: number): Promise<Uint8Array> {
    const f = await this.o.fs.openRead(join(this.o.dir, hash, String(file)))
    try {
      return await f.read(chunk * CHUNK_SIZE, CHUNK_SIZE)
    } finally {
      await f.close()
    }
  }

  /** Copies a held artifact to `target` (its files under it for a directory), with their modes. */
  async copyOut (hash: string, manifest: Manifest, target: string): Promise<void> {
    const fs = this.o.fs
    // In the step's (or person's) own directory: made as any tool would make it, not private like the data dir.
    if (manifest.directory) await fs.mkdirp(target, 0o755)
    for (const [index, file] of manifest.files.entries()) {
      const to = file.path === '' ? target : join(target, file.path)
      const parent = to.slice(0, to.lastIndexOf('/'))
      if (parent !== '') await fs.mkdirp(parent, 0o755)
      // Into a temp name first: a step never sees a file half copied under its real name.
      const tmp = `${to}.se-${toHex(this.o.crypto.randomBytes(4))}.tmp`
      try {
        await copyChunks(fs, join(this.o.dir, hash, String(index)), tmp, file.size)
        await fs.chmod(tmp, file.mode)
        await fs.rename(tmp, to)
      } catch (err) {
        await fs.remove(tmp).catch(() => {})
        throw err
      }
    }
  }
}

/** An artifact being assembled in tmp/: its files by index, then its manifest, then renamed to its hash. */
export class Incoming {
  /** Promises, so chunks of one file that arrive together open it once. */
  private readonly open = new Map<number, Promise<WritableFile>>()

  constructor (private readonly fs: FileSystem, readonly dir: string, private readonly storeDir: string) {}

  async write (file: number, position: number, data: Uint8Array): Promise<void> {
    await (await this.handle(file)).write(position, data)
  }

  /** A file is complete: made durable and closed, so no more than a few are open at once. (An empty one is created here.) */
  async done (file: number): Promise<void> {
    const f = await this.handle(file)
    this.open.delete(file)
    await f.sync()
    await f.close()
  }

  private async handle (file: number): Promise<WritableFile> {
    let f = this.open.get(file)
    if (f === undefined) {
      f = this.fs.openWrite(join(this.dir, String(file)))
      this.open.set(file, f)
    }
    return await f
  }

  /** Writes the manifest and renames the whole into place; a copy already there (same hash, same bytes) stays. */
  async commit (hash: string, manifest: Manifest): Promise<void> {
    for (const file of [...this.open.keys()]) await this.done(file)
    await this.fs.writeAtomic(join(this.dir, MANIFEST_FILE), encodeManifest(manifest))
    const final = join(this.storeDir, hash)
    if (await this.fs.read(join(final, MANIFEST_FILE)) !== null) return
    await this.fs.remove(final)
    await this.fs.rename(this.dir, final)
  }

  /** Removes what is left (everything, unless it was committed). */
  async abandon (): Promise<void> {
    for (const f of this.open.values()) await f.then(async h => await h.close()).catch(() => {})
    this.open.clear()
    await this.fs.remove(this.dir)
  }
}

/** Copies `size` bytes chunk by chunk, each seen by `each` before it is written; the copy is synced. Says how many it copied. */
export async function copyChunks (fs: FileSystem, from: string, to: string, size: number, each?: (chunk: Uint8Array) => void): Promise<number> {
  let copied = 0
  const src = await fs.openRead(from)
  try {
    const dst = await fs.openWrite(to)
    try {
      for (let i = 0; i < chunkCount(size); i++) {
        const chunk = await src.read(i * CHUNK_SIZE, CHUNK_SIZE)
        // The file changed under us (shorter than its size said): what was read is what is hashed and kept.
        if (chunk.byteLength === 0) break
        each?.(chunk)
        await dst.write(i * CHUNK_SIZE, chunk)
        copied += chunk.byteLength
        if (chunk.byteLength < CHUNK_SIZE) break
      }
      await dst.sync()
      return copied
    } finally {
      await dst.close()
    }
  } finally {
    await src.close()
  }
}
