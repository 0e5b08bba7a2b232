// Where a step runs, as the engine is told it: here, on a member, or nowhere yet.
// "Nowhere" is an answer, not an error: the workflow waits, visibly, for a node
// that can run the step (the router alone words why).
import type { ProcessHandle, ProcessResult, ProcessSpec } from '../ports.js'
import type { ArtifactPublish, ArtifactRecord, ArtifactUse } from '../protocol/types.js'
import type { StepRun, WorkflowRun } from './run.js'

/** What a step takes beyond its process: artifacts placed before it, artifacts and outputs it leaves. */
export interface StepFilesRequest {
  uses: ArtifactUse[]
  publish: ArtifactPublish[]
  /** Give it a $SE_OUTPUT file and read it back. */
  outputs: boolean
}

/** A step's process result, with what it published and wrote to $SE_OUTPUT. */
export interface StepResult extends ProcessResult {
  outputs?: Record<string, string>
  artifacts?: ArtifactRecord[]
}

export interface StepHandle extends ProcessHandle {
  readonly result: Promise<StepResult>
}

/** A node other than this one that a step is sent to. */
export interface Placement {
  nodeId: string
  name: string
  run (spec: ProcessSpec, files: StepFilesRequest, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): StepHandle
}

export type PlacementDecision =
  | { where: 'here' }
  | { where: 'member', placement: Placement }
  | { where: 'nowhere', reason: string }

export interface StepPlacement {
  /** Decided once per step run, by the one router of the node; `busy` counts the workflow's running entries per node. */
  place (run: WorkflowRun, entry: StepRun, busy?: ReadonlyMap<string, number>): PlacementDecision
  /** Whether a node (this one or a member) can be reached now: an artifact it holds can be fetched. */
  reachable? (nodeId: string): boolean
}

export const HERE: PlacementDecision = Object.freeze({ where: 'here' })
