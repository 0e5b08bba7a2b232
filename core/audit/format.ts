// The human form of the audit trail, one line per entry:
// ##→2025-06-23T10:30:00Z | SE_DISTRIBUTED | workflow_start: VERSION_TRANSITION on laptop
import type { AuditRecord } from '../protocol/types.js'

export function formatAuditLine (record: AuditRecord): string {
  const at = new Date(record.entry.timestamp).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return `##→${at} | ${record.entry.executionContext} | ${record.entry.event}: ${record.entry.message}`
}
