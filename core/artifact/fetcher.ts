// Fetching one artifact from one member that holds it: its manifest (checked
// against the hash the record names), then its chunks, a few in flight at once,
// each checked against its SHA-256 as it arrives and written at its offset in
// the store's incoming copy. A chunk that fails its check is refused and asked
// for again; one that fails every time fails the fetch, naming it.
import { SeError } from '../errors.js'
import { toHex } from '../hex.js'
import type { Crypto, Logger } from '../ports.js'
import type { ArtifactRecord } from '../protocol/types.js'
import type { ArtifactLink } from './link.js'
import { CHUNK_SIZE, decodeManifest, manifestHash, type Manifest } from './manifest.js'
import type { ArtifactStore } from './store.js'
import { KIND } from './wire.js'

/** Chunks asked for before the first has come back: enough to keep the connection busy, few enough to bound memory (× CHUNK_SIZE). */
export const CHUNKS_IN_FLIGHT = 8
/** How often one chunk is asked for before the fetch fails. */
export const CHUNK_ATTEMPTS = 3

export interface FetchDeps {
  store: ArtifactStore
  crypto: Crypto
  log: Logger
}

export async function fetchArtifact (d: FetchDeps, link: ArtifactLink, record: ArtifactRecord, grant: string): Promise<Manifest> {
  const { hash, name } = record
  const reply = await link.request(KIND.MANIFEST_REQUEST, { workflowId: record.workflowId, hash, grant })
  const manifest = decodeManifest(reply.payload)
  if (manifest === null || manifestHash(d.crypto, manifest) !== hash) throw SeError.artifactManifestCorrupt(name, hash, link.nodeId)
  const tasks = manifest.files.flatMap((f, file) => f.chunks.map((_, chunk) => ({ file, chunk })))
  const left = manifest.files.map(f => f.chunks.length)
  const incoming = await d.store.begin()
  try {
    // Empty files have no chunk to wait for.
    for (const [file, n] of left.entries()) if (n === 0) await incoming.done(file)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < tasks.length) {
        const { file, chunk } = tasks[next++] as { file: number, chunk: number }
        const data = await fetchChunk(d, link, record, manifest, file, chunk)
        await incoming.write(file, chunk * CHUNK_SIZE, data)
        if (--(left[file] as number) === 0) await incoming.done(file)
      }
    }
    await Promise.all(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, tasks.length) }, worker))
    await incoming.commit(hash, manifest)
    return manifest
  } finally {
    await incoming.abandon()
  }
}

async function fetchChunk (d: FetchDeps, link: ArtifactLink, record: ArtifactRecord, manifest: Manifest, file: number, chunk: number): Promise<Uint8Array> {
  const entry = manifest.files[file] as Manifest['files'][number]
  const want = entry.chunks[chunk] as string
  for (let attempt = 1; ; attempt++) {
    const reply = await link.request(KIND.CHUNK_REQUEST, { hash: record.hash, file, chunk })
    if (toHex(d.crypto.sha256(reply.payload)) === want) return reply.payload
    d.log.warn(`artifact ${record.name} (${record.hash.slice(0, 12)}): chunk ${chunk} of ${entry.path === '' ? 'its file' : entry.path} from ${link.nodeId.slice(0, 12)} failed verification (attempt ${attempt} of ${CHUNK_ATTEMPTS}); refused`)
    if (attempt >= CHUNK_ATTEMPTS) throw SeError.artifactChunkCorrupt(record.name, record.hash, entry.path, chunk, link.nodeId, attempt)
  }
}
