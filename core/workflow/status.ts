// The protocol's view of a run: what `se status` and every client sees.
import type { InterventionRequest, StepStatus, WorkflowStatus } from '../protocol/types.js'
import { currentStepIndex, type PendingIntervention, type WorkflowRun } from './run.js'

export function toStatus (run: WorkflowRun): WorkflowStatus {
  const current = currentStepIndex(run)
  return {
    id: run.id,
    name: run.name,
    state: run.state,
    source: run.source,
    node: run.node,
    requestedBy: run.requestedBy,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    currentStep: current === -1 ? null : (run.steps[current]?.id ?? null),
    error: run.error,
    inputs: { ...run.inputs },
    steps: run.steps.map((s): StepStatus => ({
      id: s.id,
      kind: s.kind,
      state: s.state,
      attempts: s.attempts,
      exitCode: s.exitCode,
      node: s.node,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      durationMs: s.durationMs,
      stdout: s.stdout,
      stderr: s.stderr,
      error: s.error,
      choice: s.choice,
      comment: s.comment,
      step: s.step,
      needs: [...s.needs],
      instance: { ...s.instance },
      outputs: { ...s.outputs },
      artifacts: s.artifacts.map(a => ({ ...a, nodes: [...a.nodes] })),
      uses: [...s.uses],
      retryAt: s.retryAt
    })),
    intervention: run.intervention === null ? null : interventionRequest(run.intervention),
    interventions: (run.interventions ?? []).map(interventionRequest)
  }
}

function interventionRequest (i: PendingIntervention): InterventionRequest {
  return { ...i, choices: [...i.choices], approvers: [...i.approvers ?? []], quorum: i.quorum ?? 1, approvals: (i.approvals ?? []).map(a => ({ ...a })) }
}
