// A workflow's graph as people read it: entries grouped by the file's step, each at its
// depth, a matrix step with its instances under it. What the CLI's `se status` and the
// dashboard draw; both only lay out these rows.
import type { InterventionRequest, StepStatus, WorkflowStatus } from '../protocol/types.js'

/** One step of the file: a plain entry, or a matrix step with its instances. */
export interface GraphGroup {
  step: string
  /** The longest path from a root, 0 for a root. */
  depth: number
  entries: StepStatus[]
  matrix: boolean
  /** What it waits for, step ids (or instance ids when only some), when that is not simply the step before it. */
  needs: string[] | null
}

const SUMMARY_STATES = ['running', 'waiting_intervention', 'failed', 'pending', 'skipped']

/** The file's step of an entry; a node from before graphs sends ''. */
function stepOf (s: StepStatus): string { return s.step === '' ? s.id : s.step }

/**
 * Entries grouped by step, in file order, each with its depth. A node from before
 * graphs sends no `step` and no `needs`: its steps run one after another.
 */
export function workflowGraph (steps: StepStatus[]): GraphGroup[] {
  const legacy = steps.every(s => s.step === '' && s.needs.length === 0)
  const needsOf = new Map(steps.map((s, i) => [s.id, legacy ? (i === 0 ? [] : [steps[i - 1]?.id ?? '']) : s.needs]))
  const depths = new Map<string, number>()
  const depth = (id: string, seen: Set<string>): number => {
    const known = depths.get(id)
    if (known !== undefined) return known
    if (seen.has(id)) return 0
    seen.add(id)
    const d = Math.max(-1, ...(needsOf.get(id) ?? []).filter(n => needsOf.has(n)).map(n => depth(n, seen))) + 1
    depths.set(id, d)
    return d
  }
  const groups: GraphGroup[] = []
  const byStep = new Map<string, GraphGroup>()
  for (const s of steps) {
    const name = stepOf(s)
    let g = byStep.get(name)
    if (g === undefined) {
      g = { step: name, depth: 0, entries: [], matrix: false, needs: null }
      byStep.set(name, g)
      groups.push(g)
    }
    g.entries.push(s)
    g.matrix ||= s.id !== name || Object.keys(s.instance).length > 0
    g.depth = Math.max(g.depth, depth(s.id, new Set()))
  }
  const idsOf = (g: GraphGroup | undefined): string[] => g?.entries.map(e => e.id) ?? []
  groups.forEach((g, i) => {
    const needs = [...new Set(g.entries.flatMap(e => needsOf.get(e.id) ?? []))]
    const before = idsOf(groups[i - 1])
    const follows = needs.length === before.length && before.every(id => needs.includes(id))
    if (!follows) g.needs = stepNeedsOf(needs, steps)
  })
  return groups
}

// Needs named by step when they take every instance of it, else by instance.
function stepNeedsOf (needs: string[], steps: StepStatus[]): string[] {
  const out: string[] = []
  for (const id of needs) {
    const entry = steps.find(s => s.id === id)
    const name = entry === undefined ? id : stepOf(entry)
    const all = steps.filter(s => stepOf(s) === name).every(s => needs.includes(s.id))
    const label = all ? name : id
    if (!out.includes(label)) out.push(label)
  }
  return out
}

/** One line of a drawn graph: a plain step, a matrix step (its summary), or an instance under it. */
export interface GraphRow {
  /** Its depth in the graph; 0 on every row when the steps simply follow one another. */
  depth: number
  /** An instance, drawn under its matrix step. */
  instance: boolean
  label: string
  state: string
  /** Null on a matrix step's own row. */
  entry: StepStatus | null
  /** A matrix step's instances by state: `3/4 completed, 1 running`. */
  summary: string | null
  needs: string[] | null
}

/** The rows to draw, shallower steps first (file order within a depth). */
export function graphRows (steps: StepStatus[]): GraphRow[] {
  const groups = workflowGraph(steps).sort((a, b) => a.depth - b.depth)
  const chain = groups.every((g, i) => g.depth === i)
  const rows: GraphRow[] = []
  for (const g of groups) {
    const depth = chain ? 0 : g.depth
    const only = g.entries[0]
    if (!g.matrix && only !== undefined) {
      rows.push({ depth, instance: false, label: only.id, state: only.state, entry: only, summary: null, needs: g.needs })
      continue
    }
    rows.push({ depth, instance: false, label: g.step, state: groupState(g), entry: null, summary: groupSummary(g), needs: g.needs })
    for (const e of g.entries) rows.push({ depth, instance: true, label: instanceLabel(e), state: e.state, entry: e, summary: null, needs: null })
  }
  return rows
}

function groupSummary (g: GraphGroup): string {
  const count = (state: string): number => g.entries.filter(e => e.state === state).length
  const rest = SUMMARY_STATES.filter(st => count(st) > 0).map(st => `${count(st)} ${st}`)
  return [`${count('completed')}/${g.entries.length} completed`, ...rest].join(', ')
}

// Running or asking while any instance is, failed once any failed, else how far it got.
function groupState (g: GraphGroup): string {
  const states = new Set(g.entries.map(e => e.state))
  for (const st of ['running', 'waiting_intervention', 'failed']) if (states.has(st)) return st
  if ([...states].every(st => st === 'skipped')) return 'skipped'
  if ([...states].every(st => st === 'completed' || st === 'skipped')) return 'completed'
  return states.has('completed') ? 'running' : 'pending'
}

function instanceLabel (s: StepStatus): string {
  const values = Object.entries(s.instance)
  return values.length === 0 ? s.id : values.map(([k, v]) => `${k}=${v}`).join(', ')
}

/** The steps running now, a fan-out as its instances started or done of all: `test 3/4 running`. */
export function runningSteps (steps: StepStatus[]): string | null {
  const active = workflowGraph(steps).filter(g => g.entries.some(e => e.state === 'running' || e.state === 'waiting_intervention'))
  if (active.length === 0) return null
  return active.map(g => g.matrix ? `${g.step} ${g.entries.filter(e => e.state !== 'pending').length}/${g.entries.length} running` : g.step).join(', ')
}

/** Every branch waiting for a person; a node from before graphs sends only the first. */
export function pendingInterventions (w: WorkflowStatus): InterventionRequest[] {
  return (w.interventions ?? []).length > 0 ? w.interventions : w.intervention === null ? [] : [w.intervention]
}
