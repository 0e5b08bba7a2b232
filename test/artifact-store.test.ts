// Artifacts on one node, on real temp dirs: the manifest and its hash, what
// publish refuses, placing with modes kept, and a step's $SE_OUTPUT.
import assert from 'node:assert/strict'
import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { toHex } from '../core/hex.js'
import { ArtifactService, type ArtifactServiceOptions } from '../core/artifact/service.js'
import { StepFiles } from '../core/artifact/step-files.js'
import { parseOutputs } from '../core/artifact/outputs.js'
import { parseSize } from '../core/artifact/size.js'
import { CHUNK_SIZE, encodeManifest, manifestHash, type Manifest } from '../core/artifact/manifest.js'
import type { AuditInput } from '../core/audit/log.js'
import type { MessageChannel } from '../core/ports.js'
import { SeError } from '../core/errors.js'
import { makeTempDir } from './helpers/tmp.js'

const crypto = new SodiumCrypto()
const quiet = { info () {}, warn () {}, error () {} }

async function service (t: TestContext, env: Record<string, string> = {}, more: Pick<ArtifactServiceOptions, 'reach' | 'reachWindowMs' | 'holderGone'> = {}): Promise<{ artifacts: ArtifactService, dataDir: string, cwd: string, audits: AuditInput[], nodeId: string }> {
  const dataDir = await makeTempDir(t, 'se-art-data-')
  const cwd = await makeTempDir(t, 'se-art-cwd-')
  const keys = crypto.generateKeyPair()
  const audits: AuditInput[] = []
  const nodeId = toHex(keys.publicKey)
  const artifacts = new ArtifactService({ fs: new NodeFileSystem(), crypto, log: quiet, dataDir, nodeId, secretKey: keys.secretKey, env: name => env[name], audit: a => audits.push(a), ...more })
  await artifacts.open()
  return { artifacts, dataDir, cwd, audits, nodeId }
}

async function tree (root: string): Promise<void> {
  await mkdir(path.join(root, 'dist/bin'), { recursive: true })
  await writeFile(path.join(root, 'dist/index.js'), 'console.log(1)\n')
  await writeFile(path.join(root, 'dist/bin/run'), '#!/bin/sh\necho hi\n')
  await chmod(path.join(root, 'dist/bin/run'), 0o755)
  await writeFile(path.join(root, 'dist/empty'), '')
}

const publish = (s: { artifacts: ArtifactService, cwd: string, nodeId: string }, p: string, name = 'dist'): ReturnType<ArtifactService['publish']> =>
  s.artifacts.publish({ workflowId: 'wf-1', requesterId: s.nodeId, stepId: 'build', cwd: s.cwd, name, path: p })

test('the manifest hash depends on content, paths and modes, not on order or where the files were', async t => {
  const m: Manifest = { version: 1, chunkSize: CHUNK_SIZE, directory: true, files: [{ path: 'b', mode: 0o644, size: 1, chunks: ['0'.repeat(64)] }, { path: 'a', mode: 0o755, size: 0, chunks: [] }] }
  const reordered: Manifest = { ...m, files: [...m.files].reverse() }
  assert.equal(manifestHash(crypto, m), manifestHash(crypto, reordered))
  assert.deepEqual(encodeManifest(m), encodeManifest(reordered))
  assert.notEqual(manifestHash(crypto, m), manifestHash(crypto, { ...m, files: [{ ...m.files[0]!, mode: 0o600 }, m.files[1]!] }))

  const one = await service(t)
  const two = await service(t)
  await tree(one.cwd)
  await tree(two.cwd)
  const a = await publish(one, 'dist')
  const b = await publish(two, 'dist/')
  assert.equal(a.hash, b.hash, 'the same files give the same hash on another node')
  assert.equal(a.files, 3)
  assert.equal(a.size, 'console.log(1)\n'.length + '#!/bin/sh\necho hi\n'.length)
  assert.equal(a.directory, true)
  assert.deepEqual(a.nodes, [one.nodeId])
  await writeFile(path.join(two.cwd, 'dist/index.js'), 'console.log(2)\n')
  assert.notEqual((await publish(two, 'dist')).hash, a.hash)
  assert.deepEqual((await one.artifacts.list('wf-1')).map(r => r.name), ['dist'])
})

test('a file larger than a chunk is hashed chunk by chunk, and one file is an artifact too', async t => {
  const s = await service(t)
  const big = Buffer.alloc(CHUNK_SIZE * 2 + 10, 7)
  await writeFile(path.join(s.cwd, 'blob.bin'), big)
  const record = await publish(s, 'blob.bin', 'blob')
  assert.equal(record.directory, false)
  assert.equal(record.size, big.length)
  const manifest = JSON.parse(await readFile(path.join(s.dataDir, 'artifacts', record.hash, 'manifest.json'), 'utf8')) as Manifest
  assert.equal(manifest.files[0]?.chunks.length, 3)
  assert.equal(manifest.files[0]?.path, '')
})

test('publish refuses a missing path, one that escapes the working directory, and one over SE_ARTIFACT_MAX', async t => {
  const s = await service(t, { SE_ARTIFACT_MAX: '1K' })
  await assert.rejects(publish(s, 'dist/'), (err: SeError) => err.code === 'BAD_INPUT' && err.reason === `artifact dist: dist/ does not exist in ${s.cwd}`)
  await assert.rejects(publish(s, '../etc'), (err: SeError) => err.code === 'BAD_INPUT' && err.reason.includes('outside the working directory'))
  await assert.rejects(publish(s, '/etc/passwd'), (err: SeError) => err.code === 'BAD_INPUT' && err.reason.includes('outside the working directory'))
  await symlink('/etc', path.join(s.cwd, 'out'))
  await assert.rejects(publish(s, 'out'), (err: SeError) => err.code === 'BAD_INPUT' && err.reason.includes('outside the working directory'))
  await mkdir(path.join(s.cwd, 'inner'))
  await symlink('/etc/hostname', path.join(s.cwd, 'inner/host'))
  await assert.rejects(publish(s, 'inner'), (err: SeError) => err.code === 'BAD_INPUT' && err.reason.includes('outside the working directory'))
  await mkdir(path.join(s.cwd, 'big'))
  await writeFile(path.join(s.cwd, 'big/a'), Buffer.alloc(600))
  await writeFile(path.join(s.cwd, 'big/b'), Buffer.alloc(600))
  await assert.rejects(publish(s, 'big'), (err: SeError) => err.code === 'OVER_BUDGET' && err.reason === 'artifact dist: big holds 1.2 KiB, more than SE_ARTIFACT_MAX (1.0 KiB); nothing was published')
  assert.deepEqual(await s.artifacts.list('wf-1'), [])
  // A symlink that stays inside is followed.
  await writeFile(path.join(s.cwd, 'inner/real'), 'x')
  await mkdir(path.join(s.cwd, 'ok'))
  await symlink(path.join(s.cwd, 'inner/real'), path.join(s.cwd, 'ok/link'))
  assert.equal((await publish(s, 'ok')).size, 1)
})

test('SE_ARTIFACT_MAX takes bytes or a suffix, and refuses anything else', () => {
  assert.equal(parseSize('10G'), 10 * 2 ** 30)
  assert.equal(parseSize('512m'), 512 * 2 ** 20)
  assert.equal(parseSize('1.5GiB'), 1.5 * 2 ** 30)
  assert.equal(parseSize('4096'), 4096)
  assert.throws(() => parseSize('lots'), (err: SeError) => err.code === 'BAD_INPUT')
  assert.throws(() => parseSize('0'), (err: SeError) => err.code === 'BAD_INPUT')
})

test('placing puts the files at the same relative path, executables still executable', async t => {
  const s = await service(t)
  await tree(s.cwd)
  const record = await publish(s, 'dist')
  const elsewhere = await makeTempDir(t, 'se-art-place-')
  const placed = await s.artifacts.place({ workflowId: 'wf-1', requesterId: s.nodeId, cwd: elsewhere, use: { artifact: record, grant: '' } })
  assert.deepEqual(placed.nodes, [s.nodeId])
  assert.equal(await readFile(path.join(elsewhere, 'dist/index.js'), 'utf8'), 'console.log(1)\n')
  assert.equal(await readFile(path.join(elsewhere, 'dist/bin/run'), 'utf8'), '#!/bin/sh\necho hi\n')
  assert.equal((await stat(path.join(elsewhere, 'dist/bin/run'))).mode & 0o777, 0o755)
  assert.equal((await stat(path.join(elsewhere, 'dist/empty'))).size, 0)
  // Placed again over what is there: replaced, not appended to.
  await s.artifacts.place({ workflowId: 'wf-1', requesterId: s.nodeId, cwd: elsewhere, use: { artifact: record, grant: '' } })
  assert.equal(await readFile(path.join(elsewhere, 'dist/index.js'), 'utf8'), 'console.log(1)\n')
  // Not held here and no member holds it: said so.
  await assert.rejects(s.artifacts.place({ workflowId: 'wf-1', requesterId: s.nodeId, cwd: elsewhere, use: { artifact: { ...record, hash: 'ab'.repeat(32), nodes: ['cd'.repeat(32)] }, grant: '' } }), (err: SeError) => err.code === 'NO_NODE')
})

test('outputs: KEY=VALUE lines and KEY<<DELIM heredocs; anything else is refused with its line', () => {
  assert.deepEqual(parseOutputs('s', 'a=1\nb=x=y\n\nnotes<<EOF\nline 1\nline 2\nEOF\nc=\r\n'), { a: '1', b: 'x=y', notes: 'line 1\nline 2', c: '' })
  assert.deepEqual(parseOutputs('s', 'k=v<<not a heredoc'), { k: 'v<<not a heredoc' })
  assert.throws(() => parseOutputs('s', 'a=1\njunk'), (err: SeError) => err.code === 'BAD_INPUT' && err.reason.startsWith('step s: $SE_OUTPUT line 2'))
  assert.throws(() => parseOutputs('s', 'x<<END\nnever closed'), (err: SeError) => err.reason.includes('never closed'))
})

test('StepFiles gives a step its $SE_OUTPUT and reads it back, caps it, and publishes only after success', async t => {
  const s = await service(t)
  const files = new StepFiles({ artifacts: s.artifacts, fs: new NodeFileSystem(), dataDir: s.dataDir })
  const step = { workflowId: 'wf-1', requesterId: s.nodeId, stepId: 'build', attempt: 1, cwd: s.cwd }
  const prepared = await files.prepare({ ...step, uses: [], outputs: true })
  const out = prepared.env.SE_OUTPUT as string
  assert.ok(out.startsWith(path.join(s.dataDir, 'outputs')))
  assert.equal(await readFile(out, 'utf8'), '')
  await writeFile(out, 'version=1.2.3\nlog<<X\na\nb\nX\n')
  await tree(s.cwd)
  const failed = await files.finish({ ...step, publish: [{ name: 'dist', path: 'dist' }], outputs: true, succeeded: false })
  assert.deepEqual(failed, { outputs: { version: '1.2.3', log: 'a\nb' }, artifacts: [] })
  await assert.rejects(stat(out), 'the output file is removed')

  await files.prepare({ ...step, attempt: 2, uses: [], outputs: true })
  const done = await files.finish({ ...step, attempt: 2, publish: [{ name: 'dist', path: 'dist' }], outputs: true, succeeded: true })
  assert.deepEqual(done.outputs, {})
  assert.equal(done.artifacts[0]?.name, 'dist')

  const again = await files.prepare({ ...step, attempt: 3, uses: [], outputs: true })
  await writeFile(again.env.SE_OUTPUT as string, Buffer.alloc(1024 * 1024 + 1, 97))
  await assert.rejects(files.finish({ ...step, attempt: 3, publish: [], outputs: true, succeeded: true }), (err: SeError) => err.code === 'BAD_INPUT' && err.reason.includes('more than 1.0 MiB'))
  await assert.rejects(files.finish({ ...step, attempt: 4, publish: [{ name: 'gone', path: 'gone/' }], outputs: false, succeeded: true }), (err: SeError) => err.reason === `artifact gone: gone/ does not exist in ${s.cwd}`)
})

/** The two ends of one in-memory connection's artifact channel, as the mesh hands them to each node's service. */
function channelPair (): [MessageChannel, MessageChannel] {
  const listeners: Array<(data: Uint8Array) => void> = [() => {}, () => {}]
  const end = (i: 0 | 1): MessageChannel => ({
    send: data => { const copy = data.slice(); queueMicrotask(() => (listeners[1 - i] as (d: Uint8Array) => void)(copy)); return true },
    drained: async () => {},
    onMessage: l => { listeners[i] = l }
  })
  return [end(0), end(1)]
}

/**
 * A holder `a` and a fetcher `b` whose dials to it go through `dial`: on the call it lets through,
 * the connection comes up as the mesh brings one up (each end's service is handed its channel).
 */
async function holderAndFetcher (t: TestContext, dial: (n: number) => boolean, more: Pick<ArtifactServiceOptions, 'reachWindowMs' | 'holderGone'> = {}): Promise<{ a: Awaited<ReturnType<typeof service>>, b: Awaited<ReturnType<typeof service>>, dials: () => number }> {
  const a = await service(t)
  let dials = 0
  let b: Awaited<ReturnType<typeof service>> | undefined
  const reach = async (nodeId: string): Promise<() => void> => {
    if (!dial(++dials)) throw SeError.memberUnreachable('a', nodeId, 5000)
    const [toB, toA] = channelPair()
    a.artifacts.attach((b as typeof a).nodeId, toB, () => {})
    ;(b as typeof a).artifacts.attach(nodeId, toA, () => {})
    return () => {}
  }
  b = await service(t, {}, { reach, ...more })
  return { a, b, dials: () => dials }
}

test('a holder not reached at first is dialled again until it answers; one never reached fails naming it and why', async t => {
  // The first two dials fail as a dial to a loaded member does (TIMEOUT); the third connects.
  const late = await holderAndFetcher(t, n => n >= 3)
  await tree(late.a.cwd)
  const record = await late.a.artifacts.publish({ workflowId: 'wf-1', requesterId: late.b.nodeId, stepId: 'build', cwd: late.a.cwd, name: 'dist', path: 'dist' })
  const placed = await late.b.artifacts.place({ workflowId: 'wf-1', requesterId: late.b.nodeId, cwd: late.b.cwd, use: { artifact: record, grant: '' } })
  assert.equal(late.dials(), 3)
  assert.deepEqual(placed.nodes, [late.a.nodeId, late.b.nodeId])
  assert.equal(await readFile(path.join(late.b.cwd, 'dist/index.js'), 'utf8'), 'console.log(1)\n')

  // Never reached: tried for the window (250 ms, then 500 ms between dials), then refused with the dial's own failure.
  const never = await holderAndFetcher(t, () => false, { reachWindowMs: 1200 })
  await tree(never.a.cwd)
  const lost = await never.a.artifacts.publish({ workflowId: 'wf-1', requesterId: never.b.nodeId, stepId: 'build', cwd: never.a.cwd, name: 'dist', path: 'dist' })
  await assert.rejects(never.b.artifacts.place({ workflowId: 'wf-1', requesterId: never.b.nodeId, cwd: never.b.cwd, use: { artifact: lost, grant: '' } }), (err: SeError) => {
    assert.equal(err.code, 'NO_NODE')
    assert.equal(err.reason, `artifact dist (${lost.hash.slice(0, 12)}) could not be fetched: tried ${never.a.nodeId.slice(0, 12)}: TIMEOUT: could not connect to a (${never.a.nodeId.slice(0, 12)}) within 5000 ms`)
    return true
  })
  assert.equal(never.dials(), 3)

  // A holder the mesh lists as down is dialled once, not waited for: the requester makes the artifact again elsewhere.
  const down = await holderAndFetcher(t, () => false, { holderGone: () => true })
  await tree(down.a.cwd)
  const held = await down.a.artifacts.publish({ workflowId: 'wf-1', requesterId: down.b.nodeId, stepId: 'build', cwd: down.a.cwd, name: 'dist', path: 'dist' })
  await assert.rejects(down.b.artifacts.place({ workflowId: 'wf-1', requesterId: down.b.nodeId, cwd: down.b.cwd, use: { artifact: held, grant: '' } }), (err: SeError) => err.code === 'NO_NODE')
  assert.equal(down.dials(), 1)
})

test('a holder that answers with a refusal is not asked again: its own error is the failure', async t => {
  const { a, b, dials } = await holderAndFetcher(t, () => true)
  await tree(a.cwd)
  // Made for another requester: b has no step in that workflow and no grant.
  const record = await a.artifacts.publish({ workflowId: 'wf-1', requesterId: a.nodeId, stepId: 'build', cwd: a.cwd, name: 'dist', path: 'dist' })
  await assert.rejects(b.artifacts.place({ workflowId: 'wf-1', requesterId: b.nodeId, cwd: b.cwd, use: { artifact: record, grant: '' } }), (err: SeError) => err.code === 'NOT_ALLOWED' && err.reason.includes('may not fetch artifact dist'))
  assert.equal(dials(), 1)
})
