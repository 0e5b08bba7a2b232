// kill -9 of a real node at the worst moments, then a restart: nothing completed
// runs again, idempotent steps re-run, others fail into their onFailure, and a
// waiting intervention is still waiting.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, lines, se, startNode, tempDir, waitFor, withClient } from './helpers/cli.js'

// A step that logs its start, then blocks until a release file appears.
const gated = (name: string, dir: string): string =>
  `{ command: node, args: [-e, "require('fs').appendFileSync('${dir}/log', '${name}\\\\n'); const t = setInterval(() => { if (require('fs').existsSync('${dir}/release-${name}')) { clearInterval(t) } }, 20)"] }`
const once = (name: string, dir: string): string =>
  `{ command: node, args: [-e, "require('fs').appendFileSync('${dir}/log', '${name}\\\\n')"] }`

test('SIGKILL during a running step: idempotent re-runs, non-idempotent goes to its onFailure', async t => {
  const dataDir = await tempDir(t)
  const work = await tempDir(t, 'se-work-')
  const file = path.join(work, 'crash.yaml')
  await writeFile(file, [
    'name: CRASHY',
    'steps:',
    `  - { id: a, run: ${once('a', work)} }`,
    `  - { id: b, idempotent: true, run: ${gated('b', work)} }`,
    `  - { id: c, onFailure: intervene, run: ${gated('c', work)} }`,
    `  - { id: d, run: ${once('d', work)} }`
  ].join('\n'))

  let node = await startNode(t, dataDir)
  const id = json(await se(['execute', file, '--json'], { dataDir })).id
  await waitFor('step b to start', async () => (await lines(path.join(work, 'log'))).includes('b'))
  await node.crash()

  await writeFile(path.join(work, 'release-b'), '')
  node = await startNode(t, dataDir)
  await waitFor('step c to start', async () => (await lines(path.join(work, 'log'))).includes('c'))
  await node.crash()

  node = await startNode(t, dataDir)
  const waiting = await waitFor('the failed step c to ask', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir }))
    return s.state === 'waiting_intervention' ? s : undefined
  })
  assert.equal(waiting.intervention.stepId, 'c')
  assert.deepEqual(waiting.intervention.choices, ['retry', 'skip', 'abort'])
  assert.match(waiting.steps[2].error, /interrupted/)
  assert.equal(waiting.steps[1].attempts, 2, 'idempotent b ran again after the first crash')

  await writeFile(path.join(work, 'release-c'), '')
  assert.equal((await se(['approve', id, '--choice', 'retry'], { dataDir })).code, 0)
  const done = await waitFor('completion', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir }))
    return s.state === 'completed' ? s : undefined
  })
  assert.deepEqual(done.steps.map((s: any) => s.attempts), [1, 2, 2, 1])
  assert.deepEqual(await lines(path.join(work, 'log')), ['a', 'b', 'b', 'c', 'c', 'd'], 'completed steps never ran again')
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
  assert.equal(await node.stop(), 0, 'SIGTERM stops the node cleanly')
})

test('SIGKILL while waiting for an intervention: still waiting after restart, then completes', async t => {
  const dataDir = await tempDir(t)
  const work = await tempDir(t, 'se-work-')
  const file = path.join(work, 'ask.yaml')
  await writeFile(file, [
    'name: ASKS',
    'steps:',
    `  - { id: before, run: ${once('before', work)} }`,
    '  - { id: ask, intervention: { prompt: "go on?", choices: [approve, reject] } }',
    `  - { id: after, run: ${once('after', work)} }`
  ].join('\n'))
  let node = await startNode(t, dataDir)
  const r = await se(['execute', file, '--wait', '--no-block', '--json'], { dataDir })
  assert.equal(r.code, 3)
  const id = json(r).id
  await node.crash()
  node = await startNode(t, dataDir)
  const s = json(await se(['status', id, '--json'], { dataDir }))
  assert.equal(s.state, 'waiting_intervention')
  assert.equal(s.intervention.prompt, 'go on?')
  await withClient(dataDir, async c => {
    const final = await Promise.all([
      c.api.watchWorkflow(id, () => {}),
      c.api.resumeWorkflow(id, { choice: 'approve', comment: null, decidedBy: 'test', stepId: '', signed: null })
    ])
    assert.equal(final[0].state, 'completed')
  })
  assert.deepEqual(await lines(path.join(work, 'log')), ['before', 'after'])
  await node.stop()
})

test('SIGTERM lets a running step finish within the grace period, checkpoints a longer one, and exits 0', async t => {
  const dataDir = await tempDir(t)
  const work = await tempDir(t, 'se-work-')
  const file = path.join(work, 'slow.yaml')
  await writeFile(file, [
    'name: SLOW',
    'steps:',
    `  - { id: short, run: { command: node, args: [-e, "require('fs').appendFileSync('${work}/log', 'short\\\\n'); setTimeout(() => {}, 400)"] } }`,
    `  - { id: long, onFailure: intervene, run: ${gated('long', work)} }`,
    `  - { id: last, run: ${once('last', work)} }`
  ].join('\n'))
  let node = await startNode(t, dataDir)
  const id = json(await se(['execute', file, '--json'], { dataDir })).id
  await waitFor('the short step to start', async () => (await lines(path.join(work, 'log'))).includes('short'))
  assert.equal(await node.stop(), 0)
  let s = json(await se(['audit', '--workflow', id, '--json'], { dataDir }))
  assert.ok(s.some((r: any) => r.entry.event === 'step_complete' && r.entry.workflowStep === 'short'), 'the short step finished during the grace period')
  assert.ok(!(await lines(path.join(work, 'log'))).includes('long'), 'no new step started while stopping')

  node = await startNode(t, dataDir)
  await waitFor('the long step to start', async () => (await lines(path.join(work, 'log'))).includes('long'))
  const stopping = Date.now()
  assert.equal(await node.stop(), 0)
  assert.ok(Date.now() - stopping < 10_000, 'the grace period (2 s in tests) bounds the stop')

  node = await startNode(t, dataDir)
  s = await waitFor('the checkpointed step to ask', async () => {
    const st = json(await se(['status', id, '--json'], { dataDir }))
    return st.state === 'waiting_intervention' ? st : undefined
  })
  assert.equal(s.intervention.stepId, 'long')
  assert.deepEqual(s.steps.map((x: any) => x.state), ['completed', 'waiting_intervention', 'pending'])
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
  await node.stop()
})
