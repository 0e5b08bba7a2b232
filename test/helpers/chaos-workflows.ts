// Workflows for the chaos suite, drawn from the seeded PRNG. Every step appends
// to a side-effect ledger outside the nodes' data dirs: a `begin` line when it
// starts and a `done` line when its work is done, each naming the workflow, the
// step, the node it ran on and the process (one line per run), so the checker can
// count how often a step really ran and where.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Random } from './chaos-random.js'

export interface StepModel {
  id: string
  idempotent: boolean
  /** A capability the step needs (routed to a member that has it), or null for the workflow's node. */
  requires: string | null
  /** Waits at the round's gate rather than sleeping, so a kill is sure to find it running. */
  gated: boolean
  /** What a failure does: only a step that is not idempotent can fail from a crash, so only such a step asks. */
  onFailure: 'abort' | 'intervene'
}

export interface WorkflowModel {
  /** Unique per run, so a workflow found on a node names its own model. */
  name: string
  requires: string | null
  steps: StepModel[]
  file: string
}

export interface ChaosPaths {
  dir: string
  ledger: string
  /** Holds the current round's number; gated steps wait for `open-<round>`. */
  round: string
}

export function chaosPaths (dir: string): ChaosPaths {
  return { dir, ledger: path.join(dir, 'ledger'), round: path.join(dir, 'round') }
}

export function gateFile (paths: ChaosPaths, round: number | 'final'): string {
  return path.join(paths.dir, `open-${round}`)
}

/** The shell a step runs: its ledger lines around a wait. `$$` names this run of it. */
function script (paths: ChaosPaths, step: StepModel, sleepSec: number): string {
  const line = (what: string): string => `echo "${what} $SE_WORKFLOW_ID $SE_STEP_ID $SE_NODE_ID $$" >> ${paths.ledger}`
  const wait = step.gated
    ? `g=${paths.dir}/open-$(cat ${paths.round}); while [ ! -f "$g" ]; do sleep 0.1; done`
    : `sleep ${sleepSec.toFixed(2)}`
  return `${line('begin')}; ${wait}; ${line('done')}`
}

/** Capabilities: each is held by two of the three nodes, so a step has somewhere to fail over to. */
export const COLOURS = ['red', 'green', 'blue'] as const

export async function writeChaosWorkflow (rng: Random, paths: ChaosPaths, name: string): Promise<WorkflowModel> {
  const steps: StepModel[] = []
  const count = rng.between(2, 4)
  for (let i = 1; i <= count; i++) {
    const idempotent = rng.chance(0.5)
    steps.push({
      id: `s${i}`,
      idempotent,
      requires: rng.chance(0.6) ? rng.pick(COLOURS) : null,
      gated: rng.chance(0.35),
      onFailure: !idempotent && rng.chance(0.4) ? 'intervene' : 'abort'
    })
  }
  const requires = rng.chance(0.25) ? rng.pick(COLOURS) : null
  const definition = {
    name,
    ...(requires === null ? {} : { requires: { capabilities: [requires] } }),
    steps: steps.map(s => ({
      id: s.id,
      ...(s.idempotent ? { idempotent: true } : {}),
      ...(s.requires === null ? {} : { requires: { capabilities: [s.requires] } }),
      ...(s.onFailure === 'intervene' ? { onFailure: 'intervene' } : {}),
      run: { command: 'sh', args: ['-c', script(paths, s, rng.between(10, 80) / 100)] }
    }))
  }
  const file = path.join(paths.dir, `${name}.json`)
  await writeFile(file, JSON.stringify(definition, null, 2) + '\n')
  return { name, requires, steps, file }
}
