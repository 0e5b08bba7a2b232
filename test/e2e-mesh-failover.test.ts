// The mesh when things go wrong: an executing node killed mid-workflow, nodes
// that may not join, and a peer that sends garbage.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { createSwarmTransport } from '../adapters/shared/hyperswarm-transport.js'
import { authenticate } from '../core/mesh/handshake.js'
import { meshKeys } from '../core/mesh/keys.js'
import { json, se, sleep, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, nodesOf, waitForStates } from './helpers/mesh.js'

test('SIGKILL of the executing node mid-workflow: another capable node finishes it, and no completed step runs twice', async t => {
  const bootstrap = await localBootstrap(t)
  const [requester, w1, w2] = await Promise.all([meshNode(t, bootstrap, 'home'), meshNode(t, bootstrap, 'w1', { tags: ['render'] }), meshNode(t, bootstrap, 'w2', { tags: ['render'] })])
  await waitForStates(requester, [w1, w2], 'up')
  const dir = await tempDir(t)
  const runs = path.join(dir, 'runs.log')
  // Steps wait at a gate rather than sleep: catching a step mid-run must not depend on how loaded the machine is.
  const release = path.join(dir, 'release')
  await writeFile(path.join(dir, 'render.yaml'), [
    'name: RENDER',
    'requires: { capabilities: [render] }',
    'steps:',
    `  - { id: prepare, run: { command: sh, args: [-c, "echo prepare $SE_NODE_ID >> ${runs}"] } }`,
    `  - { id: render, idempotent: true, run: { command: sh, args: [-c, "echo render-start $SE_NODE_ID >> ${runs}; while [ ! -f ${release} ]; do sleep 0.1; done; echo render $SE_NODE_ID >> ${runs}"] } }`,
    `  - { id: publish, run: { command: sh, args: [-c, "echo publish $SE_NODE_ID >> ${runs}"] } }`,
    ''
  ].join('\n'))
  const started = json(await se(['execute', 'render.yaml', '--json'], { dataDir: requester.dataDir, cwd: dir }))
  const id = started.id as string
  const first = await waitFor('render to start', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: requester.dataDir }))
    return s.steps[1].state === 'running' ? s.steps[1].node as string : undefined
  })
  const victim = first === w1.key ? w1 : w2
  const survivor = victim === w1 ? w2 : w1
  await victim.proc.crash()
  await waitFor('render to start again on the survivor', async () => (await readFile(runs, 'utf8')).includes(`render-start ${survivor.key}`), 40_000)
  await writeFile(release, '')

  const done = await waitFor('the workflow to finish elsewhere', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: requester.dataDir }))
    return s.state === 'completed' || s.state === 'failed' ? s : undefined
  }, 40_000)
  assert.equal(done.state, 'completed', done.error ?? '')
  assert.equal(done.steps[0].node, victim.key)
  assert.equal(done.steps[1].node, survivor.key, 'the interrupted idempotent step ran again on the survivor')
  assert.equal(done.steps[2].node, survivor.key)
  const lines = (await readFile(runs, 'utf8')).trim().split('\n')
  assert.equal(lines.filter(l => l.startsWith('prepare ')).length, 1, 'the completed step ran once')
  assert.equal(lines.filter(l => l.startsWith('publish ')).length, 1)
  assert.deepEqual(lines.filter(l => l.startsWith('render ')), [`render ${survivor.key}`])

  const events = json<Array<{ entry: { event: string } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir: requester.dataDir })).map(r => r.entry.event)
  assert.ok(events.includes('step_handoff'), events.join(' '))
  assert.ok(events.includes('workflow_handoff'), events.join(' '))
  assert.equal((await se(['audit', '--verify'], { dataDir: requester.dataDir })).code, 0)
})

test('a member paused past its suspicion mid-step (SIGSTOP): once it wakes and refutes, the requester joins the step again, and it completes there once', async t => {
  const bootstrap = await localBootstrap(t)
  const [home, worker] = await Promise.all([meshNode(t, bootstrap, 'home'), meshNode(t, bootstrap, 'worker', { tags: ['render'] })])
  await waitForStates(home, [worker], 'up')
  const dir = await tempDir(t)
  const runs = path.join(dir, 'runs.log')
  const release = path.join(dir, 'release')
  // Not idempotent: lost, it would fail the workflow; it must be joined again, never run twice.
  await writeFile(path.join(dir, 'paused.yaml'), [
    'name: PAUSED',
    'steps:',
    `  - { id: render, requires: { capabilities: [render] }, run: { command: sh, args: [-c, "echo start >> ${runs}; while [ ! -f ${release} ]; do sleep 0.1; done; echo rendered; echo end >> ${runs}"] } }`,
    ''
  ].join('\n'))
  const id = json(await se(['execute', 'paused.yaml', '--json'], { dataDir: home.dataDir, cwd: dir })).id as string
  await waitFor('render to run on the worker', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: home.dataDir }))
    return s.steps[0].state === 'running' && s.steps[0].node === worker.key ? true : undefined
  })
  // The node process stops (a laptop's lid, a VM paused, a long stall); the step's own process group does not.
  const pid = worker.proc.proc.pid as number
  process.kill(pid, 'SIGSTOP')
  t.after(() => { try { process.kill(pid, 'SIGCONT') } catch {} })
  await waitForStates(home, [worker], 'down')
  // It ends while its node sleeps: the node finds it ended when it wakes, and keeps its outcome for the requester.
  await writeFile(release, '')
  await sleep(300)
  process.kill(pid, 'SIGCONT')
  const done = await waitFor('the workflow to finish', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: home.dataDir }))
    return s.state === 'completed' || s.state === 'failed' ? s : undefined
  }, 40_000)
  const trail = (await se(['audit', '--workflow', id], { dataDir: home.dataDir })).stdout
  // A failure says what each side made of the other.
  if (done.state !== 'completed') assert.fail(`${done.error ?? ''}\nhome:\n${(await se(['audit', '--limit', '40'], { dataDir: home.dataDir })).stdout}\nworker:\n${(await se(['audit', '--limit', '40'], { dataDir: worker.dataDir })).stdout}`)
  assert.equal(done.steps[0].node, worker.key)
  assert.equal(done.steps[0].attempts, 1)
  assert.equal(done.steps[0].stdout.trim(), 'rendered')
  assert.deepEqual((await readFile(runs, 'utf8')).trim().split('\n'), ['start', 'end'], 'it ran once')
  assert.match(trail, /step_reattached: PAUSED step render: the connection to worker dropped \(.*\); joined the step again there after \d+ ms/)
  assert.doesNotMatch(trail, /was lost while running it/)
  assert.equal((await se(['audit', '--verify'], { dataDir: home.dataDir })).code, 0)
})

test('with no capable node left the workflow waits, visibly, and resumes when one joins', async t => {
  const bootstrap = await localBootstrap(t)
  const [requester, worker] = await Promise.all([meshNode(t, bootstrap, 'base'), meshNode(t, bootstrap, 'gpu1', { tags: ['gpu'] })])
  await waitForStates(requester, [worker], 'up')
  const dir = await tempDir(t)
  const release = path.join(dir, 'release')
  await writeFile(path.join(dir, 'train.yaml'), `name: TRAIN\nrequires: { capabilities: [gpu] }\nsteps:\n  - { id: warm, run: { command: "true" } }\n  - { id: train, idempotent: true, run: { command: sh, args: [-c, "while [ ! -f ${release} ]; do sleep 0.1; done"] } }\n`)
  const id = json(await se(['execute', 'train.yaml', '--json'], { dataDir: requester.dataDir, cwd: dir })).id as string
  await waitFor('train to start', async () => json(await se(['status', id, '--json'], { dataDir: requester.dataDir })).steps[1].state === 'running')
  await worker.proc.crash()
  const waiting = await waitFor('waiting_node', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: requester.dataDir }))
    return s.state === 'waiting_node' ? s : undefined
  }, 20_000)
  assert.match(waiting.error, /capability 'gpu'/)
  const again = await meshNode(t, bootstrap, 'gpu1', { tags: ['gpu'], dataDir: worker.dataDir })
  await writeFile(release, '')
  const done = await waitFor('completion after the node returns', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: requester.dataDir }))
    return s.state === 'completed' ? s : undefined
  }, 30_000).catch(async err => {
    console.log((await se(['audit'], { dataDir: requester.dataDir })).stdout, JSON.stringify(await nodesOf(requester)))
    throw err
  })
  assert.equal(done.steps[1].node, again.key)
})

test('a node with the wrong secret, and one not on the allowlist, are dropped before any RPC and audited', async t => {
  const bootstrap = await localBootstrap(t)
  const friend = await meshNode(t, bootstrap, 'friend', { tags: ['secret-tool'] })
  const guarded = await meshNode(t, bootstrap, 'guarded', { extra: ['--allow', friend.key] })
  // The intruder knows the nodes' keys and dials them directly; it lacks the secret.
  const intruder = await meshNode(t, bootstrap, 'intruder', { secret: 'wrong-secret', tags: ['bait'], extra: ['--peer', guarded.key, '--peer', friend.key] })
  // The stranger holds the secret but is not on guarded's allowlist.
  const stranger = await meshNode(t, bootstrap, 'stranger', { tags: ['bait'] })
  await waitForStates(guarded, [friend], 'up')
  await waitForStates(stranger, [friend], 'up')
  await sleep(1500)

  const seen = (await nodesOf(guarded)).map(r => r.name).sort()
  assert.deepEqual(seen, ['friend', 'guarded'])
  assert.deepEqual((await nodesOf(intruder)).map(r => r.name), ['intruder'], 'the intruder learns nothing of the mesh')
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'bait.yaml'), 'name: BAIT\nrequires: { capabilities: [bait] }\nsteps:\n  - { id: a, run: { command: "true" } }\n')
  const refused = await se(['execute', 'bait.yaml'], { dataDir: guarded.dataDir, cwd: dir })
  assert.equal(refused.code, 2, 'guarded never routes to a node it dropped')
  await writeFile(path.join(dir, 'tool.yaml'), 'name: TOOL\nrequires: { capabilities: [secret-tool] }\nsteps:\n  - { id: a, run: { command: "true" } }\n')
  const viaIntruder = await se(['execute', 'tool.yaml', '--wait'], { dataDir: intruder.dataDir, cwd: dir })
  assert.equal(viaIntruder.code, 2, 'the intruder cannot run anything on the mesh')

  assert.ok(!(await nodesOf(friend)).some(r => r.name === 'intruder'))
  const rejectedBy = async (n: typeof friend): Promise<string[]> => json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--json'], { dataDir: n.dataDir })).map(r => r.entry).filter(e => e.event === 'peer_rejected').map(e => e.message)
  // guarded checks its allowlist first, so neither gets as far as the secret there; friend has no allowlist and checks the secret.
  await waitFor('guarded to refuse the stranger and the intruder', async () => {
    const atGuarded = await rejectedBy(guarded)
    return atGuarded.some(m => m.includes(stranger.key.slice(0, 12)) && /allowlist/.test(m)) && atGuarded.some(m => m.includes(intruder.key.slice(0, 12)))
  })
  await waitFor('friend to refuse the intruder for its secret', async () => (await rejectedBy(friend)).some(m => m.includes(intruder.key.slice(0, 12)) && /mesh secret/.test(m)))
})

test('garbled bytes from one peer drop that peer alone; routing to the others keeps working', async t => {
  const bootstrap = await localBootstrap(t)
  const [requester, worker] = await Promise.all([meshNode(t, bootstrap, 'main'), meshNode(t, bootstrap, 'helper', { tags: ['work'] })])
  await waitForStates(requester, [worker], 'up')

  // A peer that holds the secret, completes the handshake, then speaks nonsense.
  const crypto = new SodiumCrypto()
  const keyPair = crypto.generateKeyPair()
  const [host, port] = bootstrap.split(':')
  const rogue = await createSwarmTransport(keyPair, [{ host: host as string, port: Number(port) }])
  t.after(() => rogue.destroy())
  const keys = meshKeys(crypto, 'test-mesh', 'right-secret')
  let garbled = 0
  rogue.onConnection(link => {
    authenticate(link, { crypto, keys, publicKey: keyPair.publicKey, name: 'rogue', timeoutMs: 5000 }).then(({ connection }) => {
      const junk = Buffer.from([0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xfe, 0xfd, 0xfc])
      for (let i = 0; i < 40; i++) connection.write(junk)
      connection.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]))
      garbled++
    }, () => {})
  })
  await rogue.join(keys.topic)
  await waitFor('the rogue to send garbage', async () => garbled > 0)

  const events = await waitFor('the protocol error in the trail', async () => {
    const trail = json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--json'], { dataDir: requester.dataDir })).map(r => r.entry)
    return trail.some(e => e.event === 'peer_protocol_error') ? trail : undefined
  })
  assert.ok(events.some(e => e.event === 'peer_protocol_error' && e.message.includes('rogue')))
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'job.yaml'), 'name: JOB\nrequires: { capabilities: [work] }\nsteps:\n  - { id: a, run: { command: sh, args: [-c, "echo ok"] } }\n')
  const run = await se(['execute', 'job.yaml', '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir })
  assert.equal(run.code, 0, run.stderr)
  assert.equal(json(run).steps[0].node, worker.key)
  assert.equal((await nodesOf(requester)).find(r => r.nodeId === worker.key)?.state, 'up')
  assert.equal(requester.proc.proc.exitCode, null, 'the node is still running')
})
