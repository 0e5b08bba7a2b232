// Per-workflow figures drawn from the audit trail alone: what AUDIT_ANALYSIS reports.
import type { AuditRecord, WorkflowAuditSummary } from '../protocol/types.js'

const END_EVENTS: Record<string, string> = { workflow_complete: 'completed', workflow_failed: 'failed', workflow_cancelled: 'cancelled' }

export function summariseAudit (records: AuditRecord[], workflowId: string | null): WorkflowAuditSummary[] {
  const byWorkflow = new Map<string, WorkflowAuditSummary & { nodeSet: Set<string> }>()
  for (const { entry } of records) {
    if (entry.workflowId === '' || (workflowId !== null && entry.workflowId !== workflowId)) continue
    let s = byWorkflow.get(entry.workflowId)
    if (s === undefined) {
      s = {
        workflowId: entry.workflowId, name: '', state: 'running', startedAt: null, endedAt: null, durationMs: null,
        steps: 0, stepFailures: 0, interventions: 0, nodes: [], stepDurationsMs: {}, routingMs: null, networkLatencyMs: null,
        nodeSet: new Set()
      }
      byWorkflow.set(entry.workflowId, s)
    }
    s.nodeSet.add(entry.sourceNodeId)
    const m = entry.performanceMetrics
    switch (entry.event) {
      case 'workflow_start':
        s.startedAt ??= entry.timestamp
        s.name = entry.message.split(' ')[0] ?? ''
        if (m.routingMs !== undefined) s.routingMs = m.routingMs
        break
      case 'step_complete':
        s.steps++
        s.stepDurationsMs[entry.workflowStep] = (s.stepDurationsMs[entry.workflowStep] ?? 0) + (m.durationMs ?? 0)
        break
      case 'step_failed': s.stepFailures++; break
      case 'intervention_request': s.interventions++; s.state = 'waiting_intervention'; break
      case 'intervention_resolved':
      case 'workflow_resume': s.state = 'running'; break
      default:
        if (END_EVENTS[entry.event] !== undefined) {
          s.state = END_EVENTS[entry.event] as string
          s.endedAt = entry.timestamp
          if (s.startedAt !== null) s.durationMs = entry.timestamp - s.startedAt
        }
    }
    if (m.networkLatencyMs !== undefined) s.networkLatencyMs = m.networkLatencyMs
  }
  return [...byWorkflow.values()].map(({ nodeSet, ...s }) => ({ ...s, nodes: [...nodeSet] }))
}
