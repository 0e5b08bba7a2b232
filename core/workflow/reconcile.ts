// After a crash, a workflow's file can be behind its trail. The trail is the journal
// of a running workflow: a step's start and its silent completion are made durable by
// their trail entries alone (engine.ts), and the file is rewritten only for what the
// trail cannot rebuild (output, failures, questions, the end) or lazily. A file can
// also miss the one transition whose entries were durable when the crash came. What
// the trail says happened, happened (a step the trail says started is running, one it
// says completed stays completed), so the run read from its file is brought up to it,
// step after step, before the restart rules apply.
import type { AuditRecord } from '../protocol/types.js'
import { isFinished, type StepRun, type WorkflowRun } from './run.js'

const DONE = new Set(['step_complete', 'step_exec_complete'])
const FAILED = new Set(['step_failed', 'step_exec_failed'])
/** A completion the trail holds all of (the step printed nothing): counted, not told one by one. */
const EXACT = 'exact'

/**
 * Applies to `run` what its trail (`records`, in trail order, any workflow) recorded
 * after its file was written. Says what it changed, or null when the two agree.
 */
export function reconcileWithTrail (run: WorkflowRun, records: AuditRecord[]): string | null {
  if (isFinished(run)) return null
  const own = records.filter(r => r.entry.workflowId === run.id)
  if (own.length === 0) return null
  const notes: string[] = []
  let started = 0
  let completed = 0
  // Entry by entry, until nothing changes: a start counts only once what the entry needs is
  // done, so a failure read back stops its branch there, for onFailure to decide.
  const done = (id: string): boolean => { const s = run.steps.find(x => x.id === id); return s === undefined || s.state === 'completed' || s.state === 'skipped' }
  for (let changed = true; changed;) {
    changed = false
    for (const step of run.steps) {
      if (step.state === 'pending' && step.needs.every(done)) {
        // A start the file does not have: its attempt is the one after the file's.
        const start = own.find(r => r.entry.event === 'step_start' && r.entry.workflowStep === step.id && r.entry.performanceMetrics.attempts === step.attempts + 1)
        if (start === undefined) continue
        applyStart(run, step, start)
        started++
        changed = true
      }
      if (step.state !== 'running') continue
      const note = applyResultOf(step, own)
      if (note === null) continue
      changed = true
      if (note === EXACT) completed++
      else notes.push(note)
    }
  }
  if (started > 0 || completed > 0) {
    const running = run.steps.filter(s => s.state === 'running').map(s => s.id)
    notes.unshift(`the trail had ${started} step start${started === 1 ? '' : 's'} and ${completed} silent completion${completed === 1 ? '' : 's'} the file had not${running.length > 0 ? `; step ${running.join(', ')} ${running.length === 1 ? 'was' : 'were'} running` : ''}`)
  }
  return notes.length === 0 ? null : notes.join('; ')
}

/** The step is running, as its trail entry says (engine.ts runStep sets the same fields). */
function applyStart (run: WorkflowRun, step: StepRun, record: AuditRecord): void {
  run.state = 'running'
  run.error = null
  run.updatedAt = Math.max(run.updatedAt, record.entry.timestamp)
  step.state = 'running'
  step.attempts = record.entry.performanceMetrics.attempts as number
  step.startedAt = record.entry.timestamp
  step.endedAt = null
  step.node = run.node
  step.error = null
}

/** What the trail recorded of the step's current attempt, applied; null when nothing. */
function applyResultOf (step: StepRun, own: AuditRecord[]): string | null {
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
    // A step that printed nothing says so (outputBytes 0): the trail then holds all of it.
    if (metrics.outputBytes === 0) {
      step.stdout = ''
      step.stderr = ''
      return EXACT
    }
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
