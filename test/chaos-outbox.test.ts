// The outbox on its own after a passing trouble of the receiver. Drains are
// started by membership changes and step ends; in a mesh that stays whole none
// may come, so a drain that stopped on a timeout or a full disk at the receiver
// must try again by itself (the chaos suite's outbox check would wait forever).
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { SeError } from '../core/errors.js'
import { Outbox } from '../core/mesh/outbox.js'
import type { SignedAuditEntry } from '../core/protocol/types.js'
import { delay, eventually, makeTempDir } from './helpers/tmp.js'

const fs = new NodeFileSystem()
const quiet = { info () {}, warn () {}, error () {} }
const to = 'ab'.repeat(32)
// The outbox only stores and hands over entries; what is inside does not matter here.
const entry = (n: number): SignedAuditEntry => ({ entry: { event: 'step_exec_start', message: `e${n}` }, signature: String(n) }) as unknown as SignedAuditEntry

async function outboxWith (t: Parameters<typeof makeTempDir>[0], n: number): Promise<Outbox> {
  const outbox = new Outbox(fs, path.join(await makeTempDir(t), 'outbox'), quiet)
  await outbox.open()
  await outbox.enqueue(to, Array.from({ length: n }, (_, i) => entry(i)))
  t.after(() => outbox.close())
  return outbox
}

test('a drain stopped by the receiver\'s passing trouble (a timeout, a full disk) tries again by itself, in order', async t => {
  const outbox = await outboxWith(t, 2)
  const delivered: string[] = []
  let refusals = 2
  await outbox.drain(to, async e => {
    if (refusals-- > 0) throw new SeError(refusals === 1 ? 'TIMEOUT' : 'NO_SPACE', 'not now')
    delivered.push(e.signature)
    return true
  })
  assert.equal(outbox.pending(to), 2, 'the first drain stops at the first trouble')
  await eventually('the entries to go without another drain being asked for', () => outbox.pending(to) === 0, 10_000)
  assert.deepEqual(delivered, ['0', '1'])
})

test('a drain stopped because the link closed is not retried over it: the member\'s next connection starts a new one', async t => {
  const outbox = await outboxWith(t, 1)
  let attempts = 0
  await outbox.drain(to, async () => { attempts++; throw new SeError('CONNECTION_CLOSED', 'gone') })
  await delay(1500)
  assert.equal(attempts, 1)
  await outbox.drain(to, async () => true)
  assert.equal(outbox.pending(to), 0)
})

test('a closed outbox stops retrying and keeps its entries on disk', async t => {
  const outbox = await outboxWith(t, 1)
  let attempts = 0
  await outbox.drain(to, async () => { attempts++; throw new SeError('TIMEOUT', 'slow') })
  outbox.close()
  await delay(1500)
  assert.equal(attempts, 1)
  assert.equal(outbox.pending(to), 1)
})
