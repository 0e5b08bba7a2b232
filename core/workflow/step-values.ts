// What a step's strings and condition see: `${inputs.x}`, `${matrix.k}`,
// `${steps.ID.FIELD}`, `${steps.ID.outputs.KEY}`, and what the command it runs is.
import type { ProcessSpec } from '../ports.js'
import { resolve } from '../paths.js'
import type { StepDefinition } from './definition.js'
import { OUTPUTS_FIELD, TemplateSyntaxError, expand } from './template.js'
import { DONE_STEP_STATES, type StepRun, type WorkflowRun } from './run.js'

export interface NodeIdentityInfo {
  id: string
  name: string
  dataDir: string
  /** A command line that runs this node's CLI, for ${node.cli}. */
  cli: string
}

export interface StepValues {
  node: NodeIdentityInfo
  env: (name: string) => string | undefined
}

export function expandFor (values: StepValues, run: WorkflowRun, entry: StepRun | null, value: string): string {
  return expand(value, ref => lookup(values, run, entry, ref))
}

export function lookup (values: StepValues, run: WorkflowRun, entry: StepRun | null, ref: string[]): string | undefined {
  const [root, name, field, key] = ref
  if (name === undefined) return undefined
  switch (root) {
    case 'inputs': return run.inputs[name] ?? ''
    case 'matrix': return entry?.instance[name]
    case 'env': return values.env(name) ?? ''
    case 'workflow':
      return { id: run.id, name: run.name, dir: run.sourceDir, file: run.source }[name]
    case 'node': {
      const n = values.node
      return { id: n.id, name: n.name, dataDir: n.dataDir, cli: n.cli }[name]
    }
    case 'steps': {
      const exact = run.steps.find(s => s.id === name)
      if (exact !== undefined) return stepField(exact, field, key)
      // A matrix step named as a whole: its instances together (state only).
      const instances = run.steps.filter(s => s.step === name)
      if (instances.length === 0 || field !== 'state') return undefined
      return aggregateState(instances)
    }
    default: return undefined
  }
}

function stepField (step: StepRun, field: string | undefined, key: string | undefined): string | undefined {
  switch (field) {
    case 'stdout': return step.stdout.trim()
    case 'stderr': return step.stderr.trim()
    case 'exitCode': return step.exitCode === null ? '' : String(step.exitCode)
    case 'choice': return step.choice ?? ''
    case 'comment': return step.comment ?? ''
    case 'state': return step.state
    case OUTPUTS_FIELD: return key === undefined ? undefined : step.outputs[key] ?? ''
    default: return undefined
  }
}

/** failed if any failed, skipped if all were skipped, completed once all are done, else running. */
function aggregateState (instances: StepRun[]): string {
  if (instances.some(s => s.state === 'failed')) return 'failed'
  if (instances.every(s => s.state === 'skipped')) return 'skipped'
  if (instances.every(s => DONE_STEP_STATES.includes(s.state))) return 'completed'
  return 'running'
}

export function buildSpec (values: StepValues, run: WorkflowRun, entry: StepRun, def: StepDefinition): ProcessSpec {
  const r = def.run
  if (r === undefined) throw new TemplateSyntaxError(`step ${def.id} has nothing to run`)
  const x = (value: string): string => expandFor(values, run, entry, value)
  const env: Record<string, string> = {
    SE_WORKFLOW_ID: run.id,
    SE_WORKFLOW_NAME: run.name,
    SE_STEP_ID: entry.id,
    SE_NODE_ID: values.node.id,
    SE_DATA_DIR: values.node.dataDir
  }
  for (const [k, v] of Object.entries(entry.instance)) env[`SE_MATRIX_${k.toUpperCase().replace(/-/g, '_')}`] = v
  for (const [k, v] of Object.entries(r.env ?? {})) env[k] = x(v)
  const spec: ProcessSpec = {
    command: x(r.command ?? ''),
    args: (r.args ?? []).map(x),
    cwd: resolve(run.workdir, x(r.cwd ?? '.')),
    env,
    // Cancel and timeout end what the step started too, and a step is over when its
    // own process is: what it left running in the background is ended with it.
    processGroup: true
  }
  if (r.timeoutSec !== undefined) spec.timeoutMs = Math.round(r.timeoutSec * 1000)
  if (r.image !== undefined) {
    spec.container = {
      image: x(r.image),
      mounts: (r.mounts ?? []).map(m => ({ source: resolve(run.workdir, x(m.source)), target: x(m.target), readOnly: m.readOnly === true })),
      memory: r.memory ?? null,
      cpus: r.cpus ?? null,
      workdir: r.workdir === undefined ? null : x(r.workdir)
    }
  }
  return spec
}
