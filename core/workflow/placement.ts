// Where a step runs, as the engine is told it: here, on a member, or nowhere yet.
// "Nowhere" is an answer, not an error: the workflow waits, visibly, for a node
// that can run the step (the router alone words why).
import type { ProcessHandle, ProcessSpec } from '../ports.js'
import type { WorkflowRun } from './run.js'

/** A node other than this one that a step is sent to. */
export interface Placement {
  nodeId: string
  name: string
  run (spec: ProcessSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle
}

export type PlacementDecision =
  | { where: 'here' }
  | { where: 'member', placement: Placement }
  | { where: 'nowhere', reason: string }

export interface StepPlacement {
  /** Decided once per step run, by the one router of the node. */
  place (run: WorkflowRun, index: number): PlacementDecision
}

export const HERE: PlacementDecision = Object.freeze({ where: 'here' })
