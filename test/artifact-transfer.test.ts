// Artifacts between mesh members over real Hyperswarm connections on loopback:
// fetched byte-identical, a corrupted chunk refused and fetched again, a member
// with no step in the workflow refused and audited, and steps routed to a member
// that publish and use artifacts through the step server.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import type { ArtifactRecord, MeshPeerApi, StepRequest } from '../core/protocol/types.js'
import type { SeError } from '../core/errors.js'
import { artifactMember, loopbackBootstrap, meshed, type ArtifactMember } from './helpers/artifact-mesh.js'
import { makeTempDir } from './helpers/tmp.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const MB = 1024 * 1024

/** `maker` publishes dist/ (a 50 MB file and an executable) for a workflow `requester` asked for. */
async function publishDist (t: Parameters<typeof makeTempDir>[0], maker: ArtifactMember, requester: ArtifactMember, bigBytes = 50 * MB): Promise<{ record: ArtifactRecord, big: Buffer }> {
  const cwd = await makeTempDir(t, 'se-art-src-')
  const big = randomBytes(bigBytes)
  await mkdir(path.join(cwd, 'dist'))
  await writeFile(path.join(cwd, 'dist/big.bin'), big)
  await writeFile(path.join(cwd, 'dist/run'), '#!/bin/sh\n')
  await chmod(path.join(cwd, 'dist/run'), 0o755)
  const record = await maker.artifacts.publish({ workflowId: 'wf-t', requesterId: requester.nodeId, stepId: 'build', cwd, name: 'dist', path: 'dist' })
  return { record, big }
}

test('a 50 MB artifact is fetched from the member that made it, byte-identical, and then held by the fetcher too', async t => {
  const boot = await loopbackBootstrap(t)
  const [a, b] = await Promise.all([artifactMember(t, boot, 'a'), artifactMember(t, boot, 'b')])
  await meshed([a, b])
  const { record, big } = await publishDist(t, a, b)
  const cwd = await makeTempDir(t, 'se-art-dst-')
  const placed = await b.artifacts.place({ workflowId: 'wf-t', requesterId: b.nodeId, cwd, use: { artifact: record, grant: '' } })
  assert.deepEqual(placed.nodes, [a.nodeId, b.nodeId])
  assert.equal(sha(await readFile(path.join(cwd, 'dist/big.bin'))), sha(big))
  assert.equal((await stat(path.join(cwd, 'dist/run'))).mode & 0o777, 0o755)
  assert.deepEqual((await b.artifacts.list('wf-t')).map(r => r.hash), [record.hash])
  // The requester can also fetch it anywhere (se artifacts get).
  const out = await makeTempDir(t, 'se-art-get-')
  assert.equal(await b.artifacts.fetchInto(record, out), path.join(out, 'dist'))
  assert.equal((await stat(path.join(out, 'dist/big.bin'))).size, big.length)
})

test('a corrupted chunk is refused and fetched again; one corrupted every time fails naming the artifact, chunk and node', async t => {
  const boot = await loopbackBootstrap(t)
  const [a, b] = await Promise.all([artifactMember(t, boot, 'a', { SE_TEST_CORRUPT_ARTIFACT_CHUNKS: '1' }), artifactMember(t, boot, 'b')])
  await meshed([a, b])
  const { record, big } = await publishDist(t, a, b, 3 * MB)
  const cwd = await makeTempDir(t, 'se-art-dst-')
  await b.artifacts.place({ workflowId: 'wf-t', requesterId: b.nodeId, cwd, use: { artifact: record, grant: '' } })
  assert.equal(sha(await readFile(path.join(cwd, 'dist/big.bin'))), sha(big))
  assert.equal(b.warnings.filter(w => w.includes('failed verification')).length, 1, b.warnings.join('\n'))

  const c = await artifactMember(t, boot, 'c', { SE_TEST_CORRUPT_ARTIFACT_CHUNKS: '100' })
  await meshed([b, c])
  const bad = await publishDist(t, c, b, 2 * MB)
  await assert.rejects(b.artifacts.place({ workflowId: 'wf-t', requesterId: b.nodeId, cwd: await makeTempDir(t), use: { artifact: bad.record, grant: '' } }), (err: SeError) => {
    assert.equal(err.code, 'STORE_CORRUPT')
    assert.match(err.reason, new RegExp(`^artifact dist \\(${bad.record.hash.slice(0, 12)}\\): chunk \\d+ of big.bin from node ${c.nodeId.slice(0, 12)} failed verification 3 times`))
    return true
  })
  // Nothing half-fetched was kept: the artifact is still not held by b.
  assert.equal((await b.artifacts.list('wf-t')).some(r => r.hash === bad.record.hash), false)
})

test('a member with no step in the workflow is refused and the holder audits it; with the requester\'s grant it gets the artifact', async t => {
  const boot = await loopbackBootstrap(t)
  const [a, b, c] = await Promise.all([artifactMember(t, boot, 'a'), artifactMember(t, boot, 'b'), artifactMember(t, boot, 'c')])
  await meshed([a, b, c])
  const { record } = await publishDist(t, a, b, 1 * MB)
  const cwd = await makeTempDir(t, 'se-art-dst-')
  await assert.rejects(c.artifacts.place({ workflowId: 'wf-t', requesterId: b.nodeId, cwd, use: { artifact: record, grant: '' } }), (err: SeError) => {
    assert.equal(err.code, 'NOT_ALLOWED')
    assert.match(err.reason, /c \(.{8}\) may not fetch artifact dist .* of workflow wf-t/)
    return true
  })
  const refusal = a.audits.find(e => e.event === 'artifact_refused')
  assert.ok(refusal !== undefined, 'the holder audited the refusal')
  assert.equal(refusal.workflowId, 'wf-t')
  assert.match(refusal.message, /^c \(.{8}\) asked for artifact dist/)
  // A grant for another node, or signed by someone else, does not do.
  await assert.rejects(c.artifacts.place({ workflowId: 'wf-t', requesterId: b.nodeId, cwd, use: { artifact: record, grant: b.artifacts.grant('wf-t', record.hash, a.nodeId) } }), (err: SeError) => err.code === 'NOT_ALLOWED')
  await assert.rejects(c.artifacts.place({ workflowId: 'wf-t', requesterId: b.nodeId, cwd, use: { artifact: record, grant: c.artifacts.grant('wf-t', record.hash, c.nodeId) } }), (err: SeError) => err.code === 'NOT_ALLOWED')
  await c.artifacts.place({ workflowId: 'wf-t', requesterId: b.nodeId, cwd, use: { artifact: record, grant: b.artifacts.grant('wf-t', record.hash, c.nodeId) } })
  assert.equal((await stat(path.join(cwd, 'dist/big.bin'))).size, MB)
})

test('steps routed to members publish artifacts and outputs, and use an artifact made on another member', async t => {
  const boot = await loopbackBootstrap(t)
  const [req, maker, user] = await Promise.all([artifactMember(t, boot, 'req'), artifactMember(t, boot, 'maker'), artifactMember(t, boot, 'user')])
  await meshed([req, maker, user])
  const step = (id: string, script: string, extra: Partial<StepRequest> = {}): StepRequest => ({
    workflowId: 'wf-steps', workflowName: 'BUILD', stepId: id, attempt: 1, command: 'sh', args: ['-c', script], cwd: null, env: {}, requires: [], timeoutMs: 30_000, container: null, uses: [], publish: [], outputs: false, ...extra
  })
  // Gossip may tell req of a member a moment before req holds a connection to it: one is opened if need be, as the router does.
  const api = async (m: ArtifactMember): Promise<MeshPeerApi> => await req.mesh.reach(m.nodeId)
  const built = await (await api(maker)).runStep(step('build', 'mkdir -p out && echo built > out/x && echo "version=1.2.3" >> "$SE_OUTPUT"', { publish: [{ name: 'out', path: 'out' }], outputs: true }), () => {})
  assert.equal(built.exitCode, 0, built.stderr)
  assert.deepEqual(built.outputs, { version: '1.2.3' })
  const record = built.artifacts[0] as ArtifactRecord
  assert.equal(record.name, 'out')
  assert.deepEqual(record.nodes, [maker.nodeId])

  const used = await (await api(user)).runStep(step('test', 'cat out/x', { uses: [{ artifact: record, grant: req.artifacts.grant('wf-steps', record.hash, user.nodeId) }] }), () => {})
  assert.equal(used.exitCode, 0, used.stderr)
  assert.equal(used.stdout.trim(), 'built')

  const noGrant = await (await api(user)).runStep(step('again', 'true', { stepId: 'again', uses: [{ artifact: { ...record, hash: 'ab'.repeat(32) }, grant: '' }] }), () => {})
  assert.equal(noGrant.exitCode, null)
  assert.match(noGrant.spawnError ?? '', /holds no artifact/)

  const missing = await (await api(maker)).runStep(step('pack', 'true', { publish: [{ name: 'pkg', path: 'pkg/' }] }), () => {})
  assert.equal(missing.exitCode, null)
  assert.match(missing.spawnError ?? '', /^artifact pkg: pkg\/ does not exist in /)
  assert.match(missing.stderr, /artifact pkg: pkg\/ does not exist in /)
})
