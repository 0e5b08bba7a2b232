// What a workflow step starts in the background ends with the step: at its end,
// at its timeout and when the workflow is cancelled, on a real node.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { json, se, startNode, tempDir, waitFor } from './helpers/cli.js'
import { running } from './helpers/process-tree.js'

// The step's shell starts a long sleep that keeps the step's output pipes open,
// records its pid, then does `TAIL`.
async function workflow (t: TestContext, name: string, tail: string, timeoutSec?: number): Promise<{ file: string, pidFile: string }> {
  const work = await tempDir(t, 'se-work-')
  const pidFile = path.join(work, 'background.pid')
  const run = `{ command: sh, args: [-c, "sleep 300 & echo $! > ${pidFile}; ${tail}"]${timeoutSec === undefined ? '' : `, timeoutSec: ${timeoutSec}`} }`
  const file = path.join(work, `${name}.yaml`)
  await writeFile(file, `name: ${name}\nsteps:\n  - { id: spawn, run: ${run} }\n  - { id: after, run: { command: "true" } }\n`)
  return { file, pidFile }
}

async function backgroundPid (pidFile: string): Promise<number> {
  return await waitFor('the background pid', async () => {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim())
    return pid > 0 ? pid : undefined
  })
}

async function finalState (dataDir: string, id: string): Promise<any> {
  return await waitFor(`${id} to finish`, async () => {
    const s = json(await se(['status', id, '--json'], { dataDir }))
    return ['completed', 'failed', 'cancelled'].includes(s.state) ? s : undefined
  }, 60_000)
}

test('a step that exits leaving a background process completes without waiting for it, and the process is ended', async t => {
  const dataDir = await tempDir(t)
  await startNode(t, dataDir)
  const { file, pidFile } = await workflow(t, 'LEAVES_ONE', 'exit 0')
  const id = json(await se(['execute', file, '--json'], { dataDir })).id
  const done = await finalState(dataDir, id)
  assert.equal(done.state, 'completed', JSON.stringify(done.steps))
  const pid = await backgroundPid(pidFile)
  await waitFor('the background sleep to be ended', async () => !running(pid), 10_000)
})

test('a step timeout ends the whole process group, and the workflow fails naming the timeout', async t => {
  const dataDir = await tempDir(t)
  await startNode(t, dataDir)
  const { file, pidFile } = await workflow(t, 'TIMES_OUT', 'wait', 1)
  const id = json(await se(['execute', file, '--json'], { dataDir })).id
  const pid = await backgroundPid(pidFile)
  const done = await finalState(dataDir, id)
  assert.equal(done.state, 'failed')
  assert.match(done.steps[0].error, /timed out/)
  await waitFor('the background sleep to be ended', async () => !running(pid), 10_000)
})

test('cancel ends the step\'s background processes too', async t => {
  const dataDir = await tempDir(t)
  await startNode(t, dataDir)
  const { file, pidFile } = await workflow(t, 'CANCELLED', 'wait')
  const id = json(await se(['execute', file, '--json'], { dataDir })).id
  const pid = await backgroundPid(pidFile)
  assert.ok(running(pid))
  assert.equal((await se(['cancel', id], { dataDir })).code, 0)
  assert.equal((await finalState(dataDir, id)).state, 'cancelled')
  await waitFor('the background sleep to be ended', async () => !running(pid), 10_000)
})

test('a node killed mid-step ends, when it starts again, what that step left running, before it runs the step again', async t => {
  const dataDir = await tempDir(t)
  const work = await tempDir(t, 'se-work-')
  const pids = path.join(work, 'pids')
  const release = path.join(work, 'release')
  const file = path.join(work, 'crash.yaml')
  const script = `echo $$ $(sleep 300 >/dev/null & echo $!) >> ${pids}; while [ ! -f ${release} ]; do sleep 0.1; done`
  await writeFile(file, `name: KILLED_MID_STEP\nsteps:\n  - { id: gated, idempotent: true, run: { command: sh, args: [-c, "${script}"] } }\n`)
  let node = await startNode(t, dataDir)
  const id = json(await se(['execute', file, '--json'], { dataDir })).id
  const first = await waitFor('the first attempt', async () => (await readFile(pids, 'utf8').catch(() => '')).trim().split(/\s+/).map(Number).filter(n => n > 0))
  // Only the node dies, as under the OOM killer: its step processes live on.
  node.proc.kill('SIGKILL')
  await node.proc
  for (const pid of first) assert.ok(running(pid), `${pid} outlived the node`)

  node = await startNode(t, dataDir)
  for (const pid of first) await waitFor(`${pid} to be ended`, async () => !running(pid), 10_000)
  const attempts = await waitFor('the step to run again', async () => {
    const list = (await readFile(pids, 'utf8')).trim().split('\n')
    return list.length === 2 ? list : undefined
  })
  await writeFile(release, '')
  const done = await finalState(dataDir, id)
  assert.equal(done.state, 'completed')
  assert.equal(done.steps[0].attempts, 2)
  assert.equal(attempts.length, 2, 'one new attempt, after the old one was ended')
  const trail = json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--json'], { dataDir })).map(r => r.entry)
  const ended = trail.find(e => e.event === 'leftovers_ended')
  assert.ok(ended !== undefined, 'the restart is audited')
  // The shell, its sleep 300, and whichever short sleep its loop was in.
  assert.ok(Number(/ended (\d+) processes/.exec(ended.message)?.[1]) >= 2, ended.message)
  assert.match(node.stderr(), /processes that this node's previous run started and left running/)
  assert.equal(await node.stop(), 0)
})

test('SIGHUP (the terminal went away) stops the node as SIGTERM does, and its steps with it', async t => {
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir)
  const { file, pidFile } = await workflow(t, 'HUNG_UP', 'wait')
  const id = json(await se(['execute', file, '--json'], { dataDir })).id
  const pid = await backgroundPid(pidFile)
  node.proc.kill('SIGHUP')
  const exit = await node.proc
  assert.equal(exit.exitCode, 0)
  assert.match(node.stderr(), /SIGHUP: stopping[\s\S]*node stopped/)
  assert.ok(!running(pid), 'the step\'s background process was ended with it')
  await startNode(t, dataDir)
  // Checkpointed, not finished: on the next start the step, not idempotent, counts as interrupted.
  const s = await finalState(dataDir, id)
  assert.equal(s.state, 'failed')
  assert.match(s.steps[0].error, /interrupted/)
})
