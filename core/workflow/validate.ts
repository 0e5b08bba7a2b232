// Turns a workflow file's text into a checked WorkflowDefinition, or an error
// naming every problem by file, path inside it (steps[2].run.timeoutSec) and line.
import { LineCounter, parseDocument } from 'yaml'
import type { z } from 'zod'
import { SeError, type ErrorDetail } from '../errors.js'
import { type StepDefinition, type WorkflowDefinition, workflowSchema } from './definition.js'
import { NODE_FIELDS, OUTPUTS_FIELD, STEP_FIELDS, TemplateSyntaxError, WORKFLOW_FIELDS, references } from './template.js'
import { ancestors, combinations, findCycle, instanceId, splitUse } from './graph.js'
import { ExpressionSyntaxError, parseExpression, referencesOf } from './expression.js'
import { formatPath, type PathSegment } from './field-path.js'


export function parseWorkflow (text: string, file: string): WorkflowDefinition {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const lineOf = (path: PathSegment[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined
      if (node?.range !== undefined) return lineCounter.linePos(node.range[0]).line
    }
    return undefined
  }
  if (doc.errors.length > 0) {
    throw SeError.validation(`workflow ${file}`, doc.errors.map(err => ({
      file,
      line: lineCounter.linePos(err.pos[0]).line,
      message: `not valid YAML or JSON: ${err.message.split('\n')[0]}`
    })))
  }
  const raw: unknown = doc.toJS()
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw SeError.validation(`workflow ${file}`, [{ file, message: 'expected a mapping with name and steps at the top level' }])
  }
  const parsed = workflowSchema.safeParse(raw)
  const details: ErrorDetail[] = []
  const add = (path: PathSegment[], message: string): void => {
    const line = lineOf(path)
    details.push(line === undefined ? { file, path: formatPath(path), message } : { file, path: formatPath(path), line, message })
  }
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol')
      if (issue.code === 'unrecognized_keys') {
        const allowed = allowedKeys(path)
        for (const key of issue.keys) add([...path, key], `unknown key '${key}'${allowed === undefined ? '' : ` (expected one of: ${allowed.join(', ')})`}`)
      } else {
        add(path, describeIssue(issue, raw))
      }
    }
    // Report the cross-step problems too, as far as the malformed file lets us read them.
    if (Array.isArray((raw as { steps?: unknown }).steps)) {
      try { checkSemantics(raw as WorkflowDefinition, add) } catch {}
    }
    throw SeError.validation(`workflow ${file}`, details)
  }
  checkSemantics(parsed.data, add)
  if (details.length > 0) throw SeError.validation(`workflow ${file}`, details)
  return parsed.data
}

function describeIssue (issue: z.core.$ZodIssue, raw: unknown): string {
  const value = valueAt(raw, issue.path)
  if (issue.code === 'invalid_type' && value === undefined) return `missing (${issue.message})`
  const shown = value === undefined ? '' : `, got ${JSON.stringify(value)}`
  return `${issue.message}${shown}`
}

function valueAt (raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<PropertyKey, unknown>)[key]
  }
  return cur
}

// Walks the schema along a path to list the keys an object there accepts.
function allowedKeys (path: PathSegment[]): string[] | undefined {
  let schema: any = workflowSchema
  for (const segment of path) {
    schema = unwrap(schema)
    const def = schema?._zod?.def
    if (def === undefined) return undefined
    if (def.type === 'object') schema = def.shape[segment]
    else if (def.type === 'array') schema = def.element
    else if (def.type === 'record') schema = def.valueType
    else return undefined
  }
  const def = unwrap(schema)?._zod?.def
  return def?.type === 'object' ? Object.keys(def.shape) : undefined
}

function unwrap (schema: any): any {
  let s = schema
  while (s?._zod?.def !== undefined && ['optional', 'nullable', 'default', 'pipe'].includes(s._zod.def.type)) {
    s = s._zod.def.type === 'pipe' ? s._zod.def.in : s._zod.def.innerType
  }
  if (s?._zod?.def?.type === 'union') return s._zod.def.options.find((o: any) => unwrap(o)?._zod?.def?.type === 'object') ?? s
  return s
}

type Add = (path: PathSegment[], message: string) => void

/** What a step's strings may refer to: the steps surely run before it, and its own matrix. */
interface Scope {
  def: WorkflowDefinition
  step: StepDefinition
  before: Set<string>
  byId: Map<string, StepDefinition>
}

function checkSemantics (def: WorkflowDefinition, add: Add): void {
  const firstIndex = new Map<string, number>()
  def.steps.forEach((step, i) => {
    const seen = firstIndex.get(step.id)
    if (seen !== undefined) add(['steps', i, 'id'], `duplicate step id '${step.id}' (first used at steps[${seen}])`)
    else firstIndex.set(step.id, i)
  })
  const byId = new Map(def.steps.map(s => [s.id, s]))
  // With a duplicate id the graph cannot be told: what is said of it would mislead.
  let graphOk = byId.size === def.steps.length
  def.steps.forEach((step, i) => {
    step.needs?.forEach((n, j) => {
      if (!byId.has(n)) { add(['steps', i, 'needs', j], `needs '${n}': no step has that id (expected one of: ${[...byId.keys()].join(', ')})`); graphOk = false }
    })
  })
  const cycle = graphOk ? findCycle(def) : null
  if (cycle !== null) {
    const at = firstIndex.get(cycle[0] as string) ?? 0
    add(['steps', at, 'needs'], `the steps' needs form a cycle: ${cycle.join(' → ')}`)
  }
  const before = cycle === null ? ancestors(def) : new Map<string, Set<string>>()
  def.steps.forEach((step, i) => {
    const at: PathSegment[] = ['steps', i]
    if ((step.run === undefined) === (step.intervention === undefined)) {
      add(at, "expected exactly one of 'run' (a command or image) or 'intervention' (a question for a person)")
    }
    if (step.run !== undefined && step.run.command === undefined && step.run.image === undefined) {
      add([...at, 'run', 'command'], 'missing command (expected the program to run, e.g. command: git)')
    }
    if (step.intervention !== undefined && step.onFailure !== undefined) {
      add([...at, 'onFailure'], 'onFailure applies to run steps only; an intervention step ends with the choice a person makes')
    }
    if (step.matrix === undefined) {
      if (step.maxParallel !== undefined) add([...at, 'maxParallel'], 'maxParallel applies to a matrix step only')
      if (step.failFast !== undefined) add([...at, 'failFast'], 'failFast applies to a matrix step only')
    }
    if (step.intervention !== undefined) {
      for (const key of ['artifacts', 'outputs', 'uses'] as const) if (step[key] !== undefined) add([...at, key], `${key} applies to run steps only`)
    }
    for (const [name, p] of Object.entries(step.artifacts ?? {})) {
      if (p.startsWith('/') || p.split('/').includes('..')) add([...at, 'artifacts', name], `artifact ${name}: '${p}' must be a path inside the step's working directory (no leading / and no ..)`)
    }
    const scope: Scope = { def, step, before: before.get(step.id) ?? new Set(), byId }
    step.uses?.forEach((use, j) => checkUse(scope, use, [...at, 'uses', j], add))
    for (const [path, value] of templatedStrings(step)) checkReferences(scope, [...at, ...path], value, add)
    if (step.if !== undefined) checkCondition(scope, [...at, 'if'], step.if, add)
  })
}

function checkUse (scope: Scope, use: string, path: PathSegment[], add: Add): void {
  const ref = splitUse(use)
  if (ref === null) { add(path, `'${use}': expected STEP.NAME, an artifact an earlier step publishes`); return }
  const maker = scope.byId.get(ref.step)
  if (maker === undefined) add(path, `'${use}': no step '${ref.step}'`)
  else if (maker.artifacts?.[ref.name] === undefined) add(path, `'${use}': step '${ref.step}' publishes no artifact '${ref.name}'${maker.artifacts === undefined ? '' : ` (it publishes: ${Object.keys(maker.artifacts).join(', ')})`}`)
  else if (!scope.before.has(ref.step)) add(path, `'${use}': step '${ref.step}' has not run yet at this point (add it to needs)`)
}

function checkCondition (scope: Scope, path: PathSegment[], text: string, add: Add): void {
  let refs: string[][]
  try {
    refs = referencesOf(parseExpression(text))
  } catch (err) {
    if (err instanceof ExpressionSyntaxError) { add(path, `condition: ${err.message}`); return }
    throw err
  }
  for (const ref of refs) checkReference(scope, path, ref, add)
}

function templatedStrings (step: StepDefinition): Array<[PathSegment[], string]> {
  const out: Array<[PathSegment[], string]> = []
  const run = step.run
  if (run !== undefined) {
    for (const key of ['command', 'cwd', 'image', 'workdir'] as const) {
      const v = run[key]
      if (v !== undefined) out.push([['run', key], v])
    }
    run.args?.forEach((arg, n) => out.push([['run', 'args', n], arg]))
    for (const [k, v] of Object.entries(run.env ?? {})) out.push([['run', 'env', k], v])
    run.mounts?.forEach((m, n) => { out.push([['run', 'mounts', n, 'source'], m.source]); out.push([['run', 'mounts', n, 'target'], m.target]) })
  }
  if (step.intervention !== undefined) out.push([['intervention', 'prompt'], step.intervention.prompt])
  return out
}

function checkReferences (scope: Scope, path: PathSegment[], value: string, add: Add): void {
  let refs: string[][]
  try {
    refs = references(value)
  } catch (err) {
    if (err instanceof TemplateSyntaxError) { add(path, err.message); return }
    throw err
  }
  for (const ref of refs) checkReference(scope, path, ref, add)
}

function checkReference (scope: Scope, path: PathSegment[], ref: string[], add: Add): void {
  const { def, step } = scope
  const [root, name] = ref
  const shown = `\${${ref.join('.')}}`
  switch (root) {
    case 'inputs':
      if (name === undefined || ref.length !== 2) add(path, `${shown}: expected \${inputs.NAME}`)
      else if (def.inputs?.[name] === undefined) add(path, `${shown} refers to input '${name}', which is not declared under inputs`)
      break
    case 'matrix':
      if (name === undefined || ref.length !== 2) add(path, `${shown}: expected \${matrix.KEY}`)
      else if (step.matrix === undefined) add(path, `${shown}: step '${step.id}' has no matrix`)
      else if (step.matrix[name] === undefined) add(path, `${shown}: the matrix of step '${step.id}' has no key '${name}' (it has: ${Object.keys(step.matrix).join(', ')})`)
      break
    case 'steps':
      checkStepReference(scope, path, ref, shown, add)
      break
    case 'workflow':
      if (ref.length !== 2 || !(WORKFLOW_FIELDS as readonly string[]).includes(name ?? '')) add(path, `${shown}: expected one of ${WORKFLOW_FIELDS.map(f => `\${workflow.${f}}`).join(', ')}`)
      break
    case 'node':
      if (ref.length !== 2 || !(NODE_FIELDS as readonly string[]).includes(name ?? '')) add(path, `${shown}: expected one of ${NODE_FIELDS.map(f => `\${node.${f}}`).join(', ')}`)
      break
    case 'env':
      if (ref.length !== 2) add(path, `${shown}: expected \${env.NAME}`)
      break
    default:
      add(path, `${shown}: unknown reference root '${root ?? ''}' (expected inputs, matrix, steps, workflow, node or env)`)
  }
}

function checkStepReference (scope: Scope, path: PathSegment[], ref: string[], shown: string, add: Add): void {
  const [, id, field, key] = ref
  const outputs = field === OUTPUTS_FIELD
  if (id === undefined || field === undefined || ref.length !== (outputs ? 4 : 3)) { add(path, `${shown}: expected \${steps.ID.FIELD} or \${steps.ID.outputs.KEY}`); return }
  const bracket = id.indexOf('[')
  const stepId = bracket === -1 ? id : id.slice(0, bracket)
  const target = scope.byId.get(stepId)
  if (target === undefined) { add(path, `${shown} refers to step '${stepId}', which does not exist`); return }
  if (!scope.before.has(stepId)) add(path, `${shown} refers to step '${stepId}', which has not run yet at this point (add it to needs)`)
  if (bracket !== -1) {
    if (target.matrix === undefined) add(path, `${shown}: step '${stepId}' has no matrix, so no instances`)
    else if (!combinations(target.matrix).some(c => instanceId(stepId, c) === id)) add(path, `${shown}: step '${stepId}' has no instance ${id.slice(bracket)} (e.g. ${instanceId(stepId, combinations(target.matrix)[0] ?? {})})`)
  } else if (outputs && target.matrix !== undefined) {
    add(path, `${shown}: step '${stepId}' is a matrix step: name one instance, e.g. \${steps.${instanceId(stepId, combinations(target.matrix)[0] ?? {})}.outputs.${key ?? 'KEY'}}`)
  }
  if (outputs) {
    if (!(target.outputs ?? []).includes(key ?? '')) add(path, `${shown}: step '${stepId}' declares no output '${key ?? ''}'${target.outputs === undefined ? ' (list it under outputs)' : ` (it declares: ${target.outputs.join(', ')})`}`)
  } else if (!(STEP_FIELDS as readonly string[]).includes(field)) {
    add(path, `${shown}: unknown step field '${field}' (expected one of: ${STEP_FIELDS.join(', ')}, or outputs.KEY)`)
  }
}
