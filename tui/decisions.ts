// Which of a person's decisions the dashboard sends at one key press and which
// ask y/n first: whatever ends or changes a workflow's course (reject, abort,
// any choice but the default, cancelling it) or removes a workload asks, so a
// stray key cannot abort a release (k9s asks before ctrl-d the same way).
import type { WorkflowStatus, WorkloadStatus } from '../core/protocol/types.js'

/** The question put to the person before a decision is sent. */
export interface Confirmation { question: string }

export interface Deletion extends Confirmation { kind: 'cancel' | 'remove', id: string }

const ENDED = new Set(['completed', 'failed', 'cancelled'])
const ENDING_CHOICES = new Set(['reject', 'abort'])

/** What one key decides without asking: approve when offered, else the first choice (as `se approve` does). */
export function defaultChoice (choices: string[]): string | null {
  return choices.includes('approve') ? 'approve' : choices[0] ?? null
}

export function confirmChoice (p: { workflowName: string, workflowId: string, stepId: string, choices: string[] }, choice: string): Confirmation | null {
  if (choice === defaultChoice(p.choices) && !ENDING_CHOICES.has(choice)) return null
  return { question: `${choice} ${p.workflowName} ${p.workflowId} at step ${p.stepId}? (y/n)` }
}

export function cancelWorkflow (w: WorkflowStatus | null): Deletion | { error: string } {
  if (w === null) return { error: 'no workflow selected: tab to the workflows pane and pick one with j/k' }
  if (ENDED.has(w.state)) return { error: `${w.name} ${w.id} has already ${w.state === 'cancelled' ? 'been cancelled' : w.state}; nothing to cancel` }
  return { kind: 'cancel', id: w.id, question: `cancel workflow ${w.name} ${w.id} (${w.state})? (y/n)` }
}

export function removeWorkload (w: WorkloadStatus | null): Deletion | { error: string } {
  if (w === null) return { error: 'no workload selected: tab to the workloads pane and pick one with j/k' }
  return { kind: 'remove', id: w.id, question: `remove workload ${w.id} on ${w.nodeName} (${w.state})? (y/n)` }
}
