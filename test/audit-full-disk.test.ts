// The audit trail when writes fail: on a real, full tmpfs the failing append is cut
// back whole, the head does not move, and once there is room the trail goes on and
// verifies; a remote entry whose write failed is recorded when it is delivered again.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { execa } from 'execa'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { AuditLog, type AuditInput } from '../core/audit/log.js'
import { SeError } from '../core/errors.js'
import type { AppendFile, FileSystem } from '../core/ports.js'
import { defer, makeTempDir } from './helpers/tmp.js'

const crypto = new SodiumCrypto()
const isRoot = process.getuid?.() === 0

function entry (n: number, size = 100): AuditInput {
  return { event: 'step_complete', message: `step ${n} ${'x'.repeat(size)}`, workflowId: 'wf-1', workflowStep: `s${n}`, domains: ['step'] }
}

async function tmpfs (t: TestContext, size: string): Promise<string> {
  const dir = await makeTempDir(t, 'se-audit-tmpfs-')
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  defer(t, () => execa('umount', ['-l', dir]).catch(() => {}))
  return dir
}

test('on a full disk a failed append is cut back whole, the head stays, and the trail goes on and verifies once there is room', { skip: isRoot ? false : 'mounting a tmpfs needs root' }, async t => {
  const disk = await tmpfs(t, '1m')
  const dir = path.join(disk, 'audit')
  const log = new AuditLog({ dir, fs: new NodeFileSystem(), crypto, clock: { now: () => Date.now() }, identity: crypto.generateKeyPair(), headIntervalMs: 60_000 })
  await log.open()
  defer(t, () => log.close())
  for (let i = 1; i <= 5; i++) await log.append(entry(i))
  // Fill the disk but for a few KiB: a batch of large entries cannot fit, though part of it could.
  const fill = Buffer.alloc(1024 * 1024 - 12 * 1024)
  await writeFile(path.join(disk, 'filler'), fill).catch(() => {})
  const failures = await Promise.allSettled([6, 7, 8].map(n => log.append(entry(n, 6000))))
  assert.ok(failures.every(f => f.status === 'rejected'), 'the whole batch fails together')
  for (const f of failures) {
    const err = (f as PromiseRejectedResult).reason as SeError
    assert.equal(err.code, 'NO_SPACE')
    assert.match(err.message, /no space left for the data dir .*audit \(\d+(\.\d)? (B|KiB) free\)/)
  }
  assert.equal(log.lastSeq, 5, 'the head did not move')
  const text = await readFile(path.join(dir, 'trail.jsonl'), 'utf8')
  assert.ok(text.endsWith('\n') && text.split('\n').length === 6, 'no torn line was left in the file')

  await rm(path.join(disk, 'filler'))
  const next = await log.append(entry(9))
  assert.equal(next.seq, 6, 'the next entry follows the last durable one')
  assert.deepEqual(await log.verify(), { ok: true, entries: 6, problems: [] })
  assert.deepEqual((await readdir(dir)).filter(n => n.endsWith('.tmp')), [])
})

test('a failed append is all or nothing even when the bytes reached the file: they are cut before the next entry', async t => {
  const dir = path.join(await makeTempDir(t, 'se-audit-'), 'audit')
  const real = new NodeFileSystem()
  let failNextSync = false
  // The write succeeds, then its sync fails (an I/O error): the lines must not stay.
  const flaky: FileSystem = Object.assign(Object.create(real) as FileSystem, {
    openAppend: async (file: string): Promise<AppendFile> => {
      const f = await real.openAppend(file)
      return { ...f, sync: async () => { if (failNextSync) { failNextSync = false; throw SeError.writeFailed(file, new Error('EIO: i/o error')) } await f.sync() } }
    }
  })
  const log = new AuditLog({ dir, fs: flaky, crypto, clock: { now: () => Date.now() }, identity: crypto.generateKeyPair(), headIntervalMs: 60_000 })
  await log.open()
  defer(t, () => log.close())
  await log.append(entry(1))
  failNextSync = true
  await assert.rejects(log.append(entry(2)), (err: SeError) => err.code === 'WRITE_FAILED')
  assert.equal(log.lastSeq, 1)
  assert.equal((await log.append(entry(3))).seq, 2)
  assert.deepEqual(await log.verify(), { ok: true, entries: 2, problems: [] })
  const messages = (await log.read()).map(r => r.entry.message.split(' ').slice(0, 2).join(' '))
  assert.deepEqual(messages, ['step 1', 'step 3'])
})

test('a remote entry whose write failed is not taken for a repeat: delivered again, it is recorded once', async t => {
  const dir = path.join(await makeTempDir(t, 'se-audit-'), 'audit')
  await mkdir(dir, { recursive: true })
  const real = new NodeFileSystem()
  let fail = true
  const flaky: FileSystem = Object.assign(Object.create(real) as FileSystem, {
    openAppend: async (file: string): Promise<AppendFile> => {
      const f = await real.openAppend(file)
      return { ...f, append: async data => { if (fail) throw SeError.noSpace(dir, 0, new Error('ENOSPC')); await f.append(data) } }
    }
  })
  const source = new AuditLog({ dir: path.join(dir, 'source'), fs: real, crypto, clock: { now: () => Date.now() }, identity: crypto.generateKeyPair() })
  const keeper = new AuditLog({ dir, fs: flaky, crypto, clock: { now: () => Date.now() }, identity: crypto.generateKeyPair(), headIntervalMs: 60_000 })
  await keeper.open()
  defer(t, () => keeper.close())
  const signed = source.signEntry(source.makeEntry(entry(1)))
  // Two deliveries at once: both fail with the write.
  const twice = await Promise.allSettled([keeper.appendRemote(signed), keeper.appendRemote(signed)])
  assert.deepEqual(twice.map(r => r.status), ['rejected', 'rejected'])
  assert.equal(keeper.hasRemote(signed.signature), false)
  fail = false
  const recorded = await keeper.appendRemote(signed)
  assert.equal(recorded?.seq, 1)
  assert.equal(await keeper.appendRemote(signed), null, 'a repeat after it is recorded is recognised')
  assert.deepEqual(await keeper.verify(), { ok: true, entries: 1, problems: [] })
})
