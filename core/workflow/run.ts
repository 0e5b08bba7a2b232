// The persistent record of one workflow execution. Everything the engine knows
// about a workflow is in here, so a restart resumes from this record alone.
import type { WORKFLOW_STATES, STEP_STATES } from '../constants.js'
import type { StepStatus } from '../protocol/types.js'
import type { WorkflowDefinition } from './definition.js'
import type { StepKind } from './step-kind.js'

export type WorkflowState = typeof WORKFLOW_STATES[number]
export type StepState = typeof STEP_STATES[number]

export interface PendingIntervention {
  stepId: string
  prompt: string
  choices: string[]
  /** `step`: an intervention step; `failure`: a run step failed with onFailure: intervene. */
  reason: 'step' | 'failure'
  requestedAt: number
  /** Who must decide (roles of the node's policy or person:KEY); empty: whoever may approve here. Absent in records from before. */
  approvers?: string[]
  /** Distinct people who must agree; 1 when absent. */
  quorum?: number
  /** Signed approvals counted so far, one per person, while fewer than `quorum`. */
  approvals?: Approval[]
}

/** One person's signed agreement toward a quorum; the signed decision itself is in the trail. */
export interface Approval { person: string, name: string, choice: string, at: number }

/**
 * A step as the engine keeps it: the protocol's StepStatus (one declaration, in
 * core/protocol/schema.ts) with its kind and state narrowed, and who decided it.
 */
export interface StepRun extends Omit<StepStatus, 'kind' | 'state'> {
  kind: StepKind
  state: StepState
  decidedBy: string | null
}

export interface WorkflowRun {
  id: string
  name: string
  definition: WorkflowDefinition
  /** Where the definition came from: a file path or a catalogue name. */
  source: string
  /** The directory of the definition file, for ${workflow.dir}. */
  sourceDir: string
  inputs: Record<string, string>
  /** The caller's working directory: relative cwd values resolve against it. */
  workdir: string
  state: WorkflowState
  node: string
  /** The mesh node the workflow's steps run on when it is not this one (steps with their own `requires` may go elsewhere). */
  routedTo?: string | null
  requestedBy: string
  createdAt: number
  startedAt: number | null
  endedAt: number | null
  updatedAt: number
  error: string | null
  /** The first of `interventions`, as files and clients from before graphs know it. */
  intervention: PendingIntervention | null
  /** Every branch waiting for a person. */
  interventions: PendingIntervention[]
  /** The entries of the graph: a step, or an instance of a matrix step (graph.ts). */
  steps: StepRun[]
  /** Bumped on every persisted change; lets readers see they have the newest. */
  revision: number
}

export const TERMINAL_WORKFLOW_STATES: readonly WorkflowState[] = ['completed', 'failed', 'cancelled']
export const DONE_STEP_STATES: readonly StepState[] = ['completed', 'skipped']

export function isFinished (run: WorkflowRun): boolean {
  return TERMINAL_WORKFLOW_STATES.includes(run.state)
}

export function newStepRun (id: string, kind: StepKind): StepRun {
  return {
    id, kind, state: 'pending', attempts: 0, exitCode: null, node: null, startedAt: null, endedAt: null,
    durationMs: null, stdout: '', stderr: '', error: null, choice: null, comment: null, decidedBy: null,
    step: '', needs: [], instance: {}, outputs: {}, artifacts: [], uses: [], retryAt: null
  }
}

/** The step the workflow is at: the first one running or waiting, else the first not completed or skipped. */
export function currentStepIndex (run: WorkflowRun): number {
  const active = run.steps.findIndex(s => s.state === 'running' || s.state === 'waiting_intervention')
  return active !== -1 ? active : run.steps.findIndex(s => !DONE_STEP_STATES.includes(s.state))
}

export function isDone (step: StepRun): boolean {
  return DONE_STEP_STATES.includes(step.state)
}

/**
 * A run as files from before graphs hold it gains the fields graphs add: each step
 * follows the one before it, as it always did.
 */
export function normalizeRun (run: WorkflowRun): WorkflowRun {
  run.interventions ??= run.intervention === null ? [] : [run.intervention]
  run.steps.forEach((s, i) => {
    if (s.step === undefined || s.step === '') s.step = s.id
    s.needs ??= i === 0 ? [] : [run.steps[i - 1]?.id as string]
    s.instance ??= {}
    s.outputs ??= {}
    s.artifacts ??= []
    s.uses ??= []
    s.retryAt ??= null
  })
  return run
}

/** Keeps `intervention` the first of `interventions`. */
export function setInterventions (run: WorkflowRun, list: PendingIntervention[]): void {
  run.interventions = list
  run.intervention = list[0] ?? null
}
