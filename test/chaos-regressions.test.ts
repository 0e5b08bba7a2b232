// Failures the chaos suite found, each reproduced on its own with real nodes, so
// the fix can be checked without a random run finding it again.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, lines, se, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'

// (performanceMetrics.stoppedByRequester): today the restarted requester takes it for the step's own failure.
test('a requester stopped (SIGTERM) while its idempotent step runs on another member runs the step again after its restart', async t => {
  const bootstrap = await localBootstrap(t)
  const [requester, worker] = await Promise.all([meshNode(t, bootstrap, 'req'), meshNode(t, bootstrap, 'exe', { tags: ['x'] })])
  await waitForStates(requester, [worker], 'up')
  const dir = await tempDir(t)
  const ledger = path.join(dir, 'ledger')
  const release = path.join(dir, 'release')
  await writeFile(path.join(dir, 'w.yaml'), [
    'name: STOPPED_REQUESTER',
    'steps:',
    `  - { id: gated, idempotent: true, requires: { capabilities: [x] }, run: { command: sh, args: [-c, "echo begin $SE_NODE_ID >> ${ledger}; while [ ! -f ${release} ]; do sleep 0.1; done"] } }`,
    ''
  ].join('\n'))
  const id = json(await se(['execute', 'w.yaml', '--json'], { dataDir: requester.dataDir, cwd: dir })).id as string
  await waitFor('the step to start on the worker', async () => (await lines(ledger)).length === 1)
  // The grace period (2 s in tests) ends before the gate opens: the step is stopped and the run checkpointed.
  assert.equal(await requester.proc.stop(), 0)
  const again = await meshNode(t, bootstrap, 'req', { dataDir: requester.dataDir })
  await waitForStates(again, [worker], 'up')
  await waitFor('the step to run again', async () => (await lines(ledger)).length === 2, 30_000)
  await writeFile(release, '')
  const done = await waitFor('the workflow to end', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: again.dataDir }))
    return ['completed', 'failed', 'cancelled'].includes(s.state) ? s : undefined
  }, 30_000)
  assert.equal(done.state, 'completed', `${done.error ?? ''}: an interrupted idempotent step runs again (README, What survives a crash)`)
})
