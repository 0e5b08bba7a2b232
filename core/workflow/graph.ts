// A workflow file read as a graph. A step without `needs` follows the step before
// it, so a file written as a line keeps its order; `needs: []` starts at once. A
// matrix step becomes one entry per combination of its values, and what needs the
// step needs every one of them. The engine keeps and persists entries, not steps.
import type { StepDefinition, WorkflowDefinition } from './definition.js'

export interface GraphEntry {
  /** `build`, or `test[shard=1]` for an instance of a matrix step. */
  id: string
  /** The id of the step in the file. */
  step: string
  instance: Record<string, string>
  /** Entry ids this one waits for. */
  needs: string[]
}

/** The step ids each step waits for, by index, `needs` or not. */
export function stepNeeds (def: WorkflowDefinition): string[][] {
  return def.steps.map((step, i) => step.needs ?? (i === 0 ? [] : [def.steps[i - 1]?.id as string]))
}

/** Every combination of a matrix's values, keys in the file's order. */
export function combinations (matrix: Record<string, string[]>): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}]
  for (const [key, values] of Object.entries(matrix)) {
    out = out.flatMap(combo => values.map(v => ({ ...combo, [key]: v })))
  }
  return out
}

export function instanceId (step: string, instance: Record<string, string>): string {
  const keys = Object.keys(instance)
  return keys.length === 0 ? step : `${step}[${keys.map(k => `${k}=${instance[k] ?? ''}`).join(',')}]`
}

/** The entries of a workflow, in file order, instances in combination order. */
export function expandEntries (def: WorkflowDefinition): GraphEntry[] {
  const needs = stepNeeds(def)
  const idsOf = new Map<string, string[]>()
  const out: GraphEntry[] = []
  def.steps.forEach((step, i) => {
    const instances = step.matrix === undefined ? [{}] : combinations(step.matrix)
    const waitsFor = (needs[i] ?? []).flatMap(n => idsOf.get(n) ?? [n])
    const ids: string[] = []
    for (const instance of instances) {
      const id = instanceId(step.id, instance)
      ids.push(id)
      out.push({ id, step: step.id, instance, needs: waitsFor })
    }
    idsOf.set(step.id, ids)
  })
  return out
}

/** A cycle among the steps' needs as the ids along it (first repeated at the end), or null. */
export function findCycle (def: WorkflowDefinition): string[] | null {
  const needs = new Map(def.steps.map((s, i) => [s.id, stepNeeds(def)[i] ?? []]))
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done' || !needs.has(id)) return null
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id]
    state.set(id, 'open')
    path.push(id)
    for (const n of needs.get(id) ?? []) {
      const cycle = visit(n)
      if (cycle !== null) return cycle
    }
    path.pop()
    state.set(id, 'done')
    return null
  }
  for (const step of def.steps) {
    const cycle = visit(step.id)
    if (cycle !== null) return cycle
  }
  return null
}

/** For each step id, the steps that surely ran before it (its needs, theirs, and so on). Assumes no cycle. */
export function ancestors (def: WorkflowDefinition): Map<string, Set<string>> {
  const needs = new Map(def.steps.map((s, i) => [s.id, stepNeeds(def)[i] ?? []]))
  const out = new Map<string, Set<string>>()
  const of = (id: string, seen: Set<string>): Set<string> => {
    const known = out.get(id)
    if (known !== undefined) return known
    const set = new Set<string>()
    if (seen.has(id)) return set
    seen.add(id)
    for (const n of needs.get(id) ?? []) {
      if (!needs.has(n)) continue
      set.add(n)
      for (const a of of(n, seen)) set.add(a)
    }
    out.set(id, set)
    return set
  }
  for (const step of def.steps) of(step.id, new Set())
  return out
}

/** `build.dist` → step `build`, artifact `dist` (artifact names have no dots; step ids may). */
export function splitUse (use: string): { step: string, name: string } | null {
  const dot = use.lastIndexOf('.')
  if (dot <= 0 || dot === use.length - 1) return null
  return { step: use.slice(0, dot), name: use.slice(dot + 1) }
}

/** The definition a step entry runs. */
export function definitionOf (def: WorkflowDefinition, step: string): StepDefinition | undefined {
  return def.steps.find(s => s.id === step)
}
