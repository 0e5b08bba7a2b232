// After a crash, a workflow's file and its trail can disagree by one transition: the
// two are written side by side, and the trail's entry may be on disk while the file's
// new state is not. What the trail says happened, happened (a step the trail says
// completed stays completed), so the run read from its file is brought up to it
// before the restart rules apply.
import type { AuditRecord } from '../protocol/types.js'
import { currentStepIndex, isFinished, type StepRun, type WorkflowRun } from './run.js'

const DONE = new Set(['step_complete', 'step_exec_complete'])
const FAILED = new Set(['step_failed', 'step_exec_failed'])

/**
 * Applies to `run` what its trail (`records`, in trail order, any workflow) recorded
 * after its file was written. Says what it changed, or null when the two agree.
 */
export function reconcileWithTrail (run: WorkflowRun, records: AuditRecord[]): string | null {
  if (isFinished(run)) return null
  const own = records.filter(r => r.entry.workflowId === run.id)
  const index = currentStepIndex(run)
  const step = run.steps[index]
  if (step === undefined || step.state !== 'running') return null
  const started = lastIndexWhere(own, r => r.entry.event === 'step_start' && r.entry.workflowStep === step.id)
  // A result of this attempt: the executor's entry says which attempt it answers.
  if (started === -1) return null
  const after = own.slice(started + 1)
  const result = after[lastIndexWhere(after, r =>
    r.entry.workflowStep === step.id &&
    (DONE.has(r.entry.event) || FAILED.has(r.entry.event)) &&
    // The executor ended it because this node stopped or went away: no result, the restart rules apply.
    r.entry.performanceMetrics.stoppedByRequester === undefined &&
    (r.entry.performanceMetrics.attempts ?? step.attempts) === step.attempts)]
  return result === undefined ? null : applyResult(step, result)
}

function applyResult (step: StepRun, record: AuditRecord): string {
  const metrics = record.entry.performanceMetrics
  step.endedAt = record.entry.timestamp
  step.durationMs = metrics.durationMs ?? (step.startedAt === null ? null : record.entry.timestamp - step.startedAt)
  step.exitCode = metrics.exitCode ?? null
  const where = record.entry.event.startsWith('step_exec') ? ` on node ${record.entry.sourceNodeId.slice(0, 12)}` : ''
  if (DONE.has(record.entry.event)) {
    step.state = 'completed'
    step.exitCode ??= 0
    step.error = null
    return `step ${step.id} completed${where} before the restart (trail entry ${record.seq}); its output was not kept`
  }
  step.state = 'failed'
  step.error = `failed${where} before the restart: ${record.entry.message}`
  return `step ${step.id} failed${where} before the restart (trail entry ${record.seq})`
}

function lastIndexWhere<T> (list: T[], test: (item: T) => boolean): number {
  for (let i = list.length - 1; i >= 0; i--) if (test(list[i] as T)) return i
  return -1
}
