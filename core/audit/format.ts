// The human form of the audit trail, one line per entry:
// ##→2025-06-23T10:30:00Z | SE_DISTRIBUTED | workflow_start: VERSION_TRANSITION on laptop
// The ASCII form marks lines `##>`, for terminals that cannot show `→` (the
// dashboard over SSH with no UTF-8 locale); the CLI keeps `##→`.
import type { AuditRecord } from '../protocol/types.js'

export function formatAuditLine (record: AuditRecord): string { return line(record, '##→') }

export function formatAsciiAuditLine (record: AuditRecord): string { return line(record, '##>') }

function line (record: AuditRecord, marker: string): string {
  const at = new Date(record.entry.timestamp).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return `${marker}${at} | ${record.entry.executionContext} | ${record.entry.event}: ${record.entry.message}`
}
