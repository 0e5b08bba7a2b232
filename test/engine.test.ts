// The workflow state machine, with a scripted process runner and the real store
// and audit trail on a temporary directory.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { AuditLog } from '../core/audit/log.js'
import { SeError } from '../core/errors.js'
import type { WorkflowEvent } from '../core/protocol/types.js'
import { WorkflowEngine, type StepExecutor } from '../core/workflow/engine.js'
import type { WorkflowRun } from '../core/workflow/run.js'
import { toStatus } from '../core/workflow/status.js'
import { WorkflowStore } from '../core/workflow/store.js'
import { parseWorkflow } from '../core/workflow/validate.js'
import { resolveInputs } from '../core/workflow/inputs.js'
import { FakeProcessRunner, fail, ok } from './helpers/fake-processes.js'
import { crypto, onDisk, openEngine, reach, type World } from './helpers/engine-harness.js'
import { delay, eventually, makeTempDir } from './helpers/tmp.js'

const fs = new NodeFileSystem()
const NODE_ID = 'cd'.repeat(32)


interface Harness {
  engine: WorkflowEngine
  processes: FakeProcessRunner
  audit: AuditLog
  store: WorkflowStore
  events: WorkflowEvent[]
  /** The run's state at each event it emitted, in order, repeats collapsed. */
  states (id: string): string[]
  /** Stops the engine the way a crash would: nothing more is written, the audit file is closed. */
  crash (): Promise<void>
}

async function world (t: TestContext): Promise<World> {
  return { dir: await makeTempDir(t, 'se-engine-'), identity: crypto.generateKeyPair() }
}

async function harness (t: TestContext, w: World, opts: { processes?: FakeProcessRunner, maxConcurrent?: number, env?: Record<string, string>, executors?: StepExecutor[] } = {}): Promise<Harness> {
  const processes = opts.processes ?? new FakeProcessRunner()
  const { engine, store, audit, crash } = await openEngine(t, w, {
    fs, processes, nodeId: NODE_ID, cli: '/usr/bin/se --data-dir /d', prefix: 'e',
    env: name => opts.env?.[name],
    ...(opts.maxConcurrent === undefined ? {} : { maxConcurrent: opts.maxConcurrent }),
    ...(opts.executors === undefined ? {} : { executors: opts.executors })
  })
  const events: WorkflowEvent[] = []
  const seen: Array<{ id: string, state: string }> = []
  engine.onEvent(e => {
    events.push(e)
    seen.push({ id: e.workflowId, state: engine.get(e.workflowId)?.state ?? '?' })
  })
  return {
    engine,
    processes,
    audit,
    store,
    events,
    states: id => {
      const out: string[] = []
      for (const e of seen) {
        if (e.id === id && out[out.length - 1] !== e.state) out.push(e.state)
      }
      return out
    },
    crash
  }
}

function definition (yaml: string): ReturnType<typeof parseWorkflow> {
  return parseWorkflow(yaml, 'test.yaml')
}

const WORKDIR = '/home/me/project'

/** Starts a workflow the way the node does: inputs checked and defaulted first. */
async function start (h: Harness, yaml: string, given: Record<string, string> = {}): Promise<WorkflowRun> {
  const def = definition(yaml)
  const inputs = resolveInputs(def, given, WORKDIR, 'test')
  return await h.engine.start({ definition: def, source: '/flows/test.yaml', sourceFile: '/flows/test.yaml', inputs, workdir: WORKDIR, requestedBy: 'tester' })
}


async function auditEvents (h: Harness, id: string): Promise<string[]> {
  return (await h.audit.read({ workflowId: id })).map(r => r.entry.event)
}

const RELEASE = `
name: RELEASE
inputs:
  level: { default: patch }
steps:
  - id: bump
    run: { command: bump, args: ["\${inputs.level}"] }
  - id: confirm
    intervention: { prompt: "Tag v\${steps.bump.stdout}?" }
  - id: tag
    run: { command: git, args: [tag, "v\${steps.bump.stdout}", "-m", "by \${steps.confirm.choice}: \${steps.confirm.comment}"] }
`

test('pending → running → waiting_intervention → running → completed, persisted and audited', async (t) => {
  const w = await world(t)
  const h = await harness(t, w)
  h.processes.on('bump', ok('1.2.4\n'))
  const run = await start(h, RELEASE, { level: 'minor' })
  assert.equal(h.events[0]?.state, 'pending', 'start announces the workflow as pending')
  // Read at once; the driver may have gone on meanwhile (fake steps are instant), but never from nothing.
  assert.equal((await onDisk(w, run.id)).id, run.id, 'the start is on disk before start() returns')
  const waiting = await reach(h, run.id, 'waiting_intervention')
  assert.deepEqual(h.processes.commands(), ['bump minor'])
  assert.equal(h.processes.specs[0]?.cwd, WORKDIR, 'without cwd a step runs in the caller\'s working directory')
  assert.deepEqual({ ...waiting.intervention, requestedAt: 0 }, { stepId: 'confirm', prompt: 'Tag v1.2.4?', choices: ['approve', 'reject'], reason: 'step', requestedAt: 0 })
  assert.equal(waiting.steps[0]?.state, 'completed')
  assert.equal(waiting.steps[0]?.stdout, '1.2.4\n')
  assert.equal(waiting.steps[1]?.state, 'waiting_intervention')
  const persisted = await onDisk(w, run.id)
  assert.equal(persisted.state, 'waiting_intervention')
  assert.equal(persisted.intervention?.prompt, 'Tag v1.2.4?')
  assert.equal(toStatus(waiting).currentStep, 'confirm')

  await h.engine.resolve(run.id, { choice: 'approve', comment: 'looks good', decidedBy: 'alice', stepId: '' })
  const done = await reach(h, run.id, 'completed')
  assert.deepEqual(h.states(run.id), ['pending', 'running', 'waiting_intervention', 'running', 'completed'])
  assert.deepEqual(h.processes.specs[1]?.args, ['tag', 'v1.2.4', '-m', 'by approve: looks good'])
  assert.deepEqual(done.steps.map(s => [s.id, s.state, s.attempts]), [['bump', 'completed', 1], ['confirm', 'completed', 1], ['tag', 'completed', 1]])
  assert.equal(done.steps[1]?.choice, 'approve')
  assert.equal(done.steps[1]?.decidedBy, 'alice')
  assert.equal(done.intervention, null)
  assert.equal(done.error, null)
  assert.ok(done.endedAt !== null && done.startedAt !== null && done.endedAt >= done.startedAt)
  const final = await onDisk(w, run.id)
  assert.equal(final.state, 'completed')
  assert.equal(final.revision, done.revision)
  assert.deepEqual(await auditEvents(h, run.id), [
    'workflow_start', 'step_start', 'step_complete', 'intervention_request',
    'intervention_resolved', 'workflow_resume', 'step_start', 'step_complete', 'workflow_complete'
  ])
  assert.equal((await h.audit.verify()).ok, true)
})

test('reject at an intervention step cancels the workflow', async (t) => {
  const w = await world(t)
  const h = await harness(t, w)
  h.processes.on('bump', ok('2.0.0'))
  const run = await start(h, RELEASE)
  await reach(h, run.id, 'waiting_intervention')
  const after = await h.engine.resolve(run.id, { choice: 'reject', comment: 'not today', decidedBy: 'bob', stepId: '' })
  assert.equal(after.state, 'cancelled')
  assert.match(after.error ?? '', /rejected at step confirm by bob \(not today\)/)
  assert.equal(after.steps[1]?.state, 'failed')
  assert.equal(after.steps[2]?.state, 'pending')
  assert.deepEqual(h.processes.commands(), ['bump patch'], 'the tag step never ran')
  assert.equal((await onDisk(w, run.id)).state, 'cancelled')
  assert.deepEqual((await auditEvents(h, run.id)).slice(-2), ['intervention_resolved', 'workflow_cancelled'])
})

test('custom choices: a non-stopping choice continues and is visible to later steps', async (t) => {
  const h = await harness(t, await world(t))
  const run = await start(h, `
name: CHOOSE
steps:
  - id: ask
    intervention: { prompt: "Which way?", choices: [left, right] }
  - id: go
    run: { command: walk, args: ["\${steps.ask.choice}"] }
`)
  await reach(h, run.id, 'waiting_intervention')
  assert.deepEqual(h.engine.get(run.id)?.intervention?.choices, ['left', 'right'])
  await assert.rejects(h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '' }), (err: SeError) => err.code === 'INVALID_CHOICE')
  await h.engine.resolve(run.id, { choice: 'right', comment: null, decidedBy: '', stepId: '' })
  await reach(h, run.id, 'completed')
  assert.deepEqual(h.processes.commands(), ['walk right'])
})

test('INVALID_CHOICE names the choices; NOT_WAITING and UNKNOWN_WORKFLOW otherwise', async (t) => {
  const w = await world(t)
  const h = await harness(t, w)
  h.processes.on('bump', ok('1.0.0'))
  const run = await start(h, RELEASE)
  await reach(h, run.id, 'waiting_intervention')
  await assert.rejects(h.engine.resolve(run.id, { choice: 'maybe', comment: null, decidedBy: '', stepId: '' }), (err: unknown) => {
    assert.ok(err instanceof SeError)
    assert.equal(err.code, 'INVALID_CHOICE')
    assert.match(err.message, /'maybe' is not a choice at step confirm/)
    assert.equal(err.hint, 'choose one of: approve, reject')
    return true
  })
  assert.equal(h.engine.get(run.id)?.state, 'waiting_intervention', 'a wrong choice changes nothing')
  assert.equal((await onDisk(w, run.id)).state, 'waiting_intervention')
  await h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '' })
  await reach(h, run.id, 'completed')
  await assert.rejects(h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '' }), (err: SeError) => err.code === 'NOT_WAITING' && /is completed, not waiting/.test(err.message))
  await assert.rejects(h.engine.resolve('no-such-id', { choice: 'approve', comment: null, decidedBy: '', stepId: '' }), (err: SeError) => err.code === 'UNKNOWN_WORKFLOW')
})

test('NOT_WAITING while a step is running', async (t) => {
  const processes = new FakeProcessRunner(() => 'hang')
  const h = await harness(t, await world(t), { processes })
  const run = await start(h, 'name: R\nsteps:\n  - id: a\n    run: { command: sleep }\n')
  await processes.waitForCalls(1)
  assert.equal(h.engine.get(run.id)?.state, 'running')
  await assert.rejects(h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '' }), (err: SeError) => err.code === 'NOT_WAITING' && /is running/.test(err.message))
  processes.calls[0]?.finish(ok())
  await reach(h, run.id, 'completed')
})

test('onFailure retry: failing attempts are retried and counted', async (t) => {
  const h = await harness(t, await world(t))
  h.processes.on('flaky', fail(1, 'first'), fail(2, 'second'), ok('third time lucky'))
  const run = await start(h, 'name: R\nsteps:\n  - id: f\n    run: { command: flaky }\n    onFailure: { retry: 2 }\n  - id: after\n    run: { command: echo, args: ["${steps.f.stdout}"] }\n')
  const done = await reach(h, run.id, 'completed')
  assert.equal(done.steps[0]?.attempts, 3)
  assert.equal(done.steps[0]?.state, 'completed')
  assert.equal(done.steps[0]?.error, null)
  assert.deepEqual(h.processes.commands(), ['flaky', 'flaky', 'flaky', 'echo third time lucky'])
  const events = await auditEvents(h, run.id)
  assert.equal(events.filter(e => e === 'step_failed').length, 2)
  assert.equal(events.filter(e => e === 'step_retry').length, 2)
  const retries = (await h.audit.read({ workflowId: run.id })).filter(r => r.entry.event === 'step_retry').map(r => r.entry.message)
  assert.match(retries[0] ?? '', /1 of 3 attempts used/)
  assert.match(retries[1] ?? '', /2 of 3 attempts used/)
})

test('onFailure retry: when the retries run out the workflow fails', async (t) => {
  const w = await world(t)
  const h = await harness(t, w)
  h.processes.setScript(() => fail(3, 'line one\nthe real reason'))
  const run = await start(h, 'name: R\nsteps:\n  - id: f\n    run: { command: broken }\n    onFailure: { retry: 1 }\n  - id: never\n    run: { command: never }\n')
  const failed = await reach(h, run.id, 'failed')
  assert.equal(failed.steps[0]?.attempts, 2)
  assert.equal(failed.steps[0]?.state, 'failed')
  assert.equal(failed.steps[0]?.exitCode, 3)
  assert.equal(failed.steps[0]?.error, 'exit code 3: the real reason')
  assert.equal(failed.error, 'step f failed: exit code 3: the real reason')
  assert.equal(failed.steps[1]?.state, 'pending')
  assert.deepEqual(h.processes.commands(), ['broken', 'broken'])
  assert.equal((await onDisk(w, run.id)).state, 'failed')
})

test('onFailure abort (the default): the first failure fails the workflow', async (t) => {
  const h = await harness(t, await world(t))
  h.processes.on('a', fail(1, ''))
  const run = await start(h, 'name: R\nsteps:\n  - id: a\n    run: { command: a }\n  - id: b\n    run: { command: b }\n')
  const failed = await reach(h, run.id, 'failed')
  assert.equal(failed.error, 'step a failed: exit code 1')
  assert.deepEqual(h.processes.commands(), ['a'])
  assert.deepEqual((await auditEvents(h, run.id)).slice(-2), ['step_failed', 'workflow_failed'])
})

test('failure descriptions: timeout, signal, spawn error', async (t) => {
  const h = await harness(t, await world(t))
  h.processes.on('slow', { exitCode: null, signal: 'SIGTERM', timedOut: true, durationMs: 1500 })
  h.processes.on('killed', { exitCode: null, signal: 'SIGKILL', stderr: 'oom\n' })
  h.processes.on('missing', { exitCode: null, spawnError: "command 'missing' not found on PATH" })
  const runs = await Promise.all(['slow', 'killed', 'missing'].map(c => start(h, `name: R\nsteps:\n  - id: s\n    run: { command: ${c} }\n`)))
  const errors = await Promise.all(runs.map(async r => (await reach(h, r.id, 'failed')).steps[0]?.error))
  assert.deepEqual(errors, ['timed out after 1500 ms', 'killed by SIGKILL: oom', "command 'missing' not found on PATH"])
})

const INTERVENE = `
name: FIX
steps:
  - id: a
    run: { command: first }
  - id: b
    run: { command: second }
    onFailure: intervene
  - id: c
    run: { command: third }
`

test('onFailure intervene → retry runs the step again', async (t) => {
  const h = await harness(t, await world(t))
  h.processes.on('second', fail(1, 'flaky network'), ok())
  const run = await start(h, INTERVENE)
  const waiting = await reach(h, run.id, 'waiting_intervention')
  assert.equal(waiting.intervention?.reason, 'failure')
  assert.deepEqual(waiting.intervention?.choices, ['retry', 'skip', 'abort'])
  assert.match(waiting.intervention?.prompt ?? '', /Step b failed: exit code 1: flaky network/)
  assert.equal(waiting.steps[1]?.state, 'waiting_intervention')
  await h.engine.resolve(run.id, { choice: 'retry', comment: null, decidedBy: 'ops', stepId: '' })
  const done = await reach(h, run.id, 'completed')
  assert.equal(done.steps[1]?.attempts, 2)
  assert.equal(done.steps[1]?.state, 'completed')
  assert.deepEqual(h.processes.commands(), ['first', 'second', 'second', 'third'])
  assert.deepEqual(h.states(run.id), ['pending', 'running', 'waiting_intervention', 'running', 'completed'])
})

test('onFailure intervene → skip moves on to the next step', async (t) => {
  const h = await harness(t, await world(t))
  h.processes.on('second', fail())
  const run = await start(h, INTERVENE)
  await reach(h, run.id, 'waiting_intervention')
  await h.engine.resolve(run.id, { choice: 'skip', comment: 'not needed', decidedBy: 'ops', stepId: '' })
  const done = await reach(h, run.id, 'completed')
  assert.deepEqual(done.steps.map(s => s.state), ['completed', 'skipped', 'completed'])
  assert.equal(done.steps[1]?.attempts, 1)
  assert.deepEqual(h.processes.commands(), ['first', 'second', 'third'])
})

test('onFailure intervene → abort fails the workflow and leaves no step waiting', async (t) => {
  const w = await world(t)
  const h = await harness(t, w)
  h.processes.on('second', fail())
  const run = await start(h, INTERVENE)
  await reach(h, run.id, 'waiting_intervention')
  const after = await h.engine.resolve(run.id, { choice: 'abort', comment: null, decidedBy: 'ops', stepId: '' })
  assert.equal(after.state, 'failed')
  assert.match(after.error ?? '', /aborted at step b by ops/)
  assert.equal(after.intervention, null)
  assert.deepEqual(h.processes.commands(), ['first', 'second'])
  assert.equal(after.steps[2]?.state, 'pending')
  // A finished workflow must not report a step still waiting for a person.
  assert.equal(after.steps[1]?.state, 'failed', `step b is '${after.steps[1]?.state ?? ''}' in a failed workflow`)
  assert.equal((await onDisk(w, run.id)).steps[1]?.state, 'failed')
})

test('cancel while running kills the process and the workflow stays cancelled', async (t) => {
  const w = await world(t)
  const processes = new FakeProcessRunner(() => 'hang')
  const h = await harness(t, w, { processes })
  const run = await start(h, 'name: R\nsteps:\n  - id: long\n    run: { command: sleep, args: ["100"] }\n  - id: next\n    run: { command: next }\n')
  const proc = await processes.waitForCalls(1)
  await reach(h, run.id, 'running')
  const after = await h.engine.cancel(run.id, 'changed my mind')
  assert.equal(after.state, 'cancelled')
  assert.equal(after.error, 'changed my mind')
  assert.equal(after.steps[0]?.state, 'failed')
  assert.equal(after.steps[0]?.error, 'cancelled')
  assert.deepEqual(proc.kills, ['SIGTERM'])
  await eventually('the killed process to end', () => proc.finished)
  await delay(20)
  assert.equal(h.engine.get(run.id)?.state, 'cancelled', 'the killed process does not change the outcome')
  assert.equal(processes.calls.length, 1, 'no later step ran')
  assert.equal((await onDisk(w, run.id)).state, 'cancelled')
  await assert.rejects(h.engine.cancel(run.id, ''), (err: SeError) => err.code === 'ALREADY_FINISHED')
  await assert.rejects(h.engine.cancel('nope', ''), (err: SeError) => err.code === 'UNKNOWN_WORKFLOW')
})

test('cancel while waiting for an intervention', async (t) => {
  const h = await harness(t, await world(t))
  h.processes.on('bump', ok('1.0.0'))
  const run = await start(h, RELEASE)
  await reach(h, run.id, 'waiting_intervention')
  const after = await h.engine.cancel(run.id, '')
  assert.equal(after.state, 'cancelled')
  assert.equal(after.error, 'cancelled')
  assert.equal(after.intervention, null)
  assert.equal(after.steps[1]?.state, 'failed')
  await assert.rejects(h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '' }), (err: SeError) => err.code === 'NOT_WAITING')
})

test('cancel as a step starts never leaves its process running', async (t) => {
  const processes = new FakeProcessRunner(() => 'hang')
  const h = await harness(t, await world(t), { processes })
  let cancelled: Promise<WorkflowRun> | undefined
  // Cancel at the moment the step_start entry is being written, before the process is spawned.
  h.audit.onRecord(r => {
    if (r.entry.event === 'step_start' && cancelled === undefined) cancelled = h.engine.cancel(r.entry.workflowId, 'now')
  })
  const run = await start(h, 'name: R\nsteps:\n  - id: a\n    run: { command: sleep }\n')
  await eventually('the cancel to be issued', () => cancelled)
  assert.equal((await cancelled)?.state, 'cancelled')
  await delay(30)
  for (const p of processes.calls) assert.ok(p.kills.length > 0, `process ${p.spec.command} of a cancelled workflow was left running`)
  assert.equal(h.engine.get(run.id)?.state, 'cancelled')
})

test('maxConcurrent: a second workflow stays pending until the first finishes', async (t) => {
  const processes = new FakeProcessRunner(() => 'hang')
  const h = await harness(t, await world(t), { processes, maxConcurrent: 1 })
  const yaml = 'name: Q\nsteps:\n  - id: a\n    run: { command: work }\n'
  const first = await start(h, yaml)
  const second = await start(h, yaml)
  const p1 = await processes.waitForCalls(1)
  await delay(30)
  assert.equal(h.engine.get(first.id)?.state, 'running')
  assert.equal(h.engine.get(second.id)?.state, 'pending')
  assert.equal(processes.calls.length, 1)
  assert.deepEqual(h.engine.counts(), { running: 1, waiting: 0, pending: 1 })
  assert.equal(p1.spec.env?.SE_WORKFLOW_ID, first.id)
  p1.finish(ok())
  await reach(h, first.id, 'completed')
  const p2 = await processes.waitForCalls(2)
  assert.equal(p2.spec.env?.SE_WORKFLOW_ID, second.id)
  assert.equal(h.engine.get(second.id)?.state, 'running')
  p2.finish(ok())
  await reach(h, second.id, 'completed')
  assert.deepEqual(h.engine.list().map(r => r.id), [first.id, second.id])
})

test('maxConcurrent: a workflow waiting for a person frees its slot', async (t) => {
  const h = await harness(t, await world(t), { maxConcurrent: 1 })
  h.processes.on('bump', ok('1.0.0'))
  const a = await start(h, RELEASE)
  const b = await start(h, 'name: Q\nsteps:\n  - id: a\n    run: { command: work }\n')
  await reach(h, a.id, 'waiting_intervention')
  await reach(h, b.id, 'completed')
  await h.engine.resolve(a.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '' })
  await reach(h, a.id, 'completed')
})

test('maxConcurrent: a cancelled queued workflow is never run', async (t) => {
  const processes = new FakeProcessRunner(() => 'hang')
  const h = await harness(t, await world(t), { processes, maxConcurrent: 1 })
  const yaml = 'name: Q\nsteps:\n  - id: a\n    run: { command: work }\n'
  const first = await start(h, yaml)
  const second = await start(h, yaml)
  const third = await start(h, yaml)
  const p1 = await processes.waitForCalls(1)
  await h.engine.cancel(second.id, 'not needed')
  p1.finish(ok())
  const p2 = await processes.waitForCalls(2)
  assert.equal(p2.spec.env?.SE_WORKFLOW_ID, third.id)
  p2.finish(ok())
  await reach(h, third.id, 'completed')
  assert.equal(h.engine.get(second.id)?.state, 'cancelled')
  assert.equal(processes.calls.length, 2)
  assert.equal(h.engine.get(first.id)?.state, 'completed')
})

test('template expansion: step output, inputs, workflow, node and env references; cwd, env and timeout', async (t) => {
  const h = await harness(t, await world(t), { env: { GREETING: 'hi' } })
  h.processes.on('version', ok('  3.1.4\n\n', { stderr: 'warn: old\n' }))
  const run = await start(h, `
name: EXPAND
inputs:
  repo: { type: path }
steps:
  - id: ver.main
    run: { command: version, cwd: build }
  - id: use
    run:
      command: "\${node.cli}"
      args: ["v\${steps.ver.main.stdout}", "\${steps.ver.main.stderr}", "\${steps.ver.main.exitCode}", "\${workflow.id}", "\${workflow.name}", "\${workflow.dir}", "\${env.GREETING}", "\${env.UNSET}", "$\${literal}"]
      cwd: "\${inputs.repo}/sub"
      env: { TAG: "v\${steps.ver.main.stdout}" }
      timeoutSec: 2.5
`, { repo: 'r1' })
  await reach(h, run.id, 'completed')
  const spec = h.processes.specs[1]
  assert.ok(spec !== undefined)
  assert.equal(spec.command, '/usr/bin/se --data-dir /d')
  assert.deepEqual(spec.args, ['v3.1.4', 'warn: old', '0', run.id, 'EXPAND', '/flows', 'hi', '', '${literal}'])
  assert.equal(spec.cwd, '/home/me/project/r1/sub', 'a path input is absolute, resolved against the caller\'s directory')
  assert.equal(spec.timeoutMs, 2500)
  assert.equal(spec.env?.TAG, 'v3.1.4')
  assert.equal(spec.env?.SE_WORKFLOW_ID, run.id)
  assert.equal(spec.env?.SE_STEP_ID, 'use')
  assert.equal(spec.env?.SE_NODE_ID, NODE_ID)
  assert.equal(h.processes.specs[0]?.cwd, '/home/me/project/build', 'a relative cwd resolves against the caller\'s working directory')
  assert.equal(h.processes.specs[0]?.timeoutMs, undefined)
})

test('a reference with no value fails the step rather than running it', async (t) => {
  const h = await harness(t, await world(t))
  // Built by hand, bypassing the validator, to reach the engine's own check.
  const def = definition('name: BAD\nsteps:\n  - id: a\n    run: { command: echo, args: ["x"] }\n')
  ;(def.steps[0]?.run?.args as string[])[0] = '${steps.ghost.stdout}'
  const run = await h.engine.start({ definition: def, source: 'x', sourceFile: null, inputs: {}, workdir: '/w', requestedBy: '' })
  const failed = await reach(h, run.id, 'failed')
  assert.equal(failed.steps[0]?.error, '${steps.ghost.stdout} has no value')
  assert.equal(failed.steps[0]?.attempts, 1)
  assert.equal(h.processes.calls.length, 0)
  assert.equal(failed.sourceDir, '/w', 'without a source file, ${workflow.dir} is the working directory')
})

test('a container step with no executor fails with a clear error; an executor runs it', async (t) => {
  const yaml = 'name: C\nsteps:\n  - id: box\n    run: { image: "alpine:3", command: echo, args: [hi] }\n'
  const h = await harness(t, await world(t))
  const failed = await reach(h, (await start(h, yaml)).id, 'failed')
  assert.match(failed.steps[0]?.error ?? '', /needs container image 'alpine:3' but no container engine/)
  const ran: string[] = []
  const executor: StepExecutor = {
    canRun: (_run, step) => step.run?.image !== undefined,
    run: (_run, step, spec) => { ran.push(`${step.run?.image ?? ''} ${spec.command}`); return { result: Promise.resolve({ exitCode: 0, signal: null, stdout: 'in a box', stderr: '', durationMs: 1, timedOut: false, spawnError: null }), kill: () => {} } }
  }
  const h2 = await harness(t, await world(t), { executors: [executor] })
  const done = await reach(h2, (await start(h2, yaml)).id, 'completed')
  assert.deepEqual(ran, ['alpine:3 echo'])
  assert.equal(done.steps[0]?.stdout, 'in a box')
  assert.equal(h2.processes.calls.length, 0)
})

test('process output is streamed as OUTPUT events', async (t) => {
  const processes = new FakeProcessRunner(() => 'hang')
  const h = await harness(t, await world(t), { processes })
  const run = await start(h, 'name: O\nsteps:\n  - id: talk\n    run: { command: talk }\n')
  const p = await processes.waitForCalls(1)
  p.output('stdout', 'hello ')
  p.output('stderr', 'careful')
  p.finish(ok('hello world'))
  await reach(h, run.id, 'completed')
  const out = h.events.filter(e => e.kind === 'OUTPUT').map(e => [e.state, e.stepId, e.text])
  assert.deepEqual(out, [['stdout', 'talk', 'hello '], ['stderr', 'talk', 'careful']])
})

// --- recovery -------------------------------------------------------------------

const RECOVER = (idempotent: boolean, onFailure = ''): string => `
name: RECOVER
steps:
  - id: first
    run: { command: first }
  - id: long
    idempotent: ${String(idempotent)}
    run: { command: long }
${onFailure === '' ? '' : `    onFailure: ${onFailure}\n`}  - id: last
    run: { command: last }
`

/** Runs a workflow until its `long` step is running, then "crashes" the engine. */
async function crashDuringLong (t: TestContext, w: World, yaml: string): Promise<string> {
  const processes = new FakeProcessRunner(spec => spec.command === 'long' ? 'hang' : ok())
  const h = await harness(t, w, { processes })
  const run = await start(h, yaml)
  await processes.waitForCalls(2)
  await eventually('the long step to be persisted as running', async () => (await onDisk(w, run.id)).steps[1]?.state === 'running')
  await h.crash()
  return run.id
}

test('recover: an interrupted idempotent step runs again', async (t) => {
  const w = await world(t)
  const id = await crashDuringLong(t, w, RECOVER(true))
  const before = await onDisk(w, id)
  assert.equal(before.state, 'running')
  assert.equal(before.steps[1]?.attempts, 1)
  const h = await harness(t, w)
  const { resumed, unreadable } = await h.engine.recover()
  assert.equal(resumed, 1)
  assert.deepEqual(unreadable, [])
  const done = await reach(h, id, 'completed')
  assert.deepEqual(h.processes.commands(), ['long', 'last'], 'the completed first step is not run again')
  assert.equal(done.steps[0]?.attempts, 1)
  assert.equal(done.steps[1]?.attempts, 2)
  assert.equal(done.steps[1]?.state, 'completed')
  const resume = (await h.audit.read({ workflowId: id })).find(r => r.entry.event === 'workflow_resume')
  assert.match(resume?.entry.message ?? '', /at step long, which is idempotent and runs again/)
  assert.equal((await h.audit.verify()).ok, true, 'the trail continues across the restart')
})

test('recover: an interrupted non-idempotent step fails, and onFailure abort fails the workflow', async (t) => {
  const w = await world(t)
  const id = await crashDuringLong(t, w, RECOVER(false))
  const h = await harness(t, w)
  await h.engine.recover()
  const failed = await reach(h, id, 'failed')
  assert.equal(failed.steps[1]?.state, 'failed')
  assert.equal(failed.steps[1]?.attempts, 1)
  assert.match(failed.steps[1]?.error ?? '', /interrupted: the node stopped while this step was running/)
  assert.match(failed.error ?? '', /step long failed: interrupted/)
  assert.equal(h.processes.calls.length, 0)
  assert.equal((await onDisk(w, id)).state, 'failed')
})

test('recover: an interrupted non-idempotent step with onFailure intervene asks a person', async (t) => {
  const w = await world(t)
  const id = await crashDuringLong(t, w, RECOVER(false, 'intervene'))
  const h = await harness(t, w)
  await h.engine.recover()
  const waiting = await reach(h, id, 'waiting_intervention')
  assert.equal(waiting.intervention?.reason, 'failure')
  assert.match(waiting.intervention?.prompt ?? '', /Step long failed: interrupted/)
  assert.equal(h.processes.calls.length, 0)
  await h.engine.resolve(id, { choice: 'retry', comment: null, decidedBy: '', stepId: '' })
  const done = await reach(h, id, 'completed')
  assert.equal(done.steps[1]?.attempts, 2)
  assert.deepEqual(h.processes.commands(), ['long', 'last'])
})

test('recover: an interrupted non-idempotent step with retries left is retried', async (t) => {
  const w = await world(t)
  const id = await crashDuringLong(t, w, RECOVER(false, '{ retry: 1 }'))
  const h = await harness(t, w)
  await h.engine.recover()
  const done = await reach(h, id, 'completed')
  assert.equal(done.steps[1]?.attempts, 2)
  assert.deepEqual(h.processes.commands(), ['long', 'last'])
})

test('recover: a waiting intervention stays waiting and can be resolved after the restart', async (t) => {
  const w = await world(t)
  const h1 = await harness(t, w)
  h1.processes.on('bump', ok('4.0.0'))
  const run = await start(h1, RELEASE)
  await reach(h1, run.id, 'waiting_intervention')
  await h1.crash()
  const h = await harness(t, w)
  const { resumed } = await h.engine.recover()
  assert.equal(resumed, 0)
  await delay(30)
  const waiting = h.engine.get(run.id)
  assert.equal(waiting?.state, 'waiting_intervention')
  assert.equal(waiting?.intervention?.prompt, 'Tag v4.0.0?')
  assert.equal(h.processes.calls.length, 0)
  assert.deepEqual(h.engine.counts(), { running: 0, waiting: 1, pending: 0 })
  await h.engine.resolve(run.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '' })
  await reach(h, run.id, 'completed')
  assert.deepEqual(h.processes.specs[0]?.args, ['tag', 'v4.0.0', '-m', 'by approve: '])
})

test('recover: finished runs are loaded but not resumed; unreadable files are reported', async (t) => {
  const w = await world(t)
  const h1 = await harness(t, w)
  const run = await start(h1, 'name: R\nsteps:\n  - id: a\n    run: { command: a }\n')
  await reach(h1, run.id, 'completed')
  await h1.crash()
  await writeFile(path.join(w.dir, 'workflows', 'garbage.json'), '{ not json')
  await writeFile(path.join(w.dir, 'workflows', 'other.json'), '{"hello": 1}')
  const h = await harness(t, w)
  const { resumed, unreadable } = await h.engine.recover()
  assert.equal(resumed, 0)
  assert.deepEqual(unreadable.map(u => path.basename(u.file)).sort(), ['garbage.json', 'other.json'])
  assert.equal(h.engine.get(run.id)?.state, 'completed')
  assert.equal(h.processes.calls.length, 0)
})

test('recover: a workflow still pending (queued) at the crash is started', async (t) => {
  const w = await world(t)
  const processes = new FakeProcessRunner(() => 'hang')
  const h1 = await harness(t, w, { processes, maxConcurrent: 1 })
  const yaml = 'name: Q\nsteps:\n  - id: a\n    idempotent: true\n    run: { command: work }\n'
  const a = await start(h1, yaml)
  const b = await start(h1, yaml)
  await processes.waitForCalls(1)
  await h1.crash()
  assert.equal((await onDisk(w, b.id)).state, 'pending')
  const h = await harness(t, w, { maxConcurrent: 1 })
  const { resumed } = await h.engine.recover()
  assert.equal(resumed, 2)
  await reach(h, a.id, 'completed')
  await reach(h, b.id, 'completed')
  assert.equal(h.processes.calls.length, 2)
})

test('shutdown stops a running step and leaves it checkpointed for the next start', async (t) => {
  const w = await world(t)
  const processes = new FakeProcessRunner(() => 'hang')
  const h1 = await harness(t, w, { processes })
  const run = await start(h1, 'name: S\nsteps:\n  - id: a\n    idempotent: true\n    run: { command: work }\n')
  const p = await processes.waitForCalls(1)
  await h1.engine.shutdown(20)
  assert.deepEqual(p.kills, ['SIGTERM'])
  await assert.rejects(start(h1, 'name: S\nsteps:\n  - id: a\n    run: { command: work }\n'), (err: SeError) => err.code === 'SHUTTING_DOWN')
  const disk = await onDisk(w, run.id)
  assert.equal(disk.state, 'running')
  assert.equal(disk.steps[0]?.state, 'running')
  await h1.crash()
  const h = await harness(t, w)
  await h.engine.recover()
  const done = await reach(h, run.id, 'completed')
  assert.equal(done.steps[0]?.attempts, 2)
})
