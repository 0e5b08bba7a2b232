// How far an intervention that names approvers or a quorum has come: who has
// approved and who is still needed, in the same words for se status, the
// dashboard and the trail.

export interface ApprovalState {
  approvers?: string[]
  quorum?: number
  approvals?: Array<{ name: string, choice: string }>
}

/** Whether the intervention counts people's signed approvals at all. */
export function countsApprovals (i: ApprovalState): boolean {
  return (i.approvers?.length ?? 0) > 0 || (i.quorum ?? 1) > 1
}

/** `1/2`: the approvals of the most agreed choice against the quorum. */
export function approvalCount (i: ApprovalState): string {
  return `${mostAgreed(i).length}/${i.quorum ?? 1}`
}

/** Who may count, as `2 of release, person:ab12…`. */
export function neededText (i: ApprovalState): string {
  const of = approverNames(i)
  return `${i.quorum ?? 1}${of === '' ? ' people' : ` of ${of}`}`
}

/** `approvals 1/2: ann; needs 1 more of release`, or null when none are counted. */
export function approvalsLine (i: ApprovalState): string | null {
  if (!countsApprovals(i)) return null
  const agreed = mostAgreed(i)
  const more = Math.max(0, (i.quorum ?? 1) - agreed.length)
  const of = approverNames(i)
  return `approvals ${approvalCount(i)}${agreed.length === 0 ? '' : `: ${agreed.map(a => a.name).join(', ')}`}; needs ${more} more${of === '' ? '' : ` of ${of}`} (signed)`
}

function mostAgreed (i: ApprovalState): Array<{ name: string, choice: string }> {
  const byChoice = new Map<string, Array<{ name: string, choice: string }>>()
  for (const a of i.approvals ?? []) byChoice.set(a.choice, [...byChoice.get(a.choice) ?? [], a])
  return [...byChoice.values()].sort((a, b) => b.length - a.length)[0] ?? []
}

/** Roles as named, people shortened to person:KEY12…. */
function approverNames (i: ApprovalState): string {
  return (i.approvers ?? []).map(a => a.startsWith('person:') ? `${a.slice(0, 19)}…` : a).join(', ')
}
