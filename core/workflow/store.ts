// One file per workflow run, replaced atomically, so a crash at any instant leaves
// either the state before or the state after. The engine writes it for what the audit
// trail cannot rebuild, and lazily otherwise (engine.ts, reconcile.ts).
import b4a from 'b4a'
import { join } from '../paths.js'
import type { FileSystem } from '../ports.js'
import { isFinished, type WorkflowRun } from './run.js'

const SUFFIX = '.json'

export interface LoadResult {
  runs: WorkflowRun[]
  /** Files that could not be read as a run, left in place for a person to look at. */
  unreadable: Array<{ file: string, reason: string }>
}

export class WorkflowStore {
  // Saves of one run are chained so a later state can never be overtaken by an earlier one.
  private readonly chains = new Map<string, Promise<void>>()
  /**
   * What is on disk for each unfinished run (its bytes, parsed on first look): while the
   * run in memory is ahead of its file, readers are shown this, never a state that a
   * crash could take back.
   */
  private readonly onDisk = new Map<string, string | WorkflowRun>()

  constructor (private readonly fs: FileSystem, readonly dir: string) {}

  async open (): Promise<void> {
    await this.fs.mkdirp(this.dir)
  }

  fileOf (id: string): string {
    return join(this.dir, id + SUFFIX)
  }

  /** Writes the run as it is now (its bytes are taken at the call). */
  save (run: WorkflowRun): Promise<void> {
    const bytes = JSON.stringify(run)
    const finished = isFinished(run)
    const previous = this.chains.get(run.id) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(async () => {
      await this.fs.writeAtomic(this.fileOf(run.id), bytes)
      if (finished) this.onDisk.delete(run.id)
      else this.onDisk.set(run.id, bytes)
    })
    this.chains.set(run.id, next)
    void next.finally(() => { if (this.chains.get(run.id) === next) this.chains.delete(run.id) }).catch(() => {})
    return next
  }

  /** The run as its file has it, for a run whose last save has not (yet) succeeded; undefined when none has. */
  saved (id: string): WorkflowRun | undefined {
    const held = this.onDisk.get(id)
    if (typeof held !== 'string') return held
    const run = JSON.parse(held) as WorkflowRun
    this.onDisk.set(id, run)
    return run
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
        if (!isFinished(run)) this.onDisk.set(run.id, b4a.toString(bytes, 'utf8'))
      } catch (err) {
        result.unreadable.push({ file, reason: (err as Error).message })
      }
    }
    return result
  }
}
