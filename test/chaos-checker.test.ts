// The chaos suite's checker on hand-made histories: a check that never fires
// proves nothing, so each rule is shown catching the fault it is there for.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkChaos, rejoinTimes, type ChaosHistory, type TrailRecord, type WorkflowStatusLite } from './helpers/chaos-checker.js'
import type { WorkflowModel } from './helpers/chaos-workflows.js'
import { Random } from './helpers/chaos-random.js'

const R = 'a'.repeat(64)
const E = 'e'.repeat(64)
const model: WorkflowModel = {
  name: 'W',
  requires: null,
  file: '/dev/null',
  steps: [{ id: 's1', idempotent: false, requires: null, gated: false, onFailure: 'intervene' }, { id: 's2', idempotent: true, requires: 'red', gated: true, onFailure: 'abort' }]
}

function status (state: string, steps: Array<[string, string | null, string | null]>, error: string | null = null): WorkflowStatusLite {
  return { id: 'wf-1', name: 'W', state, node: R, error, steps: steps.map(([s, node, err], i) => ({ id: `s${i + 1}`, state: s, attempts: s === 'pending' ? 0 : 1, node, error: err })) }
}

function trail (...events: Array<[string, string, string?, string?]>): TrailRecord[] {
  return events.map(([event, step, source, message], i) => ({ seq: i + 1, entry: { timestamp: 1000 + i, event, workflowId: 'wf-1', workflowStep: step, sourceNodeId: source ?? R, message: message ?? '' } }))
}

/** A clean run: s1 here, s2 on E, both completed and in the trail. */
function clean (): ChaosHistory {
  return {
    started: [{ id: 'wf-1', requester: R }],
    models: new Map([['W', model]]),
    held: new Map([[R, [status('completed', [['completed', R, null], ['completed', E, null]])]], [E, []]]),
    ledger: [`begin wf-1 s1 ${R} 10`, `done wf-1 s1 ${R} 10`, `begin wf-1 s2 ${E} 11`, `done wf-1 s2 ${E} 11`],
    trails: new Map([[R, trail(['step_start', 's1'], ['step_complete', 's1'], ['step_start', 's2'], ['step_exec_start', 's2', E], ['step_exec_complete', 's2', E], ['step_complete', 's2'])], [E, []]])
  }
}

test('a clean history has no violations', () => {
  const v = checkChaos(clean())
  assert.deepEqual(v.violations, [])
  assert.deepEqual(v.outcomes, { completed: 1 })
  assert.equal(v.stepRuns, 2)
})

test('a workflow acknowledged but known to no node is lost; one that ran but is known to nobody too', () => {
  const h = clean()
  h.held = new Map([[R, []], [E, []]])
  const v = checkChaos(h)
  assert.ok(v.violations.some(x => x.startsWith('LOST: wf-1, acknowledged')), v.violations.join('\n'))
  assert.ok(v.violations.some(x => x.startsWith('LOST: wf-1 ran steps')), v.violations.join('\n'))
})

test('a non-idempotent step run twice is caught from the ledger', () => {
  const h = clean()
  h.ledger.splice(2, 0, `begin wf-1 s1 ${E} 12`)
  assert.ok(checkChaos(h).violations.some(x => /non-idempotent step s1 ran 2 times/.test(x)))
})

test('a completed step that never did its work, or did it elsewhere, is caught', () => {
  const h = clean()
  h.ledger = h.ledger.filter(l => !l.startsWith('done wf-1 s2'))
  assert.ok(checkChaos(h).violations.some(x => /step s2 is completed but never did its work/.test(x)))
  const h2 = clean()
  h2.ledger = h2.ledger.map(l => l.replace(`done wf-1 s2 ${E}`, `done wf-1 s2 ${R}`))
  assert.ok(checkChaos(h2).violations.some(x => /completed on eeeeeeee but did its work only on aaaaaaaa/.test(x)))
})

test('a step started before the one before it was done is caught', () => {
  const h = clean()
  h.ledger = [`begin wf-1 s1 ${R} 10`, `begin wf-1 s2 ${E} 11`, `done wf-1 s1 ${R} 10`, `done wf-1 s2 ${E} 11`]
  assert.ok(checkChaos(h).violations.some(x => /step s2 started before step s1 was done/.test(x)))
})

test('failures: an interrupted non-idempotent step is allowed; an idempotent one failing, or an unexplained reason, is not', () => {
  const h = clean()
  h.models.set('W', { ...model, steps: model.steps.map(st => ({ ...st, onFailure: 'abort' as const })) })
  h.held.set(R, [status('failed', [['failed', R, 'interrupted: the node stopped while this step was running'], ['pending', null, null]], 'step s1 failed: interrupted: …')])
  h.ledger = [`begin wf-1 s1 ${R} 10`]
  h.trails.set(R, trail(['step_start', 's1'], ['workflow_resume', 's1', R, 'resumed at step s1, which was interrupted'], ['workflow_failed', '']))
  const ok = checkChaos(h)
  assert.deepEqual(ok.violations, [])
  assert.deepEqual(ok.outcomes, { 'failed: step interrupted by a restart': 1 })

  h.held.set(R, [status('failed', [['completed', R, null], ['failed', E, 'exit code 1']], 'step s2 failed: exit code 1')])
  h.ledger = [`begin wf-1 s1 ${R} 10`, `done wf-1 s1 ${R} 10`, `begin wf-1 s2 ${E} 11`]
  h.trails.set(R, trail(['step_complete', 's1'], ['step_exec_start', 's2', E], ['step_failed', 's2']))
  const bad = checkChaos(h).violations
  assert.ok(bad.some(x => /idempotent step s2 failed/.test(x)), bad.join('\n'))
  assert.ok(bad.some(x => /for a reason no crash explains/.test(x)), bad.join('\n'))
})

test('a step that asks on failure may be skipped or aborted by a person; one that does not ask may not be skipped', () => {
  const h = clean()
  const interrupted = 'interrupted: the node stopped while this step was running'
  h.held.set(R, [status('completed', [['skipped', R, interrupted], ['completed', E, null]])])
  h.ledger = [`begin wf-1 s1 ${R} 10`, `begin wf-1 s2 ${E} 11`, `done wf-1 s2 ${E} 11`]
  h.trails.set(R, trail(['step_start', 's1'], ['workflow_resume', 's1', R, 'which was interrupted'], ['intervention_request', 's1'], ['step_exec_start', 's2', E], ['step_exec_complete', 's2', E]))
  const skipped = checkChaos(h)
  assert.deepEqual(skipped.violations, [])
  assert.deepEqual(skipped.outcomes, { 'completed, a failed step skipped by a person': 1 })

  h.held.set(R, [status('failed', [['failed', R, interrupted], ['pending', null, null]], 'aborted at step s1 by someone')])
  h.ledger = [`begin wf-1 s1 ${R} 10`]
  assert.deepEqual(checkChaos(h).violations, [])
  h.held.set(R, [status('failed', [['failed', R, interrupted], ['pending', null, null]], 'step s1 failed: interrupted')])
  assert.ok(checkChaos(h).violations.some(x => /its reason is not 'aborted at step s1…'/.test(x)), 'a step that asks does not fail the workflow by itself')

  const h2 = clean()
  h2.models.set('W', { ...model, steps: model.steps.map(st => ({ ...st, onFailure: 'abort' as const })) })
  h2.held.set(R, [status('completed', [['skipped', R, interrupted], ['completed', E, null]])])
  assert.ok(checkChaos(h2).violations.some(x => /step s1 was skipped, but it never asks/.test(x)))
})

test('a step failed after the trail recorded it completed is caught', () => {
  const h = clean()
  h.models.set('W', { ...model, steps: model.steps.map(st => ({ ...st, onFailure: 'abort' as const })) })
  h.held.set(R, [status('failed', [['failed', E, 'interrupted: the node stopped while this step was running'], ['pending', null, null]], 'step s1 failed: interrupted')])
  h.ledger = [`begin wf-1 s1 ${E} 10`, `done wf-1 s1 ${E} 10`]
  h.trails.set(R, trail(['step_start', 's1'], ['step_exec_start', 's1', E], ['step_exec_complete', 's1', E], ['workflow_resume', 's1', R, 'which was interrupted'], ['workflow_failed', '']))
  assert.ok(checkChaos(h).violations.some(x => /step s1 was failed .* after the trail recorded it completed \(entry 3, step_exec_complete/.test(x)))
})

test('a run on another node missing from the requester\'s trail is caught, and so is a workflow left unfinished', () => {
  const h = clean()
  h.trails.set(R, (h.trails.get(R) as TrailRecord[]).filter(r => r.entry.event !== 'step_exec_start'))
  assert.ok(checkChaos(h).violations.some(x => /ran 1 time\(s\) on eeeeeeee, but its node's trail has 0 step_exec_start/.test(x)))
  const h2 = clean()
  h2.held.set(R, [status('waiting_node', [['completed', R, null], ['pending', null, null]], 'no node that is up meets capability \'red\'')])
  assert.ok(checkChaos(h2).violations.some(x => /not finished after the chaos: waiting_node/.test(x)))
})

test('rejoin times come from each restarted node\'s own trail', () => {
  const at = (seq: number, timestamp: number, event: string, message = ''): TrailRecord => ({ seq, entry: { timestamp, event, workflowId: '', workflowStep: '', sourceNodeId: R, message } })
  const trails = new Map<string, TrailRecord[]>([
    [R, [at(1, 0, 'node_start'), at(2, 5, 'node_join', `node b (${E.slice(0, 8)}) joined`), at(3, 100, 'node_start'), at(4, 400, 'node_join', `node b (${E.slice(0, 8)}) joined`)]],
    [E, [at(1, 0, 'node_start')]]
  ])
  assert.deepEqual(rejoinTimes(trails), [300])
})

test('the PRNG is a pure function of its seed', () => {
  const a = new Random(42)
  const b = new Random(42)
  const draws = Array.from({ length: 50 }, () => a.between(0, 1000))
  assert.deepEqual(Array.from({ length: 50 }, () => b.between(0, 1000)), draws)
  const c = new Random(43)
  assert.notDeepEqual(Array.from({ length: 50 }, () => c.between(0, 1000)), draws, 'another seed, another run')
  assert.ok(draws.every(d => d >= 0 && d <= 1000))
})
