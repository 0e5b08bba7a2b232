// Mesh logic without a network: the audit outbox, the handshake proof, routing order.
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { AuditLog } from '../core/audit/log.js'
import { SeError } from '../core/errors.js'
import { helloProof, meshKeys } from '../core/mesh/keys.js'
import { Outbox } from '../core/mesh/outbox.js'
import { noCapableNode, rankNodes } from '../core/mesh/router.js'
import type { NodeCapabilities, SignedAuditEntry } from '../core/protocol/types.js'
import { makeTempDir } from './helpers/tmp.js'

const crypto = new SodiumCrypto()
const fs = new NodeFileSystem()
const quiet = { info () {}, warn () {}, error () {} }
const clock = { now: () => Date.now() }

async function twoLogs (dir: string): Promise<{ executor: AuditLog, requester: AuditLog }> {
  const executor = new AuditLog({ dir: path.join(dir, 'exec'), fs, crypto, clock, identity: crypto.generateKeyPair() })
  const requester = new AuditLog({ dir: path.join(dir, 'req'), fs, crypto, clock, identity: crypto.generateKeyPair() })
  await executor.open()
  await requester.open()
  return { executor, requester }
}

test('undeliverable entries stay queued on disk across a restart, are delivered once in order, and a repeat is not recorded twice', async t => {
  const dir = await makeTempDir(t)
  const { executor, requester } = await twoLogs(dir)
  const outboxDir = path.join(dir, 'outbox')
  const to = 'ab'.repeat(32)
  const entries = ['step_exec_start', 'step_exec_complete'].map(event => executor.signEntry(executor.makeEntry({ event: event as 'step_exec_start', message: event, workflowId: 'wf-1' })))

  const first = new Outbox(fs, outboxDir, quiet)
  await first.open()
  await first.enqueue(to, entries)
  let attempts = 0
  await first.drain(to, async () => { attempts++; throw new SeError('CONNECTION_CLOSED', 'peer gone') })
  assert.equal(attempts, 1, 'a transient failure stops the drain')
  assert.equal(first.pending(to), 2)

  // The executing node restarts: the queue comes back from disk.
  const second = new Outbox(fs, outboxDir, quiet)
  await second.open()
  assert.deepEqual(second.destinations(), [to])
  const delivered: string[] = []
  await second.drain(to, async (e: SignedAuditEntry) => { delivered.push(e.entry.event); return (await requester.appendRemote(e)) !== null })
  assert.deepEqual(delivered, ['step_exec_start', 'step_exec_complete'])
  assert.equal(second.pending(to), 0)
  assert.deepEqual(await fs.list(outboxDir), [], 'an empty queue leaves no file')

  // A reply lost after delivery means the same entry comes again: it is recognised.
  assert.equal(await requester.appendRemote(entries[0] as SignedAuditEntry), null)
  await requester.close()
  const reopened = new AuditLog({ dir: path.join(dir, 'req'), fs, crypto, clock, identity: crypto.generateKeyPair() })
  await reopened.open()
  assert.equal(reopened.hasRemote((entries[1] as SignedAuditEntry).signature), true, 'repeats are recognised after a restart too')
  assert.equal((await reopened.read()).length, 2)
  await reopened.close()
  await executor.close()
})

test('an entry the receiver refuses for good is dropped, not retried forever', async t => {
  const dir = await makeTempDir(t)
  const { executor } = await twoLogs(dir)
  const outbox = new Outbox(fs, path.join(dir, 'outbox'), quiet)
  await outbox.open()
  await outbox.enqueue('cd'.repeat(32), [executor.signEntry(executor.makeEntry({ event: 'step_exec_start', message: 'x', workflowId: 'wf-unknown' }))])
  await outbox.drain('cd'.repeat(32), async () => { throw new SeError('UNKNOWN_WORKFLOW', 'not mine') })
  assert.equal(outbox.pending('cd'.repeat(32)), 0)
  await executor.close()
})

test('the hello proof depends on the secret, the connection and the sender', () => {
  const keys = meshKeys(crypto, 'team', 's3cret')
  const other = meshKeys(crypto, 'team', 'guess')
  const hh = crypto.randomBytes(64)
  const sender = crypto.randomBytes(32)
  const proof = helloProof(crypto, keys, hh, sender)
  assert.notDeepEqual(Buffer.from(helloProof(crypto, other, hh, sender)), Buffer.from(proof))
  assert.notDeepEqual(Buffer.from(helloProof(crypto, keys, crypto.randomBytes(64), sender)), Buffer.from(proof))
  assert.notDeepEqual(Buffer.from(helloProof(crypto, keys, hh, crypto.randomBytes(32))), Buffer.from(proof))
  assert.notDeepEqual(Buffer.from(keys.topic), Buffer.from(other.topic), 'a different secret is a different topic')
})

test('ranking: capable first, then load per CPU, then latency, then key; the error names only what nobody meets', () => {
  const caps = (nodeId: string, tags: string[], loadAverage: number, cpus = 2): NodeCapabilities => ({
    nodeId, name: nodeId, runtime: 'node', version: '0', platform: 'linux', arch: 'x64', engines: ['process'], tools: [], credentials: [], tags, cpus, memoryTotalMb: 1024, memoryFreeMb: 512, loadAverage
  })
  const ranked = rankNodes([
    { caps: caps('d', [], 0), latencyMs: 1 },
    { caps: caps('c', ['gpu'], 1), latencyMs: 1 },
    { caps: caps('b', ['gpu'], 2, 4), latencyMs: 5 },
    { caps: caps('a', ['gpu'], 2, 4), latencyMs: 5 }
  ], { capabilities: ['gpu'] })
  // c, a and b carry the same load per CPU: c's lower latency wins, then the key breaks the a/b tie.
  assert.deepEqual(ranked.map(m => m.nodeId), ['c', 'a', 'b', 'd'])
  assert.deepEqual(ranked[3]?.unmet, ["capability 'gpu'"])
  const err = noCapableNode([{ caps: caps('x', ['gpu'], 0), latencyMs: 0 }], { capabilities: ['gpu', 'fpga'], memoryMb: 4096 }, 'JOB', true)
  assert.equal(err.code, 'NO_CAPABLE_NODE')
  assert.match(err.message, /capability 'fpga', memoryMb >= 4096/)
  assert.doesNotMatch(err.message, /'gpu'/)
})
