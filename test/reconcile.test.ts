// A run read from its file after a crash is brought up to its trail: what the trail
// recorded for the step's current attempt (here, or on the executor) stands.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reconcileWithTrail } from '../core/workflow/reconcile.js'
import { newStepRun, type WorkflowRun } from '../core/workflow/run.js'
import type { AuditRecord } from '../core/protocol/types.js'

const SELF = 'a'.repeat(64)
const EXECUTOR = 'b'.repeat(64)

function run (attempts = 1): WorkflowRun {
  // A line, as a file without needs reads: test follows build.
  const steps = [newStepRun('build', 'run'), { ...newStepRun('test', 'run'), needs: ['build'] }]
  steps[0] = { ...steps[0]!, state: 'completed', attempts: 1, exitCode: 0 }
  steps[1] = { ...steps[1]!, state: 'running', attempts, startedAt: 1000 }
  return {
    id: 'wf-1', name: 'FLOW', definition: { name: 'FLOW', steps: [{ id: 'build', run: { command: 'true' } }, { id: 'test', run: { command: 'true' } }] } as WorkflowRun['definition'],
    source: 'f', sourceDir: '/', inputs: {}, workdir: '/', state: 'running', node: SELF, requestedBy: 'me', createdAt: 0, startedAt: 0, endedAt: null, updatedAt: 0,
    error: null, intervention: null, interventions: [], steps, revision: 3
  }
}

let seq = 0
function record (event: string, step: string, metrics: Record<string, number> = {}, source = SELF, workflowId = 'wf-1'): AuditRecord {
  return {
    seq: ++seq, prevHash: '', hash: '', signature: '', originSignature: source === SELF ? null : 'sig',
    entry: { timestamp: 5000 + seq, sourceNodeId: source, workflowId, workflowStep: step, executionContext: 'SE_DISTRIBUTED', domains: [], files: [], interventionRequired: false, performanceMetrics: metrics, event, message: `${event} ${step}`, decision: null }
  }
}

test('the executor\'s completion of the current attempt, recorded before the crash, completes the step', () => {
  const r = run()
  const note = reconcileWithTrail(r, [record('step_start', 'test'), record('step_exec_start', 'test', {}, EXECUTOR), record('step_exec_complete', 'test', { durationMs: 40, exitCode: 0, attempts: 1 }, EXECUTOR)])
  assert.match(note ?? '', /step test completed on node bbbbbbbbbbbb before the restart/)
  assert.equal(r.steps[1]?.state, 'completed')
  assert.equal(r.steps[1]?.exitCode, 0)
  assert.equal(r.steps[1]?.durationMs, 40)
})

test('a local step_complete written with the next transition, whose file was not, completes the step', () => {
  const r = run(2)
  assert.notEqual(reconcileWithTrail(r, [record('step_start', 'test'), record('step_failed', 'test', { attempts: 1 }), record('step_start', 'test'), record('step_complete', 'test', { durationMs: 7, exitCode: 0, attempts: 2 })]), null)
  assert.equal(r.steps[1]?.state, 'completed')
})

test('an executor\'s failure of the current attempt fails the step with what it said, for onFailure to decide', () => {
  const r = run()
  reconcileWithTrail(r, [record('step_start', 'test'), record('step_exec_failed', 'test', { durationMs: 5, exitCode: 3, attempts: 1 }, EXECUTOR)])
  assert.equal(r.steps[1]?.state, 'failed')
  assert.equal(r.steps[1]?.exitCode, 3)
  assert.match(r.steps[1]?.error ?? '', /before the restart/)
})

test('nothing changes when the trail has no result for the current attempt', () => {
  const cases: AuditRecord[][] = [
    [],
    [record('step_start', 'test')],
    // An earlier attempt's late result is not this attempt's.
    [record('step_start', 'test'), record('step_exec_complete', 'test', { attempts: 1 }, EXECUTOR)],
    // Another workflow's, or another step's.
    [record('step_start', 'test', {}, SELF, 'wf-2'), record('step_complete', 'test', { attempts: 2 }, SELF, 'wf-2')],
    [record('step_start', 'test'), record('step_complete', 'build', { attempts: 2 })],
    // A result from before the attempt started.
    [record('step_complete', 'test', { attempts: 2 }), record('step_start', 'test')]
  ]
  for (const records of cases) {
    const r = run(2)
    assert.equal(reconcileWithTrail(r, records), null)
    assert.equal(r.steps[1]?.state, 'running')
  }
})

// The trail as the journal: a file written before steps started (their starts and
// silent completions are in the trail only) is brought up to it step after step.
function behind (): WorkflowRun {
  const r = run()
  r.steps = [newStepRun('build', 'run'), { ...newStepRun('test', 'run'), needs: ['build'] }]
  return r
}

test('starts and silent completions the file does not have are read back from the trail, in order', () => {
  const r = behind()
  const note = reconcileWithTrail(r, [
    record('step_start', 'build', { attempts: 1 }), record('step_complete', 'build', { durationMs: 3, exitCode: 0, attempts: 1, outputBytes: 0 }),
    record('step_start', 'test', { attempts: 1 })
  ])
  assert.match(note ?? '', /the trail had 2 step starts and 1 silent completion the file had not; step test was running/)
  assert.deepEqual(r.steps.map(s => [s.state, s.attempts, s.node]), [['completed', 1, SELF], ['running', 1, SELF]])
  assert.equal(r.steps[0]?.durationMs, 3)
  assert.equal(r.state, 'running')
})

test('a completion that printed something is read back as completed, its output said lost', () => {
  const r = behind()
  const note = reconcileWithTrail(r, [record('step_start', 'build', { attempts: 1 }), record('step_complete', 'build', { durationMs: 3, exitCode: 0, attempts: 1, outputBytes: 12 })])
  assert.match(note ?? '', /step build completed before the restart .*its output was not kept/)
  assert.equal(r.steps[0]?.state, 'completed')
  assert.equal(r.steps[1]?.state, 'pending')
})

test('a start is read back only for the attempt after the file\'s; a start without its attempt (an older trail) is not', () => {
  for (const records of [
    [record('step_start', 'build')],
    [record('step_start', 'build', { attempts: 2 })],
    [record('step_start', 'build', { attempts: 1 }, SELF, 'wf-2')]
  ]) {
    const r = behind()
    assert.equal(reconcileWithTrail(r, records), null)
    assert.equal(r.steps[0]?.state, 'pending')
  }
  const retried = behind()
  retried.steps[0] = { ...retried.steps[0]!, attempts: 1, state: 'pending', exitCode: 1, stderr: 'it broke' }
  reconcileWithTrail(retried, [record('step_start', 'build', { attempts: 1 }), record('step_failed', 'build', { attempts: 1 }), record('step_start', 'build', { attempts: 2 }), record('step_complete', 'build', { exitCode: 0, attempts: 2, outputBytes: 0 })])
  assert.deepEqual([retried.steps[0]?.state, retried.steps[0]?.attempts, retried.steps[0]?.exitCode, retried.steps[0]?.stderr], ['completed', 2, 0, ''])
})

test('a failure read back stops the replay there, for onFailure to decide', () => {
  const r = behind()
  reconcileWithTrail(r, [record('step_start', 'build', { attempts: 1 }), record('step_failed', 'build', { durationMs: 2, exitCode: 4, attempts: 1 }), record('step_start', 'test', { attempts: 1 })])
  assert.deepEqual(r.steps.map(s => s.state), ['failed', 'pending'])
})
