// Which artifacts this node holds for each workflow, and who asked for that
// workflow (its requester): the node that serves an artifact checks an asker
// against it. One small file per workflow, replaced atomically.
import b4a from 'b4a'
import { toHex } from '../hex.js'
import { join } from '../paths.js'
import type { Crypto, FileSystem } from '../ports.js'
import type { ArtifactRecord } from '../protocol/types.js'

export interface WorkflowArtifacts {
  workflowId: string
  /** The node that sent the workflow's steps (this node itself for its own). */
  requesterId: string
  records: ArtifactRecord[]
}

export class ArtifactIndex {
  /** One write at a time per workflow, so two steps publishing at once both stay recorded. */
  private readonly writing = new Map<string, Promise<unknown>>()

  constructor (private readonly fs: FileSystem, private readonly crypto: Crypto, private readonly dir: string) {}

  async get (workflowId: string): Promise<WorkflowArtifacts | null> {
    const bytes = await this.fs.read(this.file(workflowId))
    if (bytes === null) return null
    try {
      const held = JSON.parse(b4a.toString(bytes, 'utf8')) as WorkflowArtifacts
      return held.workflowId === workflowId ? held : null
    } catch {
      return null
    }
  }

  /** Adds (or replaces, by name and hash) a record this node now holds. */
  async remember (workflowId: string, requesterId: string, record: ArtifactRecord): Promise<void> {
    const previous = this.writing.get(workflowId) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(async () => {
      const held = await this.get(workflowId) ?? { workflowId, requesterId, records: [] }
      held.records = [...held.records.filter(r => r.name !== record.name || r.hash !== record.hash), record]
      await this.fs.mkdirp(this.dir)
      await this.fs.writeAtomic(this.file(workflowId), JSON.stringify(held))
    })
    this.writing.set(workflowId, next)
    try {
      await next
    } finally {
      if (this.writing.get(workflowId) === next) this.writing.delete(workflowId)
    }
  }

  /** Workflow ids come from members: hashed into a file name, so none can name a path. */
  private file (workflowId: string): string {
    return join(this.dir, `${toHex(this.crypto.sha256(b4a.from(workflowId))).slice(0, 32)}.json`)
  }
}
