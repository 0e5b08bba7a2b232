// A headless node on the real Bare runtime, in one mesh with Node nodes: it is
// built by `npm run bare`, loads nothing Node-only, runs routed steps whose audit
// lands on the requester, raises and takes interventions across the mesh,
// resumes after SIGKILL, refuses the wrong secret and stops cleanly; with
// --http it serves health and /metrics as a Node node does.
import assert from 'node:assert/strict'
import { execa } from 'execa'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, REPO, se, sleep, startNodeProcess, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, nodesOf, waitForStates, type MeshNodeProc } from './helpers/mesh.js'
import { BARE_BIN, bareMeshNode } from './helpers/bare.js'
import { TEST_IMAGE, podmanReady } from './helpers/podman.js'
import { parsePrometheus, sample } from './helpers/prometheus.js'
import { OPENAPI_FILE, assertDocumented } from './helpers/openapi.js'
import { namedType } from '../core/protocol/codec.js'
import avsc from 'avsc'

// Packages that exist for Node only; none of them may load in the Bare node.
const NODE_ONLY = ['execa', 'commander', 'blessed', 'blessed-contrib', 'tsx', 'esbuild', 'cross-spawn', 'signal-exit']

async function statusOf (n: MeshNodeProc, id: string): Promise<any> {
  return json(await se(['status', id, '--json'], { dataDir: n.dataDir }))
}

async function finished (n: MeshNodeProc, id: string, timeoutMs = 30_000): Promise<any> {
  return await waitFor(`${id} to finish on ${n.name}`, async () => {
    const s = await statusOf(n, id)
    return ['completed', 'failed', 'cancelled'].includes(s.state) ? s : undefined
  }, timeoutMs)
}

test('npm run bare builds the bundle before it starts the node, and prints usage', async t => {
  const before = Date.now()
  const r = await execa('npm', ['run', '--silent', 'bare', '--', '--help'], { cwd: REPO, reject: false })
  assert.equal(r.exitCode, 0, r.stderr)
  assert.match(r.stdout, /--mesh \[name\]/)
  assert.match(r.stdout, /--bootstrap \[host:port\]/)
  const built = await stat(path.join(REPO, 'dist', 'bare', 'se-node.cjs'))
  assert.ok(built.mtimeMs >= before - 1000, 'the bundle was rebuilt by the npm script')
  const bad = await execa('npm', ['run', '--silent', 'bare', '--', '--mesh', 'x', '--mesh-secret', 's', '--bootstrap', 'nope', '--data-dir', await tempDir(t)], { cwd: REPO, reject: false })
  assert.equal(bad.exitCode, 2)
  assert.match(bad.stderr, /bootstrap address 'nope' is not HOST:PORT/)
})

test('npm run bare:pack makes a directory that runs on its own: the runtime, the bundle and only the packages Bare needs', async t => {
  const pack = path.join(await tempDir(t), 'se-edge')
  const r = await execa('npm', ['run', '--silent', 'bare:pack', '--', pack, '--target', 'linux-x64'], { cwd: REPO, reject: false })
  assert.equal(r.exitCode, 0, r.stderr)
  const packages = await readdir(path.join(pack, 'node_modules'))
  assert.ok(packages.includes('sodium-native') && packages.includes('bare-fs'), packages.join(' '))
  for (const p of NODE_ONLY) assert.ok(!packages.includes(p), `${p} was packed`)
  assert.deepEqual(await readdir(path.join(pack, 'node_modules', 'sodium-native', 'prebuilds')), ['linux-x64'])
  // Started from elsewhere, with nothing of the repository in reach.
  const bootstrap = await localBootstrap(t)
  const dataDir = await tempDir(t)
  await startNodeProcess(t, [path.join(pack, 'runtime', 'linux-x64', 'bare'), path.join(pack, 'bare', 'se-node.cjs'), '--data-dir', dataDir, '--mesh', 'packed', '--mesh-secret', 's', '--bootstrap', bootstrap])
  const caps = json(await se(['capabilities', '--json'], { dataDir }))
  assert.match(caps.runtime, /^bare /)
})

test('the Bare bundle holds only core, Bare and shared adapters, and no Node-only module loads on Bare', async t => {
  const manifest = JSON.parse(await readFile(path.join(REPO, 'dist', 'bare', 'manifest.json'), 'utf8')) as { sources: string[], imports: string[] }
  for (const source of manifest.sources) {
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1]
    if (pkg === undefined) assert.match(source, /^(core|adapters\/bare|adapters\/shared|bare)\//, `${source} is in the Bare bundle`)
    else assert.ok(!NODE_ONLY.includes(pkg), `${source} is bundled for Bare`)
  }
  assert.ok(manifest.sources.some(s => s.startsWith('core/workflow/engine')), 'core is in the bundle')
  for (const spec of manifest.imports) {
    assert.doesNotMatch(spec, /^node:/, spec)
    assert.ok(!NODE_ONLY.includes(spec), `${spec} is imported by the Bare bundle`)
  }
  const bootstrap = await localBootstrap(t)
  const report = path.join(await tempDir(t), 'modules.json')
  await bareMeshNode(t, bootstrap, 'edge', { env: { SE_BARE_MODULE_REPORT: report } })
  const loaded = JSON.parse(await readFile(report, 'utf8')) as string[]
  assert.ok(loaded.some(u => u.includes('/node_modules/bare-fs/')), 'the report lists what loaded')
  assert.ok(loaded.some(u => u.endsWith('/dist/bare/se-node.cjs')), 'the bundle itself')
  const addons = loaded.filter(u => /\.(bare|node)$/.test(u))
  assert.ok(addons.some(u => u.endsWith('sodium-native.bare')), addons.join('\n'))
  assert.deepEqual(addons.filter(u => u.endsWith('.node')), [], 'no Node addon loaded')
  for (const url of loaded) {
    assert.ok(url.startsWith('file://') || url.startsWith('bare:'), url)
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]
    if (pkg !== undefined) assert.ok(!NODE_ONLY.includes(pkg), `${url} is Node-only`)
    assert.doesNotMatch(url, /adapters\/node\/|\/tui\//, url)
  }
})

test('on Bare, the protocol\'s Avro types encode the same bytes as on Node, and avsc fingerprints work through its crypto shim', async t => {
  // Inside the repository, so Bare finds the bare-* packages the check leaves external.
  const check = path.join(REPO, 'dist', 'bare-check', `avsc-${process.pid}.cjs`)
  t.after(() => rm(check, { force: true }))
  // Bundled as the node is (bare/build.mjs), so avsc's hashes go through the same crypto (bare/shims/avsc-crypto.ts).
  const built = await execa(process.execPath, [path.join(REPO, 'bare', 'build.mjs'), '--entry', path.join(REPO, 'test', 'fixtures', 'bare-avsc.ts'), '--outfile', check], { reject: false })
  assert.equal(built.exitCode, 0, built.stderr)
  const sample = { nodeId: 'ab'.repeat(32), loadAverage: 0.25, cpus: 4, memoryUsedMb: 812, memoryTotalMb: 3906, workflowsRunning: 1, workloadsRunning: 0, sentAt: 1763856000000 }
  const r = await execa(BARE_BIN, [check, JSON.stringify({ type: 'NodeSample', value: sample })], { reject: false })
  assert.equal(r.exitCode, 0, r.stderr)
  const onBare = JSON.parse(r.stdout) as { bytes: string, fingerprint: string }
  assert.equal(onBare.bytes, Buffer.from(namedType('NodeSample').toBuffer(sample)).toString('hex'))
  assert.equal(onBare.fingerprint, avsc.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }] }).fingerprint().toString('hex'))
})

test('a workflow needing what only the Bare node has runs there, its audit verifies on the Node node, and interventions cross both ways', async t => {
  const bootstrap = await localBootstrap(t)
  const [home, edge] = await Promise.all([meshNode(t, bootstrap, 'home'), bareMeshNode(t, bootstrap, 'edge', { tags: ['gpio'], env: { GITHUB_TOKEN: 'not-a-real-token' } })])
  await waitForStates(home, [edge], 'up')
  await waitForStates(edge, [home], 'up')
  const caps = json(await se(['capabilities', '--json'], { dataDir: edge.dataDir }))
  assert.match(caps.runtime, /^bare v1\.(3[3-9]|[4-9]\d)/)
  assert.ok(caps.engines.includes('process'), caps.engines.join(','))
  assert.ok(caps.tools.includes('git'), `tools detected on Bare: ${caps.tools.join(',')}`)
  assert.ok(caps.credentials.includes('GITHUB_TOKEN'), 'credentials detected by name, as on Node')
  assert.ok(!JSON.stringify(caps).includes('not-a-real-token'), 'a credential\'s value is never read out')
  const seen = (await nodesOf(home)).find(n => n.nodeId === edge.key)
  assert.equal(seen?.name, 'edge')

  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'sensor.yaml'), [
    'name: READ_SENSOR',
    'requires: { capabilities: [gpio] }',
    'steps:',
    '  - { id: read, run: { command: sh, args: [-c, "echo reading on $SE_NODE_ID"] } }',
    '  - { id: confirm, intervention: { prompt: "Publish the reading?" } }',
    '  - { id: publish, run: { command: sh, args: [-c, "echo published"] } }',
    ''
  ].join('\n'))
  // From the Node node: every step runs on the Bare node; the intervention waits on the requester.
  const id = json(await se(['execute', 'sensor.yaml', '--json'], { dataDir: home.dataDir, cwd: dir })).id as string
  await waitFor('the intervention', async () => (await statusOf(home, id)).state === 'waiting_intervention')
  const approved = await se(['approve', id, '--comment', 'from the edge'], { dataDir: edge.dataDir })
  assert.equal(approved.code, 0, approved.stderr)
  const done = await finished(home, id)
  assert.equal(done.state, 'completed', done.error ?? '')
  assert.equal(done.steps[0].node, edge.key)
  assert.equal(done.steps[2].node, edge.key)
  assert.match(done.steps[0].stdout, new RegExp(`reading on ${edge.key}`))
  const trail = json<Array<{ entry: { event: string, sourceNodeId: string } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir: home.dataDir }))
  const fromEdge = trail.filter(r => r.entry.sourceNodeId === edge.key).map(r => r.entry.event)
  assert.deepEqual(fromEdge, ['step_exec_start', 'step_exec_complete', 'step_exec_start', 'step_exec_complete'])
  const verified = await se(['audit', '--verify'], { dataDir: home.dataDir })
  assert.equal(verified.code, 0, verified.stdout + verified.stderr)
  assert.equal((await se(['audit', '--verify'], { dataDir: edge.dataDir })).code, 0)

  // Held by the Bare node: its intervention is listed and answered on the Node node.
  await writeFile(path.join(dir, 'local.yaml'), 'name: EDGE_LOCAL\nsteps:\n  - { id: check, run: { command: "true" } }\n  - { id: gate, intervention: { prompt: "Flash the firmware?" } }\n  - { id: flash, run: { command: sh, args: [-c, "echo flashed"] } }\n')
  const held = json(await se(['execute', 'local.yaml', '--json'], { dataDir: edge.dataDir, cwd: dir })).id as string
  await waitFor('the edge intervention', async () => (await statusOf(edge, held)).state === 'waiting_intervention')
  const fromHome = await se(['approve', held], { dataDir: home.dataDir })
  assert.equal(fromHome.code, 0, fromHome.stderr)
  const localDone = await finished(edge, held)
  assert.equal(localDone.state, 'completed', localDone.error ?? '')
  const edgeTrail = (await se(['audit', '--workflow', held], { dataDir: edge.dataDir })).stdout
  assert.match(edgeTrail, /intervention_resolved: .*approve by .* via home/)
})

test('SIGKILL of the Bare node mid-workflow, then a restart: routed and held workflows both resume', async t => {
  const bootstrap = await localBootstrap(t)
  const [home, edge] = await Promise.all([meshNode(t, bootstrap, 'home'), bareMeshNode(t, bootstrap, 'edge', { tags: ['gpio'] })])
  await waitForStates(home, [edge], 'up')
  const dir = await tempDir(t)
  const runs = path.join(dir, 'runs.log')
  const release = path.join(dir, 'release')
  const gate = `while [ ! -f ${release} ]; do sleep 0.1; done`
  await writeFile(path.join(dir, 'routed.yaml'), [
    'name: ROUTED_SLOW',
    'requires: { capabilities: [gpio] }',
    'steps:',
    `  - { id: prepare, run: { command: sh, args: [-c, "echo prepare >> ${runs}"] } }`,
    `  - { id: sample, idempotent: true, run: { command: sh, args: [-c, "echo sample-start >> ${runs}; ${gate}; echo sample >> ${runs}"] } }`,
    ''
  ].join('\n'))
  await writeFile(path.join(dir, 'held.yaml'), [
    'name: HELD_SLOW',
    'steps:',
    `  - { id: first, run: { command: sh, args: [-c, "echo held-first >> ${runs}"] } }`,
    `  - { id: long, idempotent: true, run: { command: sh, args: [-c, "echo held-long-start >> ${runs}; ${gate}; echo held-long >> ${runs}"] } }`,
    ''
  ].join('\n'))
  const routed = json(await se(['execute', 'routed.yaml', '--json'], { dataDir: home.dataDir, cwd: dir })).id as string
  const held = json(await se(['execute', 'held.yaml', '--json'], { dataDir: edge.dataDir, cwd: dir })).id as string
  await waitFor('both long steps to run', async () => {
    const text = await readFile(runs, 'utf8').catch(() => '')
    return text.includes('sample-start') && text.includes('held-long-start')
  })
  // Only the Bare process dies: both steps' shells live on, waiting at their gate.
  edge.proc.proc.kill('SIGKILL')
  await edge.proc.proc
  await waitFor('home to wait for a gpio node', async () => (await statusOf(home, routed)).state === 'waiting_node', 20_000)

  const again = await bareMeshNode(t, bootstrap, 'edge', { tags: ['gpio'], dataDir: edge.dataDir })
  assert.equal(again.key, edge.key, 'the identity survived in the data dir')
  assert.match(again.proc.stderr(), /resumed 1 unfinished workflow/)
  // It ended the shells it had left behind before it ran anything again; had it not, they
  // would pass the gate too and each step would finish twice.
  const trail = json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--json'], { dataDir: edge.dataDir }))
  assert.ok(trail.some(r => r.entry.event === 'leftovers_ended'), 'the restarted Bare node ended what its killed run left')
  await waitFor('both steps to run again', async () => {
    const text = await readFile(runs, 'utf8')
    return text.split('sample-start').length === 3 && text.split('held-long-start').length === 3
  }, 40_000)
  await writeFile(release, '')
  const [r, h] = await Promise.all([finished(home, routed, 40_000), finished(again, held, 40_000)])
  assert.equal(r.state, 'completed', r.error ?? '')
  assert.equal(h.state, 'completed', h.error ?? '')
  assert.equal(r.steps[1].node, edge.key)
  const lines = (await readFile(runs, 'utf8')).trim().split('\n')
  assert.equal(lines.filter(l => l === 'prepare').length, 1, 'the completed step ran once')
  assert.equal(lines.filter(l => l === 'held-first').length, 1, 'the held workflow\'s completed step ran once')
  assert.equal(lines.filter(l => l === 'sample').length, 1)
  assert.equal(lines.filter(l => l === 'held-long').length, 1)
  for (const n of [home, again]) assert.equal((await se(['audit', '--verify'], { dataDir: n.dataDir })).code, 0, `${n.name}'s trail verifies`)
})

test('the Bare node refuses a peer with the wrong mesh secret, and stops cleanly on SIGTERM and SIGINT', async t => {
  const bootstrap = await localBootstrap(t)
  const edge = await bareMeshNode(t, bootstrap, 'edge')
  // The intruder knows the Bare node's key and dials it directly; it lacks the secret.
  const intruder = await meshNode(t, bootstrap, 'intruder', { secret: 'wrong-secret', extra: ['--peer', edge.key] })
  await waitFor('the Bare node to audit the refusal', async () => {
    const trail = json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--json'], { dataDir: edge.dataDir }))
    return trail.some(r => r.entry.event === 'peer_rejected' && r.entry.message.includes(intruder.key.slice(0, 12)) && /mesh secret/.test(r.entry.message))
  }, 20_000).catch((err: Error) => { throw new Error(`${err.message}\nthe Bare node:\n${edge.proc.stderr()}\nthe intruder:\n${intruder.proc.stderr()}`) })
  await sleep(1000)
  assert.ok(!(await nodesOf(edge)).some(n => n.nodeId === intruder.key), 'the intruder is not a member')
  assert.ok(!(await nodesOf(intruder)).some(n => n.nodeId === edge.key && n.state === 'up'))

  assert.equal(await edge.proc.stop(), 0)
  assert.match(edge.proc.stderr(), /SIGTERM: stopping[\s\S]*node stopped/)
  const second = await bareMeshNode(t, bootstrap, 'edge', { dataDir: edge.dataDir })
  assert.equal(second.key, edge.key)
  second.proc.proc.kill('SIGINT')
  const r = await second.proc.proc
  assert.equal(r.exitCode, 0)
  assert.match(second.proc.stderr(), /SIGINT: stopping[\s\S]*node stopped/)
})

test('where podman runs, the Bare node advertises it and runs a container step through bare-subprocess', async t => {
  const skip = await podmanReady()
  if (skip !== null) { t.skip(skip); return }
  const bootstrap = await localBootstrap(t)
  // SE_TOOLS keeps podman in the list even where a test environment trims it; the probe decides.
  const edge = await bareMeshNode(t, bootstrap, 'edge', { env: { SE_TOOLS: 'podman,git' } })
  const caps = json(await se(['capabilities', '--json'], { dataDir: edge.dataDir }))
  assert.ok(caps.engines.includes('podman'), `engines on Bare: ${caps.engines.join(',')}`)
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'boxed.yaml'), [
    'name: BOXED',
    'steps:',
    `  - { id: inside, run: { image: "${TEST_IMAGE}", command: /bin/sh, args: [-c, "echo from the container > /workspace/out.txt; echo done"] } }`,
    ''
  ].join('\n'))
  const r = await se(['execute', 'boxed.yaml', '--wait', '--json'], { dataDir: edge.dataDir, cwd: dir })
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.equal(json(r).steps[0].node, edge.key)
  assert.equal((await readFile(path.join(dir, 'out.txt'), 'utf8')).trim(), 'from the container')
})

test('with --http the Bare node serves health and /metrics (process figures, its build) behind the same tokens, and nothing else', async t => {
  const dataDir = await tempDir(t)
  const token = 'e'.repeat(32)
  const node = await startNodeProcess(t, [BARE_BIN, path.join(REPO, 'bare', 'se-node.cjs'), '--data-dir', dataDir, '--http', '127.0.0.1:0'], { SE_TOKENS: `edge:${token}` })
  const base = `http://${/http: http:\/\/(\S+)/.exec(node.stderr())?.[1] ?? ''}`
  const doc = JSON.parse(await readFile(OPENAPI_FILE, 'utf8'))
  const get = async (p: string, headers: Record<string, string> = {}): Promise<{ status: number, text: string, body: any }> => {
    const res = await fetch(base + p, { headers })
    const text = await res.text()
    const type = res.headers.get('content-type') ?? ''
    const body = /json/.test(type) ? JSON.parse(text) : text
    assertDocumented(doc, 'GET', p, res.status, type, body)
    return { status: res.status, text, body }
  }
  assert.equal((await get('/health/live')).status, 200)
  const ready = await get('/health/ready')
  assert.equal(ready.status, 200)
  assert.equal(ready.body.recovered, true)
  const refused = await get('/metrics')
  assert.equal(refused.status, 401)
  assert.equal(refused.body.code, 'UNAUTHENTICATED')
  const metrics = await get('/metrics', { authorization: `Bearer ${token}` })
  assert.equal(metrics.status, 200)
  const families = parsePrometheus(metrics.text)
  assert.equal(sample(families, 'se_node_ready', {}), 1)
  assert.ok((sample(families, 'process_cpu_seconds_total', {}) ?? 0) > 0)
  assert.ok((sample(families, 'process_resident_memory_bytes', {}) ?? 0) > 2 ** 20)
  assert.ok(Math.abs((sample(families, 'process_start_time_seconds', {}) ?? 0) - Date.now() / 1000) < 120)
  assert.ok((sample(families, 'process_open_fds', {}) ?? 0) > 3)
  assert.match(families.get('se_build_info')?.samples[0]?.labels.runtime ?? '', /^bare /)
  assert.equal(sample(families, 'se_http_requests_total', { method: 'GET', route: '/health/live', code: '200' }), 1)
  const api = await get('/api/v1/nodes', { authorization: `Bearer ${token}` })
  assert.equal(api.status, 404)
  assert.match(api.body.hint, /\/health\/live, \/health\/ready, \/metrics/)
  // The local CLI still works alongside, over the socket.
  assert.equal(json(await se(['capabilities', '--json'], { dataDir })).runtime.startsWith('bare '), true)
})
