// Workflows spread over a real mesh: node processes on Hyperswarm on loopback, each in a
// private mount namespace with its own tmpfs at the workflow's working directory, so an
// artifact can only reach another node by travelling. A build on the builder, four test
// shards spread over both testers using the build's 50 MB artifact byte for byte, lint
// beside the build, and the fan-in; then kill -9 of the requester mid-fan-out, and of
// an executor mid-instance.
import assert from 'node:assert/strict'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { json, se, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, waitForStates, type MeshNodeProc } from './helpers/mesh.js'
import { commonArea, privateAreasAvailable, privateNode } from './helpers/private-area.js'

const skip = await privateAreasAvailable()
const opts = { skip: skip ?? false }

interface Step { id: string, step: string, state: string, stderr: string, node: string | null, startedAt: number | null, endedAt: number | null, stdout: string, outputs: Record<string, string>, artifacts: Array<{ name: string, hash: string, size: number, nodes: string[] }>, uses: string[], attempts: number }

async function execute (t: TestContext, home: MeshNodeProc, area: string, yaml: string): Promise<string> {
  // The file lives outside the area: the CLI reads it here and sends its text.
  const dir = await tempDir(t, 'se-flows-')
  const file = path.join(dir, 'flow.yaml')
  await writeFile(file, yaml)
  const r = await se(['execute', file, '--json'], { dataDir: home.dataDir, cwd: area })
  assert.equal(r.code, 0, r.stderr)
  return json(r).id as string
}

async function finished (home: MeshNodeProc, id: string, timeoutMs = 120_000): Promise<{ state: string, error: string | null, steps: Step[] }> {
  return await waitFor(`workflow ${id} to finish`, async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: home.dataDir }))
    return ['completed', 'failed', 'cancelled'].includes(s.state) ? s : undefined
  }, timeoutMs)
}

/**
 * A home node (no tags) and two members with the tags given, each in its own mount namespace,
 * all up for each other; `bootstrap` and `area` to start more on the same mesh.
 */
async function threeNodes (t: TestContext, members: [string, string[]], other: [string, string[]]): Promise<{ bootstrap: string, area: string, nodes: [MeshNodeProc, MeshNodeProc, MeshNodeProc] }> {
  const bootstrap = await localBootstrap(t)
  const area = await commonArea(t)
  const nodes = await Promise.all([
    privateNode(t, bootstrap, area, 'home'),
    privateNode(t, bootstrap, area, members[0], { tags: members[1] }),
    privateNode(t, bootstrap, area, other[0], { tags: other[1] })
  ])
  await waitForStates(nodes[0], [nodes[1], nodes[2]], 'up')
  await waitForStates(nodes[1], [nodes[2]], 'up')
  return { bootstrap, area, nodes }
}

const BUILD_AND_TEST = `
name: SPREAD
steps:
  - id: build
    requires: { capabilities: [builder] }
    run: { command: sh, args: [-c, "mkdir -p dist && head -c 52428800 /dev/urandom > dist/blob && printf '#!/bin/sh\\necho shard $1 ok\\n' > dist/run && chmod +x dist/run && echo version=1.2.3 >> $SE_OUTPUT && sha256sum dist/blob | cut -d' ' -f1"] }
    artifacts: { dist: dist/ }
    outputs: [version]
  - id: test
    needs: [build]
    matrix: { shard: [1, 2, 3, 4] }
    requires: { capabilities: [tester] }
    uses: [build.dist]
    run: { command: sh, args: [-c, "sleep 2; ./dist/run \${matrix.shard}; sha256sum dist/blob | cut -d' ' -f1"] }
  - id: lint
    needs: []
    run: { command: sh, args: [-c, "sleep 1; ls; echo lint done"] }
  - id: publish
    needs: [test, lint]
    run: { command: sh, args: [-c, "echo publishing \${steps.build.outputs.version}; ls"] }
`

test('a build on one node, its 50 MB artifact used byte for byte by test shards spread over two others, lint beside the build, then the fan-in', opts, async t => {
  const { area, nodes: [home, builder, tester] } = await threeNodes(t, ['builder', ['builder', 'tester']], ['tester', ['tester']])
  const id = await execute(t, home, area, BUILD_AND_TEST)
  const done = await finished(home, id)
  if (done.state !== 'completed') {
    // Why, in the failure itself: each step's stderr and where it ran, each node's warnings, and the trail's newest entries.
    const trail = (await se(['audit', '--limit', '60'], { dataDir: home.dataDir })).stdout
    const warnings = [home, builder, tester].map(n => `${n.name}:\n${n.proc.stderr().split('\n').filter(l => !/ info /.test(l)).slice(-25).join('\n')}`).join('\n')
    assert.fail(`${done.error ?? done.state}\n${done.steps.map(s => `${s.id} ${s.state} on ${s.node?.slice(0, 8) ?? '-'}: ${s.stderr ?? ''}`).join('\n')}\n${warnings}\n${trail}`)
  }
  const by = (id: string): Step => done.steps.find(s => s.id === id) as Step
  const build = by('build')
  const shards = done.steps.filter(s => s.step === 'test')
  assert.equal(build.node, builder.key)
  assert.equal(build.outputs.version, '1.2.3')
  const made = build.artifacts[0]
  assert.ok(made !== undefined && made.name === 'dist' && made.size > 50_000_000, JSON.stringify(build.artifacts))
  // Byte for byte on every node that used it, whichever node it ran on.
  const blobHash = build.stdout.trim()
  assert.match(blobHash, /^[0-9a-f]{64}$/)
  assert.deepEqual(shards.map(s => s.id), ['test[shard=1]', 'test[shard=2]', 'test[shard=3]', 'test[shard=4]'])
  for (const s of shards) {
    const [ok, hash] = s.stdout.trim().split('\n')
    assert.equal(ok, `shard ${s.id.match(/shard=(\d)/)?.[1] ?? '?'} ok`)
    assert.equal(hash, blobHash, `${s.id} on ${s.node === tester.key ? 'tester' : 'builder'} saw the same bytes`)
    assert.deepEqual(s.uses, [made.hash])
  }
  assert.deepEqual(new Set(shards.map(s => s.node)), new Set([builder.key, tester.key]), 'the shards used both testers')
  // The shards ran at once: all four were running at one moment, so they took well under the sum of their times.
  const lastStart = Math.max(...shards.map(s => s.startedAt as number))
  const firstEnd = Math.min(...shards.map(s => s.endedAt as number))
  assert.ok(lastStart < firstEnd, `the shards did not all run at once: ${JSON.stringify(shards.map(s => [s.id, s.node?.slice(0, 6), s.startedAt, s.endedAt]))}`)
  // lint ran beside the build, on home, where the artifact never went.
  const lint = by('lint')
  assert.equal(lint.node, home.key)
  assert.ok((lint.startedAt as number) < (build.endedAt as number), 'lint started before the build ended')
  assert.doesNotMatch(lint.stdout, /dist/)
  assert.match(by('publish').stdout, /publishing 1\.2\.3/)
  assert.deepEqual(await readdir(area), [], 'nothing came through the file system the test shares with the nodes')
  // The artifact's hash is in the trail: where it was made and where each shard used it.
  const trail = (await se(['audit', '--workflow', id], { dataDir: home.dataDir })).stdout
  assert.match(trail, new RegExp(`step build completed in \\d+ ms; published dist sha256:${made.hash}`))
  assert.equal((trail.match(new RegExp(`step test\\[shard=\\d\\] \\(attempt 1\\).*uses dist sha256:${made.hash}`, 'g')) ?? []).length, 4)
  assert.equal((await se(['audit', '--verify'], { dataDir: home.dataDir })).code, 0)

  // se artifacts lists it with every node that holds a copy; get fetches it here, verified.
  const listed = json(await se(['artifacts', id, '--json'], { dataDir: home.dataDir }))
  assert.equal(listed.length, 1)
  assert.equal(listed[0].hash, made.hash)
  assert.ok(listed[0].nodes.includes(builder.key) && listed[0].nodes.includes(tester.key), JSON.stringify(listed[0].nodes))
  assert.match((await se(['artifacts', id], { dataDir: home.dataDir })).stdout, new RegExp(`dist\\s+build\\s+.*sha256:${made.hash}`))
  const out = await tempDir(t, 'se-got-')
  const got = await se(['artifacts', 'get', id, 'dist', out], { dataDir: home.dataDir })
  assert.equal(got.code, 0, got.stderr)
  const { createHash } = await import('node:crypto')
  assert.equal(createHash('sha256').update(await readFile(path.join(out, 'dist', 'blob'))).digest('hex'), blobHash)
  const missing = await se(['artifacts', 'get', id, 'nope', out], { dataDir: home.dataDir })
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /has no artifact 'nope'/)
})

test('kill -9 of the requester mid-fan-out: after a restart every instance completes, finished ones exactly once', opts, async t => {
  const { bootstrap, area, nodes: [first, w1, w2] } = await threeNodes(t, ['w1', ['tester']], ['w2', ['tester']])
  const counts = await tempDir(t, 'se-counts-')
  const id = await execute(t, first, area, `
name: FAN
steps:
  - id: t
    idempotent: true
    requires: { capabilities: [tester] }
    matrix: { n: [1, 2, 3, 4] }
    run: { command: sh, args: [-c, "echo \${matrix.n} >> ${counts}/runs; if [ \${matrix.n} -gt 2 ]; then sleep 8; fi"] }
`)
  let seen = ''
  await waitFor('instances 1 and 2 to complete, 3 and 4 to run', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: first.dataDir }))
    seen = `${s.state} ${s.error ?? ''} ${s.steps.map((x: Step) => `${x.id}:${x.state}:${x.startedAt ?? ''}-${x.endedAt ?? ''}`).join(',')} at ${Date.now()}`
    return s.steps.map((x: Step) => x.state).join(',') === 'completed,completed,running,running' ? s : undefined
  }).catch(err => { throw new Error(`${(err as Error).message}; last seen ${seen}`) })
  await first.proc.crash()
  const home = await privateNode(t, bootstrap, area, 'home', { dataDir: first.dataDir })
  const done = await finished(home, id)
  assert.equal(done.state, 'completed', done.error ?? '')
  const runs = (await readFile(path.join(counts, 'runs'), 'utf8')).trim().split('\n')
  const times = (n: string): number => runs.filter(r => r === n).length
  assert.equal(times('1'), 1)
  assert.equal(times('2'), 1)
  for (const n of ['3', '4']) assert.ok(times(n) >= 1 && times(n) <= 2, `instance ${n} ran ${times(n)} times`)
  assert.match((await se(['audit', '--workflow', id], { dataDir: home.dataDir })).stdout, /resumed after restart/)
})

test('kill -9 of an executor mid-instance: its instance moves to the other capable node', opts, async t => {
  const { area, nodes: [home, w1, w2] } = await threeNodes(t, ['w1', ['tester']], ['w2', ['tester']])
  // The instances wait at a gate outside the private areas rather than sleep: catching both mid-run
  // must not depend on how loaded the machine is.
  const gate = path.join(await tempDir(t, 'se-gate-'), 'open')
  const id = await execute(t, home, area, `
name: MOVE
steps:
  - { id: t, idempotent: true, requires: { capabilities: [tester] }, matrix: { n: [1, 2] }, run: { command: sh, args: [-c, "while [ ! -f ${gate} ]; do sleep 0.1; done; echo done \${matrix.n}"] } }
`)
  const running = await waitFor('both instances running', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: home.dataDir }))
    return s.steps.every((x: Step) => x.state === 'running') ? s : undefined
  })
  const onW1 = running.steps.find((x: Step) => x.node === w1.key)
  assert.ok(onW1 !== undefined, 'an instance runs on w1')
  await w1.proc.crash()
  await writeFile(gate, '')
  const done = await finished(home, id)
  assert.equal(done.state, 'completed', done.error ?? '')
  assert.ok(done.steps.every(s => s.node === w2.key), 'both ended on w2')
  assert.match((await se(['audit', '--workflow', id], { dataDir: home.dataDir })).stdout, new RegExp(`step_handoff: MOVE step ${onW1.id.replace(/[[\]]/g, '\\$&')}: node w1 was lost`))
})

test('an artifact whose only holder is gone is made again by rerunning its step on another capable node, and the trail says so', opts, async t => {
  const { area, nodes: [home, b1, b2] } = await threeNodes(t, ['b1', ['builder']], ['b2', ['builder']])
  const id = await execute(t, home, area, `
name: REMAKE
steps:
  - { id: build, requires: { capabilities: [builder] }, run: { command: sh, args: [-c, "mkdir -p out && echo made-on-$SE_NODE_ID > out/who"] }, artifacts: { out: out/ } }
  - { id: gate, intervention: { prompt: "go on?", choices: [approve, reject] } }
  - { id: use, uses: [build.out], run: { command: cat, args: [out/who] } }
`)
  const waiting = await waitFor('the gate', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: home.dataDir }))
    return s.state === 'waiting_intervention' ? s : undefined
  })
  const maker = waiting.steps[0].node === b1.key ? b1 : b2
  const other = maker === b1 ? b2 : b1
  await maker.proc.crash()
  await waitForStates(home, [maker], 'down')
  assert.equal((await se(['approve', id], { dataDir: home.dataDir })).code, 0)
  const done = await finished(home, id)
  assert.equal(done.state, 'completed', done.error ?? '')
  assert.equal(done.steps[0]?.node, other.key, 'build ran again on the other builder')
  assert.equal(done.steps[0]?.attempts, 2)
  assert.equal(done.steps[2]?.stdout.trim(), `made-on-${other.key}`)
  assert.match((await se(['audit', '--workflow', id], { dataDir: home.dataDir })).stdout, /artifact_lost: REMAKE artifact out \(sha256:[0-9a-f]{64}\) of step build was held only by [0-9a-f]{8}, none of which can be reached: step build runs again to make it/)
})

test('the shipped BUILD_AND_TEST: built once, tested in four shards over both testers, published after a person approves', opts, async t => {
  const { area, nodes: [home, builder, tester] } = await threeNodes(t, ['builder', ['builder', 'tester']], ['tester', ['tester']])
  const started = await se(['execute', 'BUILD_AND_TEST', '--json'], { dataDir: home.dataDir, cwd: area })
  assert.equal(started.code, 0, started.stderr)
  const id = json(started).id as string
  const waiting = await waitFor('the question before publishing', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: home.dataDir }))
    return s.state === 'waiting_intervention' ? s : undefined
  }, 120_000)
  assert.equal(waiting.intervention.prompt, 'Publish 1.2.3?')
  const shards = waiting.steps.filter((s: Step) => s.step === 'test')
  assert.equal(shards.length, 4)
  assert.deepEqual(new Set(shards.map((s: Step) => s.node)), new Set([builder.key, tester.key]))
  const built = waiting.steps[0].stdout.split(' ')[0]
  for (const s of shards) assert.equal(s.stdout.trim().split('\n')[1]?.split(' ')[0], built)
  const shown = (await se(['status', id], { dataDir: home.dataDir })).stdout
  assert.match(shown, /test\s+4\/4 completed/)
  assert.equal((await se(['approve', id], { dataDir: home.dataDir })).code, 0)
  assert.equal((await finished(home, id)).state, 'completed')
})
