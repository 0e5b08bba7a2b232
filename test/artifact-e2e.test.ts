// Artifacts through whole workflows between two real node processes on a loopback
// mesh: a step routed to the builder publishes dist/ and an output; the next step,
// on the requester, finds dist/ in its working directory (fetched from the builder,
// verified, executables still executable) and reads the output. And the same
// between a Bare node and a Node node, both ways.
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, se, tempDir } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'
import { bareMeshNode } from './helpers/bare.js'

test('an artifact made on the builder is used by the next step on the requester; its output too', async t => {
  const bootstrap = await localBootstrap(t)
  const [requester, builder] = await Promise.all([meshNode(t, bootstrap, 'requester'), meshNode(t, bootstrap, 'builder', { tags: ['builder'] })])
  await waitForStates(requester, [builder], 'up')
  const dir = await tempDir(t)
  const file = path.join(dir, 'build.yaml')
  // The build runs in a directory that exists on neither node, so the builder uses its own scratch
  // directory: the requester's working directory never sees dist/ unless the artifact brings it.
  const make = 'mkdir -p dist/bin && head -c 3000000 /dev/urandom > dist/blob && sha256sum dist/blob | cut -c1-64 > blob.sha && printf \'#!/bin/sh\\necho ran\\n\' > dist/bin/run && chmod +x dist/bin/run && echo "digest=$(cat blob.sha)" >> "$SE_OUTPUT"'
  await writeFile(file, [
    'name: ARTIFACT_HANDOFF',
    'steps:',
    `  - { id: build, requires: { capabilities: [builder] }, artifacts: { dist: dist/ }, outputs: [digest], run: { command: sh, args: [-c, ${JSON.stringify(make)}], cwd: ${JSON.stringify(path.join(dir, 'nowhere'))} } }`,
    '  - id: check',
    '    needs: [build]',
    '    requires: { capabilities: [process] }',
    '    uses: [build.dist]',
    '    run: { command: sh, args: [-c, "test \\"$(sha256sum dist/blob | cut -c1-64)\\" = \\"${steps.build.outputs.digest}\\" && ./dist/bin/run && echo ok on $SE_NODE_ID"] }',
    ''
  ].join('\n'))
  const run = await se(['execute', file, '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir })
  const status = json(run)
  assert.equal(status.state, 'completed', JSON.stringify(status.steps.map((s: { id: string, state: string, stderr: string, error?: string }) => [s.id, s.state, s.stderr]), null, 1))
  const [build, check] = status.steps as Array<{ node: string, stdout: string, outputs: Record<string, string>, artifacts: Array<{ name: string, hash: string, nodes: string[], files: number }> }>
  assert.equal(build?.node, builder.key)
  assert.equal(check?.node, requester.key)
  assert.match(check?.stdout ?? '', new RegExp(`ran\\nok on ${requester.key}`))
  assert.match(build?.outputs.digest ?? '', /^[0-9a-f]{64}$/)
  const artifact = build?.artifacts[0]
  assert.equal(artifact?.name, 'dist')
  assert.equal(artifact?.files, 2)
  // The requester now holds a copy of its own.
  assert.ok((await readdir(path.join(requester.dataDir, 'artifacts'))).includes(artifact?.hash as string))
  const verify = await se(['audit', '--verify', '--json'], { dataDir: requester.dataDir })
  assert.equal(verify.code, 0, verify.stdout)
})

test('artifacts cross between a Bare node and a Node node both ways: published, served and fetched on Bare too', async t => {
  const bootstrap = await localBootstrap(t)
  const [home, edge] = await Promise.all([meshNode(t, bootstrap, 'home'), bareMeshNode(t, bootstrap, 'edge', { tags: ['gpio'] })])
  await waitForStates(home, [edge], 'up')
  await waitForStates(edge, [home], 'up')
  const dir = await tempDir(t)
  const file = path.join(dir, 'edge.yaml')
  const nowhere = JSON.stringify(path.join(dir, 'nowhere'))
  await writeFile(file, [
    'name: EDGE_ROUND_TRIP',
    'steps:',
    `  - { id: read, requires: { capabilities: [gpio] }, artifacts: { raw: raw.bin }, run: { command: sh, args: [-c, "head -c 2500000 /dev/urandom > raw.bin"], cwd: ${nowhere} } }`,
    '  - { id: digest, needs: [read], uses: [read.raw], artifacts: { sum: sum.txt }, run: { command: sh, args: [-c, "sha256sum raw.bin > sum.txt"] } }',
    `  - { id: verify, needs: [digest], requires: { capabilities: [gpio] }, uses: [read.raw, digest.sum], run: { command: sh, args: [-c, "sha256sum -c sum.txt && echo verified on $SE_NODE_ID"], cwd: ${nowhere} } }`,
    ''
  ].join('\n'))
  const status = json(await se(['execute', file, '--wait', '--json'], { dataDir: home.dataDir, cwd: dir }))
  assert.equal(status.state, 'completed', JSON.stringify(status.steps.map((s: { id: string, state: string, stderr: string }) => [s.id, s.state, s.stderr]), null, 1))
  const steps = status.steps as Array<{ id: string, node: string, stdout: string }>
  assert.deepEqual(steps.map(s => s.node), [edge.key, home.key, edge.key])
  assert.match(steps[2]?.stdout ?? '', new RegExp(`raw.bin: OK\\nverified on ${edge.key}`))
})
