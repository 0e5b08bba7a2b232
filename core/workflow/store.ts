// One file per workflow run, replaced atomically on every transition, so a crash
// at any instant leaves either the state before or the state after.
import b4a from 'b4a'
import { join } from '../paths.js'
import type { FileSystem } from '../ports.js'
import type { WorkflowRun } from './run.js'

const SUFFIX = '.json'

export interface LoadResult {
  runs: WorkflowRun[]
  /** Files that could not be read as a run, left in place for a person to look at. */
  unreadable: Array<{ file: string, reason: string }>
}

export class WorkflowStore {
  // Saves of one run are chained so a later state can never be overtaken by an earlier one.
  private readonly chains = new Map<string, Promise<void>>()

  constructor (private readonly fs: FileSystem, readonly dir: string) {}

  async open (): Promise<void> {
    await this.fs.mkdirp(this.dir)
  }

  fileOf (id: string): string {
    return join(this.dir, id + SUFFIX)
  }

  save (run: WorkflowRun): Promise<void> {
    run.revision++
    const bytes = JSON.stringify(run)
    const previous = this.chains.get(run.id) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(() => this.fs.writeAtomic(this.fileOf(run.id), bytes))
    this.chains.set(run.id, next)
    void next.finally(() => { if (this.chains.get(run.id) === next) this.chains.delete(run.id) }).catch(() => {})
    return next
  }

  async loadAll (): Promise<LoadResult> {
    const result: LoadResult = { runs: [], unreadable: [] }
    for (const name of (await this.fs.list(this.dir)).sort()) {
      if (!name.endsWith(SUFFIX)) continue
      const file = join(this.dir, name)
      try {
        const bytes = await this.fs.read(file)
        if (bytes === null) continue
        const run = JSON.parse(b4a.toString(bytes, 'utf8')) as WorkflowRun
        if (typeof run.id !== 'string' || !Array.isArray(run.steps)) throw new Error('not a workflow run record')
        result.runs.push(run)
      } catch (err) {
        result.unreadable.push({ file, reason: (err as Error).message })
      }
    }
    return result
  }
}
