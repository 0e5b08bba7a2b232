// The chaos suite's checker, in the manner of Jepsen's queue checker: it takes
// what was asked (the workflows started), what the nodes say at the end (each
// one's workflows and audit trail) and what really happened (the side-effect
// ledger), and lists every way they disagree with the README's durability rules.
// Pure: the test collects the history, this only judges it.
import type { WorkflowModel } from './chaos-workflows.js'

export interface StepStatusLite { id: string, state: string, attempts: number, node: string | null, error: string | null }
export interface WorkflowStatusLite { id: string, name: string, state: string, node: string, error: string | null, steps: StepStatusLite[] }
export interface TrailRecord { seq: number, entry: { timestamp: number, event: string, workflowId: string, workflowStep: string, sourceNodeId: string, message: string } }

export interface ChaosHistory {
  /** Workflows `se execute` acknowledged, with the node that took them. */
  started: Array<{ id: string, requester: string }>
  /** By workflow name (each run's names are unique). */
  models: Map<string, WorkflowModel>
  /** By node key: every workflow the node holds at the end. */
  held: Map<string, WorkflowStatusLite[]>
  ledger: string[]
  /** By node key: its whole audit trail. */
  trails: Map<string, TrailRecord[]>
}

export interface LedgerLine { index: number, kind: 'begin' | 'done', workflowId: string, stepId: string, node: string, pid: string }

export interface ChaosVerdict {
  violations: string[]
  /** Outcome label → how many workflows ended so. */
  outcomes: Record<string, number>
  workflows: number
  /** Runs of a step, from the ledger (begin lines). */
  stepRuns: number
}

/** The restart rules allow exactly these failures, and only of a step that is not idempotent. */
const ALLOWED_FAILURES: Array<{ label: string, pattern: RegExp }> = [
  { label: 'failed: step interrupted by a restart', pattern: /^interrupted: / },
  { label: 'failed: executing node lost', pattern: /was lost while running it; not idempotent/ },
  // The executor ends a step whose requester went away; a requester that restarts finds that result in its trail.
  { label: 'failed: stopped by its executor when the requester went away', pattern: /^failed on node [0-9a-f]+ before the restart: .* failed \(exit (SIGTERM|SIGKILL|143|137)\)/ }
]

export function parseLedger (lines: string[]): { lines: LedgerLine[], garbled: string[] } {
  const out: LedgerLine[] = []
  const garbled: string[] = []
  lines.forEach((text, index) => {
    const parts = text.split(' ')
    const [kind, workflowId, stepId, node, pid] = parts
    if (parts.length !== 5 || (kind !== 'begin' && kind !== 'done') || workflowId === '' || node === '') { garbled.push(text); return }
    out.push({ index, kind, workflowId: workflowId as string, stepId: stepId as string, node: node as string, pid: pid as string })
  })
  return { lines: out, garbled }
}

const short = (key: string | null): string => key === null ? 'null' : key.slice(0, 8)

export function checkChaos (h: ChaosHistory): ChaosVerdict {
  const violations: string[] = []
  const outcomes: Record<string, number> = {}
  const bad = (text: string): void => { violations.push(text) }
  const { lines: ledger, garbled } = parseLedger(h.ledger)
  for (const g of garbled) bad(`ledger line is garbled: '${g}'`)

  // Who holds what. A workflow lives on exactly one node: the one that took it.
  const holders = new Map<string, Array<{ key: string, status: WorkflowStatusLite }>>()
  for (const [key, list] of h.held) {
    for (const status of list) holders.set(status.id, [...(holders.get(status.id) ?? []), { key, status }])
  }
  for (const s of h.started) {
    const found = holders.get(s.id)
    if (found === undefined) { bad(`LOST: ${s.id}, acknowledged by ${short(s.requester)}, is known to no node`); continue }
    if (!found.some(f => f.key === s.requester)) bad(`${s.id} was taken by ${short(s.requester)} but is held by ${found.map(f => short(f.key)).join(', ')}`)
  }
  for (const [id, found] of holders) {
    if (found.length > 1) bad(`${id} is held by ${found.length} nodes: ${found.map(f => short(f.key)).join(', ')}`)
  }
  const byWorkflow = new Map<string, LedgerLine[]>()
  for (const l of ledger) byWorkflow.set(l.workflowId, [...(byWorkflow.get(l.workflowId) ?? []), l])
  for (const id of byWorkflow.keys()) {
    if (!holders.has(id)) bad(`LOST: ${id} ran steps (ledger) but is known to no node`)
  }

  for (const [id, found] of holders) {
    const { key: holder, status } = found[0] as { key: string, status: WorkflowStatusLite }
    const model = h.models.get(status.name)
    if (model === undefined) { bad(`${id}: no model for workflow ${status.name}`); continue }
    const where = `${id} (${status.name}, on ${short(holder)})`
    const runs = byWorkflow.get(id) ?? []
    const stepLines = (stepId: string, kind: 'begin' | 'done'): LedgerLine[] => runs.filter(l => l.stepId === stepId && l.kind === kind)
    if (status.node !== holder) bad(`${where}: says its node is ${short(status.node)}`)
    if (status.steps.length !== model.steps.length) { bad(`${where}: has ${status.steps.length} steps, its definition ${model.steps.length}`); continue }

    // Outcome: completed, or failed as the restart rules allow; a step that asks on failure was answered skip or abort.
    let failedAt = -1
    const count = (label: string): void => { outcomes[label] = (outcomes[label] ?? 0) + 1 }
    const explained = (index: number): string | undefined => {
      const step = status.steps[index] as StepStatusLite
      const def = model.steps[index] as { idempotent: boolean }
      if (def.idempotent) bad(`${where}: idempotent step ${step.id} failed (${step.error ?? ''}); after a crash it must run again`)
      const allowed = ALLOWED_FAILURES.find(a => a.pattern.test(step.error ?? ''))
      if (allowed === undefined) bad(`${where}: step ${step.id} failed for a reason no crash explains: ${step.error ?? ''}`)
      return allowed?.label
    }
    status.steps.forEach((s, i) => {
      if (s.state !== 'skipped') return
      if (model.steps[i]?.onFailure !== 'intervene') bad(`${where}: step ${s.id} was skipped, but it never asks`)
      else explained(i)
    })
    const skipped = status.steps.some(s => s.state === 'skipped')
    if (status.state === 'completed') {
      count(skipped ? 'completed, a failed step skipped by a person' : 'completed')
      status.steps.forEach(s => { if (s.state !== 'completed' && s.state !== 'skipped') bad(`${where}: completed, but step ${s.id} is ${s.state}`) })
    } else if (status.state === 'failed') {
      failedAt = status.steps.findIndex(s => s.state === 'failed')
      const step = status.steps[failedAt]
      const def = model.steps[failedAt]
      if (step === undefined || def === undefined) {
        count('failed: other')
        bad(`${where}: failed (${status.error ?? ''}) with no failed step`)
      } else {
        const label = explained(failedAt) ?? 'failed: other'
        // Abort fails the workflow at once; intervene leaves it to a person, who aborted.
        const expected = def.onFailure === 'abort' ? `step ${step.id} failed` : `aborted at step ${step.id}`
        count(def.onFailure === 'abort' ? label : `${label}, then aborted by a person`)
        if (!(status.error ?? '').includes(expected)) bad(`${where}: failed, but its reason is not '${expected}…': ${status.error ?? ''}`)
        status.steps.forEach((s, i) => {
          if (i < failedAt && s.state !== 'completed' && s.state !== 'skipped') bad(`${where}: step ${s.id} before the failed step is ${s.state}`)
          if (i > failedAt && s.state !== 'pending') bad(`${where}: step ${s.id} after the failed step is ${s.state}`)
          if (i > failedAt && stepLines(s.id, 'begin').length > 0) bad(`${where}: step ${s.id} ran after step ${step.id} failed`)
        })
      }
    } else {
      count(`unfinished: ${status.state}`)
      bad(`${where}: not finished after the chaos: ${status.state}${status.error === null ? '' : ` (${status.error})`}`)
    }

    model.steps.forEach((def, i) => {
      const s = status.steps[i] as StepStatusLite
      const begins = stepLines(def.id, 'begin')
      const dones = stepLines(def.id, 'done')
      // At most once: a step that is not idempotent never runs a second time, whatever happened.
      if (!def.idempotent && begins.length > 1) bad(`${where}: non-idempotent step ${def.id} ran ${begins.length} times: on ${begins.map(b => short(b.node)).join(', ')}`)
      if (!def.idempotent && s.attempts > 1) bad(`${where}: non-idempotent step ${def.id} was attempted ${s.attempts} times`)
      // A completed step did its work, on the node the workflow says.
      if (s.state === 'completed') {
        if (dones.length === 0) bad(`${where}: step ${def.id} is completed but never did its work (no 'done' in the ledger)`)
        else if (!dones.some(d => d.node === s.node)) bad(`${where}: step ${def.id} is completed on ${short(s.node)} but did its work only on ${dones.map(d => short(d.node)).join(', ')}`)
      }
      // Order: a step starts only once the one before it is done.
      const prevStatus = status.steps[i - 1]
      if (i > 0 && begins.length > 0 && prevStatus?.state !== 'skipped') {
        const prev = model.steps[i - 1] as { id: string }
        const firstDone = stepLines(prev.id, 'done')[0]
        if (firstDone === undefined || firstDone.index > (begins[0] as LedgerLine).index) bad(`${where}: step ${def.id} started before step ${prev.id} was done`)
      }
    })

    checkTrail(h, holder, status, where, runs, bad)
  }

  return { violations, outcomes, workflows: holders.size, stepRuns: ledger.filter(l => l.kind === 'begin').length }
}

// The requester's trail and the workflow's state must tell one story: a completed
// step is recorded as completed; a failed one was not failed after the trail had
// recorded its completion; and every run of a step on another node is in it.
function checkTrail (h: ChaosHistory, holder: string, status: WorkflowStatusLite, where: string, runs: LedgerLine[], bad: (text: string) => void): void {
  const trail = h.trails.get(holder)
  if (trail === undefined) { bad(`${where}: no audit trail for its node`); return }
  const mine = trail.filter(r => r.entry.workflowId === status.id)
  for (const s of status.steps) {
    const about = mine.filter(r => r.entry.workflowStep === s.id)
    const completions = about.filter(r => r.entry.event === 'step_complete' || r.entry.event === 'step_exec_complete')
    if (s.state === 'completed' && completions.length === 0) bad(`${where}: step ${s.id} is completed, but its node's trail never recorded it completing`)
    if (s.state === 'failed' || s.state === 'skipped') {
      const decided = mine.find(r => (r.entry.workflowStep === s.id && (r.entry.event === 'step_failed' || r.entry.event === 'intervention_request' || (r.entry.event === 'workflow_resume' && /interrupted/.test(r.entry.message)))) || r.entry.event === 'workflow_failed')
      const before = completions.filter(r => decided === undefined || r.seq < decided.seq)
      if (before.length > 0) {
        const c = before[0] as TrailRecord
        bad(`${where}: step ${s.id} was ${s.state === 'failed' ? 'failed' : 'skipped as failed'} (${s.error ?? ''}) after the trail recorded it completed (entry ${c.seq}, ${c.entry.event} from ${short(c.entry.sourceNodeId)})`)
      }
    }
    // One audit trail: a run on another node reaches the requester's trail.
    const remoteRuns = new Map<string, number>()
    for (const l of runs) if (l.stepId === s.id && l.kind === 'begin' && l.node !== holder) remoteRuns.set(l.node, (remoteRuns.get(l.node) ?? 0) + 1)
    for (const [node, count] of remoteRuns) {
      const recorded = about.filter(r => r.entry.event === 'step_exec_start' && r.entry.sourceNodeId === node).length
      if (recorded < count) bad(`${where}: step ${s.id} ran ${count} time(s) on ${short(node)}, but its node's trail has ${recorded} step_exec_start from there`)
    }
  }
}

/**
 * How long each restarted node took to rejoin, from its own trail: its node_start to
 * the node_join of every other member. Free of the test's own overhead (process start
 * up, CLI polling on a loaded machine). In ms, one per restart that rejoined.
 */
export function rejoinTimes (trails: Map<string, TrailRecord[]>): number[] {
  const times: number[] = []
  const others = (key: string): string[] => [...trails.keys()].filter(k => k !== key)
  for (const [key, trail] of trails) {
    const starts = trail.filter(r => r.entry.event === 'node_start')
    for (const start of starts.slice(1)) {
      const joined = others(key).map(o => trail.find(r => r.entry.event === 'node_join' && r.seq > start.seq && r.entry.message.includes(`(${o.slice(0, 8)})`)))
      if (joined.some(j => j === undefined)) continue
      times.push(Math.max(...joined.map(j => (j as TrailRecord).entry.timestamp)) - start.entry.timestamp)
    }
  }
  return times
}
