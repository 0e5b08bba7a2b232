// Bad input on the node's socket: the offending client gets a clear error, the
// node keeps serving everyone else and loses nothing.
import assert from 'node:assert/strict'
import net from 'node:net'
import path from 'node:path'
import { test } from 'node:test'
import { SeError } from '../core/errors.js'
import { json, se, startNode, tempDir, withClient } from './helpers/cli.js'

function rawExchange (socketPath: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const s = net.connect(socketPath, () => s.write(bytes))
    s.on('data', d => { chunks.push(d); if (Buffer.concat(chunks).length > 4) setTimeout(() => s.destroy(), 50) })
    s.on('close', () => resolve(Buffer.concat(chunks)))
    s.on('error', reject)
    setTimeout(() => s.destroy(), 2000)
  })
}

test('garbled and oversized frames, unknown ids and wrong approvals get errors; the node keeps serving', async t => {
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir)
  const socketPath = path.join(dataDir, 'se.sock')

  const garbled = Buffer.concat([Buffer.from([0, 0, 0, 6]), Buffer.from('\xff\xfe\xfd\xfc\xfb\xfa', 'latin1')])
  const reply = await rawExchange(socketPath, garbled)
  assert.ok(reply.length > 4, 'the client is told what was wrong')
  assert.match(reply.toString('latin1'), /BAD_FRAME/)

  const oversized = Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])
  const reply2 = await rawExchange(socketPath, oversized)
  assert.match(reply2.toString('latin1'), /FRAME_TOO_LARGE/)

  await withClient(dataDir, async c => {
    await assert.rejects(c.api.getWorkflowStatus('wf-nope'), (e: SeError) => e.code === 'UNKNOWN_WORKFLOW')
    const file = path.join(dataDir, 'w.yaml')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(file, 'name: QUICK\nsteps:\n  - { id: one, run: { command: "true" } }\n')
    const started = await c.api.executeWorkflow({ definition: 'name: QUICK\nsteps:\n  - { id: one, run: { command: "true" } }\n', source: file, inputs: {}, workdir: dataDir, requestedBy: '' })
    const done = await c.api.watchWorkflow(started.id, () => {})
    assert.equal(done.state, 'completed')
    await assert.rejects(c.api.resumeWorkflow(started.id, { choice: 'approve', comment: null, decidedBy: '', stepId: '', signed: null }), (e: SeError) => e.code === 'NOT_WAITING')
    await assert.rejects(c.api.executeWorkflow({ definition: 'name: [', source: 'x.yaml', inputs: {}, workdir: dataDir, requestedBy: '' }), (e: SeError) => e.code === 'VALIDATION_FAILED' && e.details[0]?.file === 'x.yaml')
  })
  const list = await se(['status', '--json'], { dataDir })
  assert.equal(list.code, 0)
  assert.equal(json(list).length, 1)
  assert.equal(node.proc.exitCode, null, 'the node is still running')
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
})
