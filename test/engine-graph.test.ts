// The engine runs a workflow as a graph: branches side by side, matrix instances,
// conditions, retries with backoff, a person's question holding up one branch only,
// and a crash mid-fan-out. A scripted process runner, the real store and trail.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { NodeFileSystem } from '../adapters/node/fs.js'
import type { WorkflowRun } from '../core/workflow/run.js'
import { toStatus } from '../core/workflow/status.js'
import { parseWorkflow } from '../core/workflow/validate.js'
import { resolveInputs } from '../core/workflow/inputs.js'
import { FakeProcessRunner, fail } from './helpers/fake-processes.js'
import { crypto, openEngine, reach, type World } from './helpers/engine-harness.js'
import { eventually, makeTempDir } from './helpers/tmp.js'

const fs = new NodeFileSystem()

async function open (t: TestContext, w?: World, processes = new FakeProcessRunner()): Promise<{ w: World, processes: FakeProcessRunner } & Awaited<ReturnType<typeof openEngine>>> {
  const world = w ?? { dir: await makeTempDir(t, 'se-graph-'), identity: crypto.generateKeyPair() }
  const opened = await openEngine(t, world, { fs, processes, nodeId: 'ab'.repeat(32), cli: 'se', prefix: 'g' })
  return { w: world, processes, ...opened }
}

async function start (h: { engine: Awaited<ReturnType<typeof openEngine>>['engine'] }, yaml: string, inputs: Record<string, string> = {}): Promise<WorkflowRun> {
  const definition = parseWorkflow(yaml, 'graph.yaml')
  return await h.engine.start({ definition, source: 'graph.yaml', sourceFile: null, inputs: resolveInputs(definition, inputs, '/w', 'graph.yaml'), workdir: '/w', requestedBy: 'me' })
}

const DIAMOND = `
name: DIAMOND
steps:
  - { id: a, run: { command: a } }
  - { id: b, needs: [a], run: { command: b } }
  - { id: c, needs: [a], run: { command: c } }
  - { id: d, needs: [b, c], run: { command: d } }
`

test('a diamond runs b and c at the same time, and d only after both', async t => {
  const h = await open(t)
  h.processes.on('b', 'hang').on('c', 'hang')
  const run = await start(h, DIAMOND)
  await h.processes.waitForCalls(3)
  assert.deepEqual(h.processes.commands().slice(0, 3).sort(), ['a', 'b', 'c'])
  const b = h.processes.calls[1]!
  const c = h.processes.calls[2]!
  b.finish({ exitCode: 0 })
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.equal(h.processes.calls.length, 3, 'd waits for c too')
  c.finish({ exitCode: 0 })
  const done = await reach(h, run.id, 'completed')
  assert.deepEqual(done.steps.map(s => s.state), ['completed', 'completed', 'completed', 'completed'])
  assert.deepEqual(toStatus(done).steps.find(s => s.id === 'd')?.needs, ['b', 'c'])
})

test('a matrix step runs one instance per combination, bounded by maxParallel, and its dependants wait for all', async t => {
  const h = await open(t)
  h.processes.setScript(spec => spec.command === 'shard' ? 'hang' : {})
  const run = await start(h, `
name: MATRIX
steps:
  - id: test
    matrix: { shard: [1, 2, 3], os: [linux] }
    maxParallel: 2
    run: { command: shard, args: ["\${matrix.shard}-\${matrix.os}"] }
  - { id: after, run: { command: after } }
`)
  await h.processes.waitForCalls(2)
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.equal(h.processes.calls.length, 2, 'maxParallel 2')
  assert.deepEqual(h.engine.get(run.id)?.steps.map(s => s.id), ['test[shard=1,os=linux]', 'test[shard=2,os=linux]', 'test[shard=3,os=linux]', 'after'])
  h.processes.calls[0]!.finish({ exitCode: 0 })
  await h.processes.waitForCalls(3)
  assert.deepEqual(h.processes.specs.map(s => s.args[0]), ['1-linux', '2-linux', '3-linux'])
  assert.equal(h.processes.specs[2]?.env?.SE_MATRIX_SHARD, '3')
  h.processes.calls[1]!.finish({ exitCode: 0 })
  await new Promise(resolve => setTimeout(resolve, 50))
  assert.equal(h.processes.calls.length, 3, 'after waits for every instance')
  h.processes.calls[2]!.finish({ exitCode: 0 })
  await reach(h, run.id, 'completed')
  assert.equal(h.processes.commands()[3], 'after')
})

test('failFast cancels the other instances when one fails; without it they finish and the run fails after', async t => {
  const h = await open(t)
  h.processes.setScript(spec => spec.args[0] === '2' ? fail(3) : 'hang')
  const fast = await start(h, 'name: FAST\nsteps:\n  - { id: t, matrix: { n: [1, 2, 3] }, run: { command: t, args: ["${matrix.n}"] } }\n')
  const failed = await reach(h, fast.id, 'failed')
  assert.match(failed.error ?? '', /step t\[n=2\] failed/)
  await eventually('the other instances killed', () => h.processes.calls.filter(c => c.spec.args[0] !== '2').every(c => c.kills.length > 0))
  assert.match(failed.steps[0]?.error ?? '', /cancelled: instance t\[n=2\] failed \(failFast\)/)

  const slow = await start(h, 'name: SLOW\nsteps:\n  - { id: t, failFast: false, matrix: { n: [1, 2] }, run: { command: s, args: ["${matrix.n}"] } }\n')
  await eventually('both instances running', () => h.processes.calls.filter(c => c.spec.command === 's').length === 2)
  const one = h.processes.calls.find(c => c.spec.command === 's' && c.spec.args[0] === '1')!
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.equal(h.engine.get(slow.id)?.state, 'running', 'the other instance goes on')
  one.finish({ exitCode: 0 })
  const after = await reach(h, slow.id, 'failed')
  assert.deepEqual(after.steps.map(s => s.state), ['completed', 'failed'])
})

test('a false if skips a step, a true one runs it, and a skipped step counts as done for its dependants', async t => {
  const h = await open(t)
  const run = await start(h, `
name: COND
inputs: { release: { default: "no" } }
steps:
  - { id: build, run: { command: build } }
  - { id: publish, if: "\${inputs.release} == 'yes'", run: { command: publish } }
  - { id: check, if: "steps.build.exitCode == 0 && steps.publish.state == 'skipped'", run: { command: check } }
`)
  const done = await reach(h, run.id, 'completed')
  assert.deepEqual(done.steps.map(s => s.state), ['completed', 'skipped', 'completed'])
  assert.deepEqual(h.processes.commands(), ['build', 'check'])
  const trail = await h.audit.read()
  assert.ok(trail.some(r => r.entry.event === 'step_skipped' && /condition \$\{inputs.release\} == 'yes' is false/.test(r.entry.message)))
})

test('retries wait out their backoff, doubling, recorded in the trail', async t => {
  const h = await open(t)
  h.processes.on('flaky', fail(1), fail(1))
  const begun = Date.now()
  const run = await start(h, 'name: RETRY\nsteps:\n  - { id: f, onFailure: { retry: 2, backoffSec: 0.2 }, run: { command: flaky } }\n')
  const done = await reach(h, run.id, 'completed')
  assert.ok(Date.now() - begun >= 550, 'waited 0.2 s then 0.4 s')
  assert.equal(done.steps[0]?.attempts, 3)
  const retries = (await h.audit.read()).filter(r => r.entry.event === 'step_retry').map(r => r.entry.performanceMetrics.backoffMs)
  assert.deepEqual(retries, [200, 400])
})

test('a question in one branch holds up only that branch', async t => {
  const h = await open(t)
  h.processes.on('long', 'hang')
  const run = await start(h, `
name: BRANCHES
steps:
  - { id: ask, needs: [], intervention: { prompt: "go?", choices: [approve, reject] } }
  - { id: after-ask, needs: [ask], run: { command: after-ask } }
  - { id: long, needs: [], run: { command: long } }
  - { id: after-long, needs: [long], run: { command: after-long } }
`)
  await eventually('the question', () => h.engine.get(run.id)?.interventions.length === 1)
  const long = await h.processes.waitForCalls(1)
  assert.equal(h.engine.get(run.id)?.state, 'running', 'the other branch runs on')
  long.finish({ exitCode: 0 })
  await h.processes.waitForCalls(2)
  assert.equal(h.processes.commands()[1], 'after-long')
  const waiting = await reach(h, run.id, 'waiting_intervention')
  assert.deepEqual(toStatus(waiting).interventions.map(i => i.stepId), ['ask'])
  await h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: 'me', stepId: 'ask' })
  const done = await reach(h, run.id, 'completed')
  assert.deepEqual(done.steps.map(s => s.state), ['completed', 'completed', 'completed', 'completed'])
})

test('kill -9 mid-fan-out: completed instances never run again, an idempotent running one runs again, the rest start', async t => {
  const first = await open(t)
  first.processes.setScript(spec => spec.args[0] === '1' ? {} : 'hang')
  const yaml = 'name: FAN\nsteps:\n  - { id: t, idempotent: true, matrix: { n: [1, 2, 3] }, maxParallel: 2, run: { command: t, args: ["${matrix.n}"] } }\n'
  const run = await start(first, yaml)
  await first.processes.waitForCalls(3)
  await eventually('instance 1 done, two running', () => first.engine.get(run.id)?.steps[0]?.state === 'completed' && first.engine.get(run.id)?.steps.filter(s => s.state === 'running').length === 2)
  await first.crash()

  const second = await open(t, first.w)
  await second.engine.recover()
  const done = await reach(second, run.id, 'completed')
  assert.deepEqual(second.processes.specs.map(s => s.args[0]).sort(), ['2', '3'], 'instance 1 completed before the crash and is not run again')
  assert.deepEqual(done.steps.map(s => s.state), ['completed', 'completed', 'completed'])
})

test('an answer while another branch still runs starts what waited for it at once', async t => {
  const h = await open(t)
  h.processes.on('long', 'hang')
  const run = await start(h, `
name: ANSWER
steps:
  - { id: ask, needs: [], intervention: { prompt: "go?", choices: [approve, reject] } }
  - { id: after-ask, needs: [ask], run: { command: after-ask } }
  - { id: long, needs: [], run: { command: long } }
`)
  const long = await h.processes.waitForCalls(1)
  await eventually('the question', () => h.engine.get(run.id)?.interventions.length === 1)
  await h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: 'me', stepId: 'ask' })
  await h.processes.waitForCalls(2)
  assert.equal(h.processes.commands()[1], 'after-ask')
  assert.equal(long.finished, false, 'long is still running')
  long.finish({ exitCode: 0 })
  await reach(h, run.id, 'completed')
})

test('two branches asking at once: each answered by its step, a wrong step refused', async t => {
  const h = await open(t)
  const run = await start(h, `
name: TWO
steps:
  - { id: eu, needs: [], intervention: { prompt: "EU?", choices: [approve, reject] } }
  - { id: us, needs: [], intervention: { prompt: "US?", choices: [approve, reject] } }
`)
  const waiting = await reach(h, run.id, 'waiting_intervention')
  assert.deepEqual(toStatus(waiting).interventions.map(i => i.prompt), ['EU?', 'US?'])
  await assert.rejects(h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: 'me', stepId: 'asia' }), /NOT_WAITING|not at step asia/)
  await h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: 'me', stepId: 'us' })
  const one = await eventually('one question left', () => { const r = h.engine.get(run.id); return r?.interventions.length === 1 ? r : undefined })
  assert.equal(one.interventions[0]?.stepId, 'eu')
  await h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: 'me', stepId: '' })
  const done = await reach(h, run.id, 'completed')
  assert.deepEqual(toStatus(done).interventions, [])
})

test('a retry waiting out its backoff goes on while another branch waits for a person', async t => {
  const h = await open(t)
  h.processes.on('flaky', fail(1))
  const run = await start(h, `
name: RETRY_AND_ASK
steps:
  - { id: ask, needs: [], intervention: { prompt: "go?", choices: [approve, reject] } }
  - { id: flaky, needs: [], onFailure: { retry: 1, backoffSec: 0.3 }, run: { command: flaky } }
`)
  await eventually('flaky to complete on its retry', () => h.engine.get(run.id)?.steps[1]?.state === 'completed')
  assert.equal(h.engine.get(run.id)?.steps[1]?.attempts, 2)
  await reach(h, run.id, 'waiting_intervention')
  await h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: 'me', stepId: 'ask' })
  await reach(h, run.id, 'completed')
})
