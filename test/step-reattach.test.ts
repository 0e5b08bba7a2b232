// A step a member runs for a requester outlives the requester's connection: it runs on,
// a requester that comes back (attachStep) gets its output and its outcome, and one that
// does not come back within the kept time has it ended as a cancel would. The StepServer
// runs real processes here; only the connection's end is played by the test.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { AuditLog } from '../core/audit/log.js'
import { Outbox } from '../core/mesh/outbox.js'
import { StepServer } from '../core/mesh/step-server.js'
import { join } from '../core/paths.js'
import type { CancelReason } from '../core/rpc/peer.js'
import type { StepRequest, WorkflowEvent } from '../core/protocol/types.js'
import { defer, eventually, makeTempDir } from './helpers/tmp.js'

const REQUESTER = 'ab'.repeat(32)
const quiet = { info () {}, warn () {}, error () {} }

async function server (t: TestContext, keptMs: number): Promise<{ steps: StepServer, dir: string }> {
  const dir = await makeTempDir(t, 'se-reattach-')
  const runtime = nodeRuntime(quiet)
  const identity = runtime.crypto.generateKeyPair()
  const audit = new AuditLog({ dir: join(dir, 'audit'), fs: runtime.fs, crypto: runtime.crypto, clock: runtime.clock, identity })
  await audit.open()
  const outbox = new Outbox(runtime.fs, join(dir, 'outbox'), runtime.log)
  await outbox.open()
  const steps = new StepServer({ runtime, audit, outbox, dataDir: dir, nodeId: 'cd'.repeat(32), deliver: async () => {}, keptMs })
  defer(t, async () => { steps.close(); await audit.close() })
  return { steps, dir }
}

function request (dir: string, script: string, attempt = 1): StepRequest {
  return { workflowId: 'wf-1', workflowName: 'W', stepId: 'render', attempt, command: 'sh', args: ['-c', script], cwd: dir, env: {}, requires: [], timeoutMs: null, container: null, uses: [], publish: [], outputs: false }
}

/** A call as the RPC layer serves it: its output, and a way to end it as cancelled or gone. */
function call (): { emit: (e: WorkflowEvent) => void, onCancel: (l: (why: CancelReason) => void) => void, end: (why: CancelReason) => void, output: () => string } {
  const listeners: Array<(why: CancelReason) => void> = []
  let text = ''
  return {
    emit: e => { if (e.kind === 'OUTPUT') text += e.text },
    onCancel: l => { listeners.push(l) },
    end: why => { for (const l of listeners) l(why) },
    output: () => text
  }
}

test('a step whose connection is gone runs on; the requester attaches again and gets the output from then on and the outcome', async t => {
  const { steps, dir } = await server(t, 10_000)
  const gate = path.join(dir, 'gate')
  const first = call()
  const running = steps.run(REQUESTER, request(dir, `echo before; while [ ! -f ${gate} ]; do sleep 0.05; done; echo after`), first.emit, first.onCancel)
  await eventually('its first line', () => first.output().includes('before'))
  first.end('gone')
  // Another requester, another attempt, or another step: not this one.
  await assert.rejects(steps.attach('ef'.repeat(32), 'wf-1', 'render', 1, () => {}, () => {}), /STEP_NOT_HERE/)
  await assert.rejects(steps.attach(REQUESTER, 'wf-1', 'render', 2, () => {}, () => {}), /STEP_NOT_HERE: step render \(attempt 2\) of workflow wf-1 is not running here/)
  const second = call()
  const joined = steps.attach(REQUESTER, 'wf-1', 'render', 1, second.emit, second.onCancel)
  await writeFile(gate, '')
  const outcome = await joined
  assert.equal(outcome.exitCode, 0)
  assert.equal(outcome.stdout, 'before\nafter\n')
  assert.equal(second.output(), 'after\n', 'the attached call gets the output from then on')
  assert.equal((await running).exitCode, 0, 'the first call resolves too, to nobody')
  assert.equal(steps.count, 0)
})

test('an outcome that ended while its requester was away is kept for it, then forgotten', async t => {
  const { steps, dir } = await server(t, 400)
  const first = call()
  const running = steps.run(REQUESTER, request(dir, 'echo done'), first.emit, first.onCancel)
  first.end('gone')
  await running
  const outcome = await steps.attach(REQUESTER, 'wf-1', 'render', 1, () => {}, () => {})
  assert.equal(outcome.stdout, 'done\n')
  await eventually('the kept outcome to go', async () => await steps.attach(REQUESTER, 'wf-1', 'render', 1, () => {}, () => {}).then(() => false, (err: Error) => /STEP_NOT_HERE/.test(err.message)), 3000, 50)
})

test('a requester that does not come back within the kept time has its step ended, as a cancel does', async t => {
  const { steps, dir } = await server(t, 300)
  const first = call()
  const started = Date.now()
  const running = steps.run(REQUESTER, request(dir, 'sleep 30'), first.emit, first.onCancel)
  await eventually('it to run', () => steps.count === 1)
  first.end('gone')
  const outcome = await running
  assert.notEqual(outcome.exitCode, 0)
  assert.ok(Date.now() - started < 10_000, 'ended after the kept time, not at the sleep\'s end')
  assert.equal(steps.count, 0)
  // Coming back later, it finds nothing (its restart rules apply), not a failure to act on.
  await assert.rejects(steps.attach(REQUESTER, 'wf-1', 'render', 1, () => {}, () => {}), /STEP_NOT_HERE/)
})

test('a requester that runs the step again ends the earlier attempt still running here without it', async t => {
  const { steps, dir } = await server(t, 10_000)
  const first = call()
  const earlier = steps.run(REQUESTER, request(dir, 'sleep 30', 1), first.emit, first.onCancel)
  await eventually('it to run', () => steps.count === 1)
  first.end('gone')
  const second = call()
  const again = await steps.run(REQUESTER, request(dir, 'echo again', 2), second.emit, second.onCancel)
  assert.equal(again.stdout, 'again\n')
  assert.notEqual((await earlier).exitCode, 0, 'the earlier attempt was ended, not left to run beside it')
  await assert.rejects(steps.attach(REQUESTER, 'wf-1', 'render', 1, () => {}, () => {}), /STEP_NOT_HERE/)
  assert.equal(steps.count, 0)
})

test('a cancel that comes while the step is being set up stops it before it starts', async t => {
  const { steps, dir } = await server(t, 10_000)
  const marker = path.join(dir, 'started')
  const first = call()
  const running = steps.run(REQUESTER, request(dir, `touch ${marker}`), first.emit, first.onCancel)
  first.end('cancelled')
  const outcome = await running
  assert.match(outcome.spawnError ?? '', /stopped before it started/)
  assert.equal(await readFile(marker).then(() => true, () => false), false, 'its command never ran')
})

test('a cancel ends the step at once, and an attached call that is cancelled ends it too', async t => {
  const { steps, dir } = await server(t, 10_000)
  const first = call()
  const running = steps.run(REQUESTER, request(dir, 'sleep 30'), first.emit, first.onCancel)
  await eventually('it to run', () => steps.count === 1)
  first.end('gone')
  const second = call()
  const joined = steps.attach(REQUESTER, 'wf-1', 'render', 1, second.emit, second.onCancel)
  // The first call going away again says nothing now: the step has a newer caller.
  first.end('gone')
  second.end('cancelled')
  assert.notEqual((await joined).exitCode, 0)
  assert.notEqual((await running).exitCode, 0)
  assert.equal(await steps.cancel(REQUESTER, 'wf-1', 'render'), false, 'nothing left to cancel')
})
