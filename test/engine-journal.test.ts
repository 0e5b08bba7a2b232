// The audit trail as the journal of a running workflow: a local step's start and a
// silent step's completion are durable by their trail entries alone, and the run's
// file is caught up later. Here a crash comes while the file is behind (its writes
// held, as a kill -9 would leave them): the restart reads the rest back from the
// trail, no completed step runs again, and the restart rules apply to the step that
// was running.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { AuditLog } from '../core/audit/log.js'
import { WorkflowEngine } from '../core/workflow/engine.js'
import type { WorkflowRun } from '../core/workflow/run.js'
import { parseWorkflow } from '../core/workflow/validate.js'
import { FakeProcessRunner, ok, type Script } from './helpers/fake-processes.js'
import { crypto, onDisk, openEngine, reach, type World } from './helpers/engine-harness.js'
import { eventually, makeTempDir } from './helpers/tmp.js'

const NODE_ID = 'ef'.repeat(32)

/** The node's file system, whose writes of run files can be held for good: what a kill -9 leaves unwritten. */
class HoldableFs extends NodeFileSystem {
  held = false
  override async writeAtomic (file: string, data: Uint8Array | string, opts?: { mode?: number }): Promise<void> {
    if (this.held && file.includes(`${path.sep}workflows${path.sep}`)) return await new Promise<void>(() => {})
    return await super.writeAtomic(file, data, opts)
  }
}


interface Harness {
  engine: WorkflowEngine
  processes: FakeProcessRunner
  audit: AuditLog
  fs: HoldableFs
  /** Nothing more is written, from now on: the trail is closed and run files are held. */
  crash: () => Promise<void>
}

async function harness (t: TestContext, w: World, script?: (fs: HoldableFs) => Script): Promise<Harness> {
  const fs = new HoldableFs()
  const processes = new FakeProcessRunner(script?.(fs))
  const { engine, audit, crash } = await openEngine(t, w, { fs, processes, nodeId: NODE_ID, cli: 'se', prefix: 'j' })
  return {
    engine,
    processes,
    audit,
    fs,
    crash: async () => {
      fs.held = true
      await crash()
    }
  }
}

async function start (h: Harness, yaml: string): Promise<WorkflowRun> {
  return await h.engine.start({ definition: parseWorkflow(yaml, 'test.yaml'), source: '/flows/test.yaml', sourceFile: '/flows/test.yaml', inputs: {}, workdir: '/home/me', requestedBy: 'tester' })
}


const SILENT = (idempotent: boolean): string => `
name: SILENT
steps:
  - id: a
    run: { command: a }
  - id: b
    run: { command: b }
  - id: c
    idempotent: ${String(idempotent)}
    run: { command: c }
  - id: d
    run: { command: d }
`

/**
 * Runs SILENT until its step c is running, with the run's file held from the moment
 * step a is spawned (its start is then in the trail only), then crashes.
 */
async function crashWithFileBehind (t: TestContext, w: World, idempotent: boolean): Promise<string> {
  const h = await harness(t, w, fs => spec => {
    if (spec.command === 'a') fs.held = true
    return spec.command === 'c' ? 'hang' : ok()
  })
  const run = await start(h, SILENT(idempotent))
  await h.processes.waitForCalls(3)
  const running = await reach(h, run.id, 'running')
  // Readers see what is durable: the trail has c's start, so c is shown running.
  assert.equal(running.steps[2]?.state, 'running')
  const disk = await onDisk(w, run.id)
  assert.deepEqual(disk.steps.map(s => s.state), ['pending', 'pending', 'pending', 'pending'], 'the file is behind the trail')
  const events = (await h.audit.read({ workflowId: run.id })).map(r => r.entry.event)
  assert.deepEqual(events, ['workflow_start', 'step_start', 'step_complete', 'step_start', 'step_complete', 'step_start'])
  await h.crash()
  return run.id
}

test('journal: after a crash with the file behind, completed steps are read back from the trail and an interrupted non-idempotent step fails', async (t) => {
  const w = await world(t)
  const id = await crashWithFileBehind(t, w, false)
  const h = await harness(t, w)
  const { resumed } = await h.engine.recover()
  assert.equal(resumed, 1)
  const failed = await reach(h, id, 'failed')
  assert.deepEqual(failed.steps.map(s => [s.state, s.attempts]), [['completed', 1], ['completed', 1], ['failed', 1], ['pending', 0]])
  assert.match(failed.steps[2]?.error ?? '', /interrupted/)
  assert.equal(h.processes.calls.length, 0, 'no step ran again')
  const resume = (await h.audit.read({ workflowId: id })).find(r => r.entry.event === 'workflow_resume')
  assert.match(resume?.entry.message ?? '', /the trail had 3 step starts and 2 silent completions the file had not; step c was running/)
  assert.deepEqual((await onDisk(w, id)).steps.map(s => s.state), ['completed', 'completed', 'failed', 'pending'])
  assert.equal((await h.audit.verify()).ok, true)
})

test('journal: after a crash with the file behind, an interrupted idempotent step runs again and the workflow completes', async (t) => {
  const w = await world(t)
  const id = await crashWithFileBehind(t, w, true)
  const h = await harness(t, w)
  await h.engine.recover()
  const done = await reach(h, id, 'completed')
  assert.deepEqual(h.processes.commands(), ['c', 'd'], 'a and b are not run again')
  assert.deepEqual(done.steps.map(s => s.attempts), [1, 1, 2, 1])
  const disk = await onDisk(w, id)
  assert.equal(disk.state, 'completed')
  assert.equal(disk.revision, done.revision)
})

test('journal: a crash right after a step start reaches the trail runs nothing twice', async (t) => {
  const w = await world(t)
  // The file is held before the workflow runs at all: only the start request is on disk.
  const h1 = await harness(t, w, fs => spec => { if (spec.command === 'a') { fs.held = true; return 'hang' } return ok() })
  const run = await start(h1, SILENT(false))
  await h1.processes.waitForCalls(1)
  await h1.crash()
  const disk = await onDisk(w, run.id)
  assert.equal(disk.steps[0]?.state, 'pending')
  const h = await harness(t, w)
  await h.engine.recover()
  const failed = await reach(h, run.id, 'failed')
  assert.equal(failed.steps[0]?.state, 'failed')
  assert.equal(failed.steps[0]?.attempts, 1)
  assert.equal(h.processes.calls.length, 0)
})

test('journal: a step that printed something is in the file before the next step starts, and later steps read it after a crash', async (t) => {
  const w = await world(t)
  const yaml = `
name: OUTPUT
steps:
  - id: version
    run: { command: version }
  - id: quiet
    run: { command: quiet }
  - id: build
    idempotent: true
    run: { command: build }
  - id: tag
    run: { command: git, args: [tag, "v\${steps.version.stdout}"] }
`
  const h1 = await harness(t, w, fs => spec => {
    if (spec.command === 'version') return ok('4.0.0\n')
    if (spec.command === 'build') { fs.held = true; return 'hang' }
    return ok()
  })
  const run = await start(h1, yaml)
  await h1.processes.waitForCalls(3)
  await h1.crash()
  const disk = await onDisk(w, run.id)
  assert.equal(disk.steps[0]?.stdout, '4.0.0\n', 'the output was written with the start of the step after it')
  const h = await harness(t, w)
  await h.engine.recover()
  const done = await reach(h, run.id, 'completed')
  assert.deepEqual(h.processes.commands(), ['build', 'git tag v4.0.0'])
  assert.equal(done.steps[0]?.stdout, '4.0.0\n')
})

test('journal: the file catches up by itself while a step runs', async (t) => {
  const w = await world(t)
  const h = await harness(t, w, () => spec => spec.command === 'c' ? 'hang' : ok())
  const run = await start(h, SILENT(true))
  await h.processes.waitForCalls(3)
  await eventually('the file to catch up with the trail', async () => (await onDisk(w, run.id)).steps[2]?.state === 'running')
  const disk = await onDisk(w, run.id)
  assert.deepEqual(disk.steps.map(s => s.state), ['completed', 'completed', 'running', 'pending'])
  assert.equal(disk.revision, h.engine.get(run.id)?.revision)
})

async function world (t: TestContext): Promise<World> {
  return { dir: await makeTempDir(t, 'se-journal-'), identity: crypto.generateKeyPair() }
}
