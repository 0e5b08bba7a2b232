// The mark a person sees beside a step in each state, alike in the CLI's output
// and the dashboard's details. The ASCII set is for terminals that cannot show
// the others (no UTF-8 locale, vt100): each mark stays one column and distinct.

export const STEP_MARK: Readonly<Record<string, string>> = {
  pending: '·', running: '▶', waiting_intervention: '?', waiting_node: '…', completed: '✓', failed: '✗', skipped: '↷'
}

export const STEP_MARK_ASCII: Readonly<Record<string, string>> = {
  pending: '.', running: '>', waiting_intervention: '?', waiting_node: '~', completed: '+', failed: 'x', skipped: '-'
}
