// The mark a person sees beside a step in each state, alike in the CLI's output
// and the dashboard's details.

export const STEP_MARK: Readonly<Record<string, string>> = {
  pending: '·', running: '▶', waiting_intervention: '?', waiting_node: '…', completed: '✓', failed: '✗', skipped: '↷'
}
