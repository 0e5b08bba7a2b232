// The audit trail on a real file system with real keys: appends are durable and
// chained, and every way of tampering with the file is caught by verify().
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { AuditLog, type AuditInput } from '../core/audit/log.js'
import { chainHash, entryHash } from '../core/audit/entry.js'
import { toHex } from '../core/hex.js'
import { formatAuditLine } from '../core/audit/format.js'
import { summariseAudit } from '../core/audit/summary.js'
import { SeError } from '../core/errors.js'
import type { AppendFile, FileSystem, KeyPair } from '../core/ports.js'
import type { AuditRecord, AuditVerification, DistributedAuditEntry } from '../core/protocol/types.js'
import { defer, makeTempDir } from './helpers/tmp.js'

const crypto = new SodiumCrypto()
const T0 = Date.UTC(2025, 5, 23, 10, 30, 0)

interface Setup { dir: string, trail: string, head: string, identity: KeyPair, clock: { now (): number, t: number } }

async function setup (t: TestContext): Promise<Setup> {
  const dir = path.join(await makeTempDir(t, 'se-audit-'), 'audit')
  let now = T0
  const clock = { get t () { return now }, set t (v: number) { now = v }, now: () => now++ }
  return { dir, trail: path.join(dir, 'trail.jsonl'), head: path.join(dir, 'head.json'), identity: crypto.generateKeyPair(), clock }
}

async function openLog (t: TestContext, s: Setup, fs: FileSystem = new NodeFileSystem(), identity = s.identity): Promise<AuditLog> {
  const log = new AuditLog({ dir: s.dir, fs, crypto, clock: s.clock, identity, headIntervalMs: 60_000 })
  await log.open()
  defer(t, () => log.close())
  return log
}

function entry (n: number, extra: Partial<AuditInput> = {}): AuditInput {
  return { event: 'step_complete', message: `step ${n} done`, workflowId: 'wf-1', workflowStep: `s${n}`, domains: ['step'], performanceMetrics: { durationMs: n * 10, attempts: 1 }, ...extra }
}

/** A log with `n` entries, closed so its head checkpoint is on disk. */
async function writtenLog (t: TestContext, n: number): Promise<{ s: Setup, log: AuditLog }> {
  const s = await setup(t)
  const first = await openLog(t, s)
  for (let i = 1; i <= n; i++) await first.append(entry(i))
  await first.close()
  // A fresh instance reads only what is on disk.
  return { s, log: await openLog(t, s) }
}

async function trailLines (file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter(l => l !== '')
}

async function writeLines (file: string, lines: string[]): Promise<void> {
  await writeFile(file, lines.map(l => l + '\n').join(''))
}

function assertProblem (v: AuditVerification, kinds: string[], seq: number): void {
  assert.equal(v.ok, false, 'verify reports the trail as not ok')
  const found = v.problems.find(p => kinds.includes(p.kind) && new RegExp(`\\bentr(y|ies) ${seq}\\b`).test(p.message))
  assert.ok(found !== undefined, `expected a ${kinds.join('/')} problem naming entry ${seq}; got ${JSON.stringify(v.problems, null, 2)}`)
}

test('appended entries are chained, signed, durable and verify', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  const heard: number[] = []
  log.onRecord(r => heard.push(r.seq))
  const records: AuditRecord[] = []
  for (let i = 1; i <= 5; i++) records.push(await log.append(entry(i)))
  assert.deepEqual(records.map(r => r.seq), [1, 2, 3, 4, 5])
  assert.deepEqual(heard, [1, 2, 3, 4, 5])
  assert.equal(records[0]?.prevHash, '0'.repeat(64))
  for (let i = 1; i < records.length; i++) assert.equal(records[i]?.prevHash, records[i - 1]?.hash)
  const r = records[2] as AuditRecord
  assert.equal(r.hash, chainHash(crypto, r.prevHash, entryHash(crypto, r.entry)))
  assert.equal(r.entry.sourceNodeId, toHex(s.identity.publicKey))
  assert.equal(r.entry.executionContext, 'SE_DISTRIBUTED')
  assert.equal(r.originSignature, null)
  assert.equal(log.lastSeq, 5)
  // Durable: the file holds every line as soon as append resolves.
  const lines = await trailLines(s.trail)
  assert.equal(lines.length, 5)
  assert.deepEqual(JSON.parse(lines[4] as string), records[4])
  const v = await log.verify()
  assert.deepEqual(v, { ok: true, entries: 5, problems: [] })
})

test('read filters by workflow, fromSeq and limit (the newest)', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  for (let i = 1; i <= 6; i++) await log.append(entry(i, { workflowId: i % 2 === 0 ? 'even' : 'odd' }))
  assert.deepEqual((await log.read()).map(r => r.seq), [1, 2, 3, 4, 5, 6])
  assert.deepEqual((await log.read({ workflowId: 'even' })).map(r => r.seq), [2, 4, 6])
  assert.deepEqual((await log.read({ fromSeq: 4 })).map(r => r.seq), [4, 5, 6])
  assert.deepEqual((await log.read({ limit: 2 })).map(r => r.seq), [5, 6])
  assert.deepEqual((await log.read({ workflowId: null, fromSeq: 2, limit: 10 })).map(r => r.seq), [2, 3, 4, 5, 6])
})

test('an edited field is caught as edited, naming the entry', async (t) => {
  const { s, log } = await writtenLog(t, 5)
  const lines = await trailLines(s.trail)
  const rec = JSON.parse(lines[2] as string) as AuditRecord
  rec.entry.message = 'step 3 done (nothing to see here)'
  lines[2] = JSON.stringify(rec)
  await writeLines(s.trail, lines)
  const v = await log.verify()
  assertProblem(v, ['edited'], 3)
  assert.equal(v.problems.length, 1, JSON.stringify(v.problems))
  assert.equal(v.problems[0]?.line, 3)
})

test('an edited metric value is caught as edited', async (t) => {
  const { s, log } = await writtenLog(t, 3)
  const lines = await trailLines(s.trail)
  const rec = JSON.parse(lines[1] as string) as AuditRecord
  rec.entry.performanceMetrics.durationMs = 1
  lines[1] = JSON.stringify(rec)
  await writeLines(s.trail, lines)
  assertProblem(await log.verify(), ['edited'], 2)
})

test('an edit with the hash recomputed is caught as not signed', async (t) => {
  const { s, log } = await writtenLog(t, 4)
  const lines = await trailLines(s.trail)
  const rec = JSON.parse(lines[3] as string) as AuditRecord
  rec.entry.message = 'rewritten'
  rec.hash = chainHash(crypto, rec.prevHash, entryHash(crypto, rec.entry))
  lines[3] = JSON.stringify(rec)
  await writeLines(s.trail, lines)
  assertProblem(await log.verify(), ['forged', 'edited'], 4)
})

test('a deleted line is caught as dropped, naming the missing entry', async (t) => {
  const { s, log } = await writtenLog(t, 5)
  const lines = await trailLines(s.trail)
  lines.splice(2, 1)
  await writeLines(s.trail, lines)
  const v = await log.verify()
  assertProblem(v, ['dropped'], 3)
  assert.match(v.problems.find(p => p.kind === 'dropped')?.message ?? '', /entry 3 missing before entry 4/)
})

test('several deleted lines are named as a range', async (t) => {
  const { s, log } = await writtenLog(t, 6)
  const lines = await trailLines(s.trail)
  lines.splice(1, 3)
  await writeLines(s.trail, lines)
  const v = await log.verify()
  assert.equal(v.ok, false)
  assert.match(v.problems.find(p => p.kind === 'dropped')?.message ?? '', /entries 2\.\.4 missing before entry 5/)
})

test('two swapped lines are caught as reordered', async (t) => {
  const { s, log } = await writtenLog(t, 5)
  const lines = await trailLines(s.trail)
  ;[lines[1], lines[2]] = [lines[2] as string, lines[1] as string]
  await writeLines(s.trail, lines)
  const v = await log.verify()
  assertProblem(v, ['reordered', 'inserted'], 2)
  assert.ok(v.problems.some(p => p.kind === 'reordered'), JSON.stringify(v.problems))
})

test('a forged line inserted with the next seq is caught', async (t) => {
  const { s, log } = await writtenLog(t, 4)
  const lines = await trailLines(s.trail)
  const before = JSON.parse(lines[1] as string) as AuditRecord
  // A well-formed record chained onto entry 2, signed by a key that is not the node's.
  const intruder = crypto.generateKeyPair()
  const forgedEntry: DistributedAuditEntry = { ...before.entry, message: 'approved by the boss', event: 'intervention_resolved' }
  const hash = chainHash(crypto, before.hash, entryHash(crypto, forgedEntry))
  const forged: AuditRecord = { seq: 3, entry: forgedEntry, prevHash: before.hash, hash, signature: toHex(crypto.sign(Buffer.from(hash, 'hex'), intruder.secretKey)), originSignature: null }
  lines.splice(2, 0, JSON.stringify(forged))
  await writeLines(s.trail, lines)
  const v = await log.verify()
  assertProblem(v, ['forged', 'inserted'], 3)
  assert.equal(v.entries, 5)
})

test('a line inserted with every later entry renumbered is caught as inserted', async (t) => {
  const { s, log } = await writtenLog(t, 4)
  const lines = await trailLines(s.trail)
  const records = lines.map(l => JSON.parse(l) as AuditRecord)
  const intruder = crypto.generateKeyPair()
  const prev = records[1] as AuditRecord
  const forgedEntry: DistributedAuditEntry = { ...prev.entry, message: 'forged' }
  const hash = chainHash(crypto, prev.hash, entryHash(crypto, forgedEntry))
  const forged: AuditRecord = { seq: 3, entry: forgedEntry, prevHash: prev.hash, hash, signature: toHex(crypto.sign(Buffer.from(hash, 'hex'), intruder.secretKey)), originSignature: null }
  // Seq is not part of the hash, so the attacker renumbers the rest to keep seqs contiguous.
  const rest = records.slice(2).map(r => ({ ...r, seq: r.seq + 1 }))
  await writeLines(s.trail, [...records.slice(0, 2), forged, ...rest].map(r => JSON.stringify(r)))
  const v = await log.verify()
  // The renumbered original entry 3 (now seq 4) no longer follows the entry before it.
  assertProblem(v, ['inserted'], 4)
  assertProblem(v, ['forged'], 3)
})

test('a garbage line is caught as garbled', async (t) => {
  const { s, log } = await writtenLog(t, 3)
  const lines = await trailLines(s.trail)
  lines.splice(1, 0, '{"not": "a record"}')
  await writeLines(s.trail, lines)
  const v = await log.verify()
  assert.equal(v.ok, false)
  assert.ok(v.problems.some(p => p.kind === 'garbled' && p.line === 2), JSON.stringify(v.problems))
})

test('lines cut from the end are caught by the head checkpoint written on close', async (t) => {
  const { s, log } = await writtenLog(t, 6)
  const head = JSON.parse(await readFile(s.head, 'utf8')) as { seq: number }
  assert.equal(head.seq, 6)
  const lines = await trailLines(s.trail)
  await writeLines(s.trail, lines.slice(0, 4))
  const v = await log.verify()
  assert.equal(v.ok, false)
  const p = v.problems.find(x => x.kind === 'truncated')
  assert.ok(p !== undefined, JSON.stringify(v.problems))
  assert.equal(p.seq, 6)
  assert.match(p.message, /entries 5\.\.6 were removed from the end/)
  assert.equal(v.entries, 4)
})

test('the last line cut from a trail reopened after truncation is still caught', async (t) => {
  const { s } = await writtenLog(t, 3)
  const lines = await trailLines(s.trail)
  await writeLines(s.trail, lines.slice(0, 2))
  const log = await openLog(t, s)
  assertProblem(await log.verify(), ['truncated'], 3)
})

test('truncation stays caught when head.json\'s seq is lowered to match the cut trail', async (t) => {
  const { s, log } = await writtenLog(t, 6)
  const lines = await trailLines(s.trail)
  await writeLines(s.trail, lines.slice(0, 4))
  // The head's signature covers its hash (entry 6's); lowering seq alone must not pass for an intact trail.
  const head = JSON.parse(await readFile(s.head, 'utf8')) as { seq: number, hash: string, signature: string }
  await writeFile(s.head, JSON.stringify({ ...head, seq: 4 }) + '\n')
  const v = await log.verify()
  assert.equal(v.ok, false, `a trail cut from 6 to 4 entries verified as ok: ${JSON.stringify(v)}`)
  // The head signs seq and hash together, so the edited head itself is reported as forged.
  assert.ok(v.problems.some(p => p.kind === 'truncated' || p.kind === 'forged'), JSON.stringify(v.problems))
})

test('a torn tail is dropped on open; appends continue and verify stays ok', async (t) => {
  const s = await setup(t)
  const first = await openLog(t, s)
  for (let i = 1; i <= 3; i++) await first.append(entry(i))
  await first.close()
  const intact = await readFile(s.trail, 'utf8')
  // A crash mid-append: half a JSON line, no newline.
  await appendFile(s.trail, '{"seq":4,"entry":{"timestamp":17')
  const log = await openLog(t, s)
  assert.equal(await readFile(s.trail, 'utf8'), intact, 'open() truncates the torn tail')
  assert.equal(log.lastSeq, 3)
  const r = await log.append(entry(4))
  assert.equal(r.seq, 4)
  assert.equal(r.prevHash, (JSON.parse((await trailLines(s.trail))[2] as string) as AuditRecord).hash)
  await log.append(entry(5))
  const v = await log.verify()
  assert.deepEqual(v, { ok: true, entries: 5, problems: [] })
})

test('a torn tail of multi-byte characters is cut at the right byte', async (t) => {
  const s = await setup(t)
  const first = await openLog(t, s)
  await first.append(entry(1, { message: 'déjà vu — ünïcödé ✓' }))
  await first.close()
  const intact = await readFile(s.trail)
  await appendFile(s.trail, '{"seq":2,"message":"ééé✓')
  const log = await openLog(t, s)
  assert.deepEqual(await readFile(s.trail), intact)
  await log.append(entry(2))
  assert.equal((await log.verify()).ok, true)
})

test('reopening continues the chain', async (t) => {
  const s = await setup(t)
  const a = await openLog(t, s)
  await a.append(entry(1))
  await a.append(entry(2))
  await a.close()
  const b = await openLog(t, s)
  const r = await b.append(entry(3))
  assert.equal(r.seq, 3)
  assert.deepEqual(await b.verify(), { ok: true, entries: 3, problems: [] })
})

test('100 concurrent appends all resolve, in seq order, sharing fsyncs', async (t) => {
  const s = await setup(t)
  const real = new NodeFileSystem()
  let syncs = 0
  const counting: FileSystem = Object.assign(Object.create(real) as FileSystem, {
    openAppend: async (file: string): Promise<AppendFile> => {
      const f = await real.openAppend(file)
      return { ...f, sync: async () => { syncs++; await f.sync() } }
    }
  })
  const log = await openLog(t, s, counting)
  const records = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(entry(i + 1))))
  assert.deepEqual(records.map(r => r.seq), Array.from({ length: 100 }, (_, i) => i + 1))
  // Each promise resolves with its own entry.
  assert.deepEqual(records.map(r => r.entry.message), Array.from({ length: 100 }, (_, i) => `step ${i + 1} done`))
  const lines = await trailLines(s.trail)
  assert.deepEqual(lines.map(l => (JSON.parse(l) as AuditRecord).seq), records.map(r => r.seq))
  assert.ok(syncs < 10, `appends in one tick share fsyncs (got ${syncs} for 100 appends)`)
  assert.deepEqual(await log.verify(), { ok: true, entries: 100, problems: [] })
})

test('appends made while a flush is under way all become durable', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  const all: Array<Promise<AuditRecord>> = []
  for (let i = 1; i <= 30; i++) {
    all.push(log.append(entry(i)))
    if (i % 7 === 0) await new Promise(resolve => setImmediate(resolve))
  }
  const records = await Promise.all(all)
  assert.deepEqual(records.map(r => r.seq), Array.from({ length: 30 }, (_, i) => i + 1))
  assert.equal((await trailLines(s.trail)).length, 30)
  assert.equal((await log.verify()).ok, true)
})

test('appending after close is refused', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  await log.append(entry(1))
  await log.close()
  await assert.rejects(log.append(entry(2)), (err: SeError) => err.code === 'SHUTTING_DOWN')
})

test('appendRemote keeps an entry signed by another node, and it verifies', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  const other = await openLog(t, await setup(t))
  assert.notEqual(other.nodeId, log.nodeId)
  await log.append(entry(1))
  const remoteEntry: DistributedAuditEntry = {
    timestamp: T0 + 5000,
    sourceNodeId: other.nodeId,
    workflowId: 'wf-remote',
    workflowStep: 'build',
    executionContext: 'SE_DISTRIBUTED',
    domains: ['step'],
    files: ['/tmp/x'],
    interventionRequired: false,
    performanceMetrics: { networkLatencyMs: 12.5, durationMs: 300 },
    event: 'step_complete',
    message: 'build done on the other node',
    decision: null
  }
  const signed = other.signEntry(remoteEntry)
  const r = await log.appendRemote(signed)
  assert.equal(r!.seq, 2)
  assert.equal(r!.originSignature, signed.signature)
  assert.equal(r!.entry.sourceNodeId, other.nodeId)
  await log.append(entry(3))
  assert.deepEqual(await log.verify(), { ok: true, entries: 3, problems: [] })
})

test('appendRemote refuses a bad signature, a changed entry, and an invalid entry', async (t) => {
  const log = await openLog(t, await setup(t))
  const other = await openLog(t, await setup(t))
  const remoteEntry: DistributedAuditEntry = {
    timestamp: T0, sourceNodeId: other.nodeId, workflowId: 'w', workflowStep: 's', executionContext: 'SE_DISTRIBUTED',
    domains: [], files: [], interventionRequired: false, performanceMetrics: {}, event: 'step_start', message: 'go', decision: null
  }
  const signed = other.signEntry(remoteEntry)
  const flipped = signed.signature.slice(0, 10) + (signed.signature[10] === 'a' ? 'b' : 'a') + signed.signature.slice(11)
  await assert.rejects(log.appendRemote({ entry: remoteEntry, signature: flipped }), (err: SeError) => err.code === 'BAD_REQUEST' && /signature does not verify/.test(err.message))
  await assert.rejects(log.appendRemote({ entry: { ...remoteEntry, message: 'changed after signing' }, signature: signed.signature }), (err: SeError) => err.code === 'BAD_REQUEST')
  // Signed by one node but claiming to come from another.
  await assert.rejects(log.appendRemote({ entry: { ...remoteEntry, sourceNodeId: log.nodeId }, signature: signed.signature }), (err: SeError) => err.code === 'BAD_REQUEST')
  await assert.rejects(log.appendRemote({ entry: remoteEntry, signature: 'not hex' }), (err: SeError) => err.code === 'BAD_REQUEST')
  await assert.rejects(log.appendRemote({ entry: { ...remoteEntry, timestamp: 'yesterday' } as unknown as DistributedAuditEntry, signature: signed.signature }), (err: SeError) => err.code === 'BAD_REQUEST' && /does not fit/.test(err.message))
  assert.equal(log.lastSeq, 0)
  assert.deepEqual(await log.read(), [])
})

test('a remote entry whose origin signature is altered in the file is caught as forged', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  const other = await openLog(t, await setup(t))
  const e: DistributedAuditEntry = {
    timestamp: T0, sourceNodeId: other.nodeId, workflowId: 'w', workflowStep: '', executionContext: 'SE_DISTRIBUTED',
    domains: [], files: [], interventionRequired: false, performanceMetrics: {}, event: 'node_start', message: 'hello', decision: null
  }
  await log.appendRemote(other.signEntry(e))
  const lines = await trailLines(s.trail)
  const rec = JSON.parse(lines[0] as string) as AuditRecord
  rec.originSignature = null
  await writeLines(s.trail, [JSON.stringify(rec)])
  assertProblem(await log.verify(), ['forged'], 1)
})

test('metric key order does not change the entry hash', () => {
  const base: DistributedAuditEntry = {
    timestamp: T0, sourceNodeId: 'a'.repeat(64), workflowId: 'w', workflowStep: 's', executionContext: 'SE_DISTRIBUTED',
    domains: [], files: [], interventionRequired: false, performanceMetrics: { a: 1, b: 2 }, event: 'x', message: 'y', decision: null
  }
  assert.deepEqual(entryHash(crypto, base), entryHash(crypto, { ...base, performanceMetrics: { b: 2, a: 1 } }))
  assert.notDeepEqual(entryHash(crypto, base), entryHash(crypto, { ...base, performanceMetrics: { a: 1, b: 3 } }))
})

test('formatAuditLine gives ##→time | context | event: message', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  s.clock.t = Date.UTC(2025, 5, 23, 10, 30, 0, 456)
  const r = await log.append({ event: 'workflow_start', message: 'VERSION_TRANSITION on laptop' })
  assert.equal(formatAuditLine(r), '##→2025-06-23T10:30:00Z | SE_DISTRIBUTED | workflow_start: VERSION_TRANSITION on laptop')
  assert.match(formatAuditLine(r), /^##→\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \| SE_DISTRIBUTED \| [a-z_]+: .+$/)
})

test('summariseAudit draws per-workflow figures from the trail', async (t) => {
  const s = await setup(t)
  const log = await openLog(t, s)
  s.clock.t = 1000
  await log.append({ event: 'node_start', message: 'node up' })
  await log.append({ event: 'workflow_start', message: 'DEMO on laptop', workflowId: 'w1', performanceMetrics: { routingMs: 3 } })
  await log.append({ event: 'step_complete', message: 'a', workflowId: 'w1', workflowStep: 'a', performanceMetrics: { durationMs: 40 } })
  await log.append({ event: 'step_failed', message: 'b', workflowId: 'w1', workflowStep: 'b' })
  await log.append({ event: 'step_complete', message: 'b', workflowId: 'w1', workflowStep: 'b', performanceMetrics: { durationMs: 5 } })
  await log.append({ event: 'intervention_request', message: '?', workflowId: 'w1', workflowStep: 'c' })
  await log.append({ event: 'workflow_start', message: 'OTHER on laptop', workflowId: 'w2' })
  await log.append({ event: 'intervention_resolved', message: 'ok', workflowId: 'w1', workflowStep: 'c' })
  s.clock.t = 2000
  await log.append({ event: 'workflow_complete', message: 'done', workflowId: 'w1' })
  const all = summariseAudit(await log.read(), null)
  assert.deepEqual(all.map(x => x.workflowId), ['w1', 'w2'])
  const w1 = all[0]
  assert.ok(w1 !== undefined)
  assert.equal(w1.name, 'DEMO')
  assert.equal(w1.state, 'completed')
  assert.equal(w1.steps, 2)
  assert.equal(w1.stepFailures, 1)
  assert.equal(w1.interventions, 1)
  assert.deepEqual(w1.stepDurationsMs, { a: 40, b: 5 })
  assert.equal(w1.routingMs, 3)
  assert.equal(w1.startedAt, 1001)
  assert.equal(w1.endedAt, 2000)
  assert.equal(w1.durationMs, 999)
  assert.deepEqual(w1.nodes, [log.nodeId])
  assert.equal(all[1]?.state, 'running')
  assert.deepEqual(summariseAudit(await log.read(), 'w2').map(x => x.workflowId), ['w2'])
})
