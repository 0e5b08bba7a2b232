// A node's artifacts, composed once per node (core/node/compose.ts): what its
// steps publish, placing an artifact for a step (fetched from a member that
// holds it when this node does not), grants for other nodes, and serving its
// artifacts to members over each connection's artifact channel.
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { Crypto, FileSystem, Logger, MessageChannel } from '../ports.js'
import type { AuditInput } from '../audit/log.js'
import type { ArtifactRecord, ArtifactUse } from '../protocol/types.js'
import { ArtifactIndex } from './artifact-index.js'
import { fetchArtifact } from './fetcher.js'
import { signGrant } from './grant.js'
import { ArtifactLink } from './link.js'
import { totalSize, type Manifest } from './manifest.js'
import { serveMember } from './server.js'
import { parseSize } from './size.js'
import { findSource } from './source.js'
import { ArtifactStore } from './store.js'

/** An artifact may hold this much unless SE_ARTIFACT_MAX says otherwise. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 10 * 2 ** 30
/** A member that sends nothing back for this long is given up on. */
export const ARTIFACT_REPLY_TIMEOUT_MS = 30_000

export interface ArtifactServiceOptions {
  fs: FileSystem
  crypto: Crypto
  log: Logger
  dataDir: string
  nodeId: string
  /** This node's ed25519 secret key, to sign grants. */
  secretKey: Uint8Array
  /** The node's environment: SE_ARTIFACT_MAX, and the test fault SE_TEST_CORRUPT_ARTIFACT_CHUNKS. */
  env: (name: string) => string | undefined
  audit: (input: AuditInput) => void
  /** How people know a member: `name (key)`. */
  memberName?: (nodeId: string) => string
  /** Opens a connection to a holder this node holds none to, kept open until the returned release is called. */
  reach?: (nodeId: string) => Promise<() => void>
  replyTimeoutMs?: number
  /** How long to go on trying holders that could not be reached (ARTIFACT_REACH_WINDOW_MS). */
  reachWindowMs?: number
  /** True for a holder the mesh lists as down or gone: no reason to dial it again. */
  holderGone?: (nodeId: string) => boolean
}

export interface PublishRequest {
  workflowId: string
  /** The node the step ran for: this node for its own steps, else the member that sent it. */
  requesterId: string
  stepId: string
  cwd: string
  name: string
  path: string
}

export interface PlaceRequest {
  workflowId: string
  requesterId: string
  cwd: string
  use: ArtifactUse
}

export class ArtifactService {
  private readonly store: ArtifactStore
  private readonly index: ArtifactIndex
  private readonly links = new Map<string, ArtifactLink>()
  /** One fetch per artifact at a time: two steps placing it wait for the same one. */
  private readonly fetching = new Map<string, Promise<Manifest>>()
  private readonly faults: { corruptChunks: number }
  readonly maxBytes: number

  constructor (private readonly o: ArtifactServiceOptions) {
    const dir = join(o.dataDir, 'artifacts')
    this.store = new ArtifactStore({ fs: o.fs, crypto: o.crypto, dir })
    this.index = new ArtifactIndex(o.fs, o.crypto, join(dir, 'workflows'))
    const max = o.env('SE_ARTIFACT_MAX')
    this.maxBytes = max === undefined || max === '' ? DEFAULT_ARTIFACT_MAX_BYTES : parseSize(max)
    this.faults = { corruptChunks: Number(o.env('SE_TEST_CORRUPT_ARTIFACT_CHUNKS') ?? 0) || 0 }
    if (this.faults.corruptChunks > 0) o.log.warn(`TEST FAULT: SE_TEST_CORRUPT_ARTIFACT_CHUNKS=${this.faults.corruptChunks}: the next artifact chunks this node serves are corrupted on purpose`)
  }

  async open (): Promise<void> {
    await this.store.open()
  }

  get nodeId (): string { return this.o.nodeId }

  /** Publishes PATH of a step's working directory (after the step succeeded); the record names this node as its holder. */
  async publish (req: PublishRequest): Promise<ArtifactRecord> {
    const source = await findSource(this.o.fs, { name: req.name, path: req.path, cwd: req.cwd, maxBytes: this.maxBytes })
    let stored
    try {
      stored = await this.store.importSource(source)
    } catch (err) {
      throw err instanceof SeError ? err : SeError.artifactWriteFailed(req.name, join(this.o.dataDir, 'artifacts'), err)
    }
    const record: ArtifactRecord = {
      name: req.name,
      workflowId: req.workflowId,
      step: req.stepId,
      path: req.path,
      hash: stored.hash,
      size: totalSize(stored.manifest),
      files: stored.manifest.files.length,
      directory: stored.manifest.directory,
      nodes: [this.o.nodeId]
    }
    await this.index.remember(req.workflowId, req.requesterId, record)
    return record
  }

  /**
   * Puts an artifact at cwd/record.path, fetching it first from the nodes that hold it (in the
   * record's order, those connected) when this node does not. The record returned names this
   * node among its holders.
   */
  async place (req: PlaceRequest): Promise<ArtifactRecord> {
    const { artifact, grant } = req.use
    const manifest = await this.obtain(artifact, grant)
    const target = join(req.cwd, artifact.path)
    try {
      await this.store.copyOut(artifact.hash, manifest, target)
    } catch (err) {
      throw SeError.artifactWriteFailed(artifact.name, target, err)
    }
    const record = { ...artifact, nodes: artifact.nodes.includes(this.o.nodeId) ? artifact.nodes : [...artifact.nodes, this.o.nodeId] }
    await this.index.remember(artifact.workflowId, req.requesterId, record)
    return record
  }

  /** For `se artifacts get`: the artifact at dir/record.path; `grant` when this node is not the workflow's requester. Says where. */
  async fetchInto (record: ArtifactRecord, dir: string, grant = ''): Promise<string> {
    const manifest = await this.obtain(record, grant)
    const target = join(dir, record.path)
    await this.store.copyOut(record.hash, manifest, target)
    return target
  }

  /** Makes this node hold an artifact (fetched if it does not yet), without placing it anywhere. */
  async fetch (record: ArtifactRecord, grant = ''): Promise<void> {
    await this.obtain(record, grant)
  }

  /** This node, as a workflow's requester, lets `granteeNodeId` fetch one of its artifacts: the hex for ArtifactUse.grant. */
  grant (workflowId: string, hash: string, granteeNodeId: string): string {
    return signGrant(this.o.crypto, this.o.secretKey, workflowId, hash, granteeNodeId)
  }

  /** The records of a workflow's artifacts this node holds. */
  async list (workflowId: string): Promise<ArtifactRecord[]> {
    return (await this.index.get(workflowId))?.records ?? []
  }

  /** A member's artifact channel, once the mesh has proved who it is; the newest connection to a member is the one used. */
  attach (nodeId: string, channel: MessageChannel, onClose: (listener: () => void) => void): void {
    const serve = serveMember({ store: this.store, index: this.index, crypto: this.o.crypto, audit: this.o.audit, memberName: this.o.memberName ?? (id => id.slice(0, 12)), faults: this.faults }, nodeId)
    const link = new ArtifactLink(nodeId, channel, serve, this.o.replyTimeoutMs ?? ARTIFACT_REPLY_TIMEOUT_MS)
    this.links.get(nodeId)?.close()
    this.links.set(nodeId, link)
    onClose(() => {
      link.close()
      if (this.links.get(nodeId) === link) this.links.delete(nodeId)
    })
  }

  /** The artifact's manifest, its files in the store: already here, or fetched now. */
  private async obtain (record: ArtifactRecord, grant: string): Promise<Manifest> {
    const held = await this.store.manifest(record.hash)
    if (held !== null) return held
    let pending = this.fetching.get(record.hash)
    if (pending === undefined) {
      pending = this.fetchFromHolders(record, grant).finally(() => this.fetching.delete(record.hash))
      this.fetching.set(record.hash, pending)
    }
    return await pending
  }

  /**
   * Tries the holders in the record's order, round after round while every failure was one of
   * reaching them (no connection yet, a dial not answered in time, a connection that dropped):
   * a loaded member or a link being replaced is no reason to fail a step. Anything else a holder
   * says (refused, corrupt, not held) ends it at once, and so do holders the mesh lists as down.
   */
  private async fetchFromHolders (record: ArtifactRecord, grant: string): Promise<Manifest> {
    const windowMs = this.o.reachWindowMs ?? ARTIFACT_REACH_WINDOW_MS
    const started = Date.now()
    let pauseMs = FIRST_PAUSE_MS
    for (;;) {
      const round = await this.fetchRound(record, grant)
      if ('manifest' in round) return round.manifest
      const { tried, last, answered } = round
      const unreached = tried.length === 0 || isUnreached(last)
      const worthWaiting = record.nodes.some(id => id !== this.o.nodeId && this.o.holderGone?.(id) !== true)
      if (!unreached || !worthWaiting || this.o.reach === undefined || Date.now() - started + pauseMs > windowMs) {
        // One holder answered: its own error says best what went wrong (refused, which chunk was corrupt).
        if (tried.length === 1 && answered && !unreached) throw last
        throw SeError.artifactUnreachable(record.name, record.hash, tried, last)
      }
      this.o.log.info(`artifact ${record.name} (${record.hash.slice(0, 12)}): no holder reached yet; trying again in ${pauseMs} ms`)
      await new Promise(resolve => setTimeout(resolve, pauseMs))
      pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS)
    }
  }

  /** One pass over the holders: the manifest of the first that gave it, or who was tried and the last failure (`answered`: a holder's, not a dial's). */
  private async fetchRound (record: ArtifactRecord, grant: string): Promise<{ manifest: Manifest } | { tried: string[], last: unknown, answered: boolean }> {
    const tried: string[] = []
    let last: unknown
    let answered = false
    for (const nodeId of record.nodes) {
      if (nodeId === this.o.nodeId) continue
      let link = this.links.get(nodeId)
      let release = (): void => {}
      // Most holders in a large mesh are no neighbours of this node: a connection is opened for the fetch.
      if ((link === undefined || link.isClosed) && this.o.reach !== undefined) {
        try {
          release = await this.o.reach(nodeId)
        } catch (err) {
          tried.push(nodeId)
          last = err
          answered = false
          continue
        }
        link = this.links.get(nodeId)
      }
      if (link === undefined || link.isClosed) { release(); continue }
      tried.push(nodeId)
      try {
        while (link !== undefined) {
          try {
            return { manifest: await fetchArtifact({ store: this.store, crypto: this.o.crypto, log: this.o.log }, link, record, grant) }
          } catch (err) {
            this.o.log.warn(`artifact ${record.name} (${record.hash.slice(0, 12)}) from ${nodeId.slice(0, 12)}: ${(err as Error).message}`)
            last = err
            answered = true
            // The connection it was on was replaced by a newer one to the same node (Hyperswarm keeps one of two duplicates): asked again there.
            const newer = this.links.get(nodeId)
            link = err instanceof SeError && err.code === 'CONNECTION_CLOSED' && newer !== link && newer?.isClosed === false ? newer : undefined
          }
        }
      } finally {
        release()
      }
    }
    return { tried, last, answered }
  }
}

/** A failure of reaching a holder, not of what it said: worth another round. */
function isUnreached (err: unknown): boolean {
  return err instanceof SeError && (err.code === 'CONNECTION_CLOSED' || err.code === 'TIMEOUT')
}

/** How long a fetch goes on trying to reach the nodes that hold an artifact (a dial is given 5 s each time). */
export const ARTIFACT_REACH_WINDOW_MS = 30_000
const FIRST_PAUSE_MS = 250
const MAX_PAUSE_MS = 2_000
