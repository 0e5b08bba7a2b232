// What happens around a step, wherever it runs (the engine for its own steps,
// the step server for steps routed from a member): before it, the artifacts it
// uses are placed in its working directory and its $SE_OUTPUT file is made;
// after it, the outputs it wrote are read back and, if it succeeded, what it
// publishes is published. Both callers use this one place, so a step meets the
// same rules on every node.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { FileSystem } from '../ports.js'
import type { ArtifactPublish, ArtifactRecord, ArtifactUse } from '../protocol/types.js'
import { MAX_OUTPUT_BYTES, parseOutputs } from './outputs.js'
import type { ArtifactService } from './service.js'
import { showSize } from './size.js'

export interface StepFilesOptions {
  artifacts: ArtifactService
  fs: FileSystem
  dataDir: string
}

export interface StepIdentity {
  workflowId: string
  /** The node the step runs for: this node for its own steps, else the member that sent it. */
  requesterId: string
  stepId: string
  attempt: number
  /** The step's working directory on this node. */
  cwd: string
}

export interface PrepareRequest extends StepIdentity {
  uses: ArtifactUse[]
  /** Give the step a $SE_OUTPUT file. */
  outputs: boolean
}

export interface Prepared {
  /** To add to the step's environment: SE_OUTPUT when outputs were asked for. */
  env: Record<string, string>
  /** The artifacts placed, each naming this node among its holders now. */
  placed: ArtifactRecord[]
}

export interface FinishRequest extends StepIdentity {
  publish: ArtifactPublish[]
  outputs: boolean
  /** Published only when the step succeeded. */
  succeeded: boolean
}

export interface Finished {
  outputs: Record<string, string>
  artifacts: ArtifactRecord[]
}

export class StepFiles {
  constructor (private readonly o: StepFilesOptions) {}

  /** Throws an SeError (the step's failure) when an artifact cannot be placed. */
  async prepare (req: PrepareRequest): Promise<Prepared> {
    const placed: ArtifactRecord[] = []
    for (const use of req.uses) placed.push(await this.o.artifacts.place({ workflowId: req.workflowId, requesterId: req.requesterId, cwd: req.cwd, use }))
    const env: Record<string, string> = {}
    if (req.outputs) {
      const file = this.outputFile(req)
      await this.o.fs.mkdirp(file.slice(0, file.lastIndexOf('/')))
      await this.o.fs.writeAtomic(file, '', { mode: 0o600 })
      env.SE_OUTPUT = file
    }
    return { env, placed }
  }

  /**
   * Reads the outputs back (the file is removed) and publishes, in order, if the step
   * succeeded. Throws an SeError (the step's failure) for outputs it cannot read or an
   * artifact it cannot publish.
   */
  async finish (req: FinishRequest): Promise<Finished> {
    const outputs = req.outputs ? await this.readOutputs(req) : {}
    const artifacts: ArtifactRecord[] = []
    if (req.succeeded) {
      for (const p of req.publish) artifacts.push(await this.o.artifacts.publish({ workflowId: req.workflowId, requesterId: req.requesterId, stepId: req.stepId, cwd: req.cwd, name: p.name, path: p.path }))
    }
    return { outputs, artifacts }
  }

  /** This node, as the workflow's requester, lets `granteeNodeId` fetch the artifact: the hex for ArtifactUse.grant. */
  grant (workflowId: string, hash: string, granteeNodeId: string): string {
    return this.o.artifacts.grant(workflowId, hash, granteeNodeId)
  }

  private async readOutputs (req: StepIdentity): Promise<Record<string, string>> {
    const fs = this.o.fs
    const file = this.outputFile(req)
    try {
      const info = await fs.lstat(file)
      if (info === null) return {}
      if (info.size > MAX_OUTPUT_BYTES) throw SeError.outputTooLarge(req.stepId, showSize(info.size), showSize(MAX_OUTPUT_BYTES))
      const bytes = await fs.read(file)
      return bytes === null ? {} : parseOutputs(req.stepId, b4a.toString(bytes, 'utf8'))
    } finally {
      await fs.remove(file)
    }
  }

  /** <dataDir>/outputs/<workflow>/<step>.<attempt>; ids come from members, so only safe characters make the path. */
  private outputFile (req: StepIdentity): string {
    return join(this.o.dataDir, 'outputs', safeName(req.workflowId), `${safeName(req.stepId)}.${req.attempt}`)
  }
}

function safeName (id: string): string {
  const s = id.replace(/[^A-Za-z0-9_-]/g, '_')
  return s === '' ? '_' : s
}
