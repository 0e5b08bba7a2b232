// The mesh end to end: real `se node start` processes on a local Hyperswarm
// bootstrap. Membership, routing with one verified trail, and interventions
// raised by a routed step answered on the requesting node.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, jsonError, se, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, nodesOf, waitForStates } from './helpers/mesh.js'

test('three nodes see each other; a stopped node turns suspect then down, and up again when it returns', async t => {
  const bootstrap = await localBootstrap(t)
  const [a, b, c] = await Promise.all(['alpha', 'beta', 'gamma'].map(n => meshNode(t, bootstrap, n)))
  await waitForStates(a!, [b!, c!], 'up')
  // A member may be known by gossip a moment before this node's own link to it has made a round trip.
  const rows = await waitFor('alpha to have measured a round trip to each member', async () => {
    const now = await nodesOf(a!)
    return now.filter(r => !r.self).every(r => r.latencyMs !== null && r.latencyMs >= 0) ? now : undefined
  }, 10_000)
  assert.equal(rows.length, 3)
  const self = rows.find(r => r.self)
  assert.equal(self?.nodeId, a!.key)
  // A mesh smaller than a neighbourhood is linked pair by pair, as it always was.
  for (const r of rows.filter(r => !r.self)) assert.equal(r.link, 'neighbour', `${r.name} is a neighbour`)
  await waitForStates(b!, [a!, c!], 'up')

  const human = await se(['nodes'], { dataDir: a!.dataDir })
  assert.match(human.stdout, /NAME\s+KEY\s+STATE\s+AGE\s+LINK\s+LOAD\s+MEMORY\s+RTT\s+CAPABILITIES/)
  assert.match(human.stdout, /gamma\s+[0-9a-f]{16}\s+up/)

  // SIGSTOP freezes gamma without closing its connections: only silence tells.
  process.kill(c!.proc.proc.pid as number, 'SIGSTOP')
  // Suspect lasts under a second: a CLI poll on a loaded machine can miss it, so the trail below proves it came before down.
  await waitForStates(a!, [c!], 'down')
  assert.equal((await nodesOf(a!)).find(r => r.nodeId === b!.key)?.state, 'up', 'beta stays up meanwhile')
  process.kill(c!.proc.proc.pid as number, 'SIGCONT')
  await waitForStates(a!, [c!], 'up')

  const events = (await se(['audit', '--json'], { dataDir: a!.dataDir }))
  const trail = json<Array<{ entry: { event: string, message: string } }>>(events).map(r => r.entry)
  const gamma = trail.filter(e => e.message.startsWith(`node gamma (${c!.key.slice(0, 8)})`)).map(e => e.event)
  assert.deepEqual(gamma.filter(e => e !== 'node_join'), ['node_suspect', 'node_down', 'node_up'])
})

test('a workflow runs on the only capable node; progress, result and steps[].node come back, and the unified trail verifies', async t => {
  const bootstrap = await localBootstrap(t)
  // A tool only the worker has on its PATH.
  const tools = await tempDir(t)
  await writeFile(path.join(tools, 'se-test-packager'), '#!/bin/sh\necho "packaged by $SE_NODE_ID"\n', { mode: 0o755 })
  const [requester, worker] = await Promise.all([meshNode(t, bootstrap, 'requester'), meshNode(t, bootstrap, 'worker', { tags: ['builder'], env: { PATH: `${tools}:${process.env.PATH ?? ''}` } })])
  await waitForStates(requester, [worker], 'up')
  const dir = await tempDir(t)
  const file = path.join(dir, 'build.yaml')
  await writeFile(file, [
    'name: REMOTE_BUILD',
    'requires: { capabilities: [builder] }',
    'steps:',
    '  - { id: compile, run: { command: sh, args: [-c, "echo compiled on $SE_NODE_ID"] } }',
    '  - { id: here, requires: { capabilities: [process] }, run: { command: sh, args: [-c, "echo packaged on $SE_NODE_ID"] } }',
    ''
  ].join('\n'))
  const run = await se(['execute', file, '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir })
  assert.equal(run.code, 0, run.stderr)
  const status = json(run)
  assert.equal(status.state, 'completed')
  assert.equal(status.steps[0].node, worker.key, 'compile ran on the capable node')
  assert.match(status.steps[0].stdout, new RegExp(`compiled on ${worker.key}`))
  assert.equal(status.steps[1].node, requester.key, 'a step the requester can run stays local')

  const shown = json(await se(['status', status.id, '--json'], { dataDir: requester.dataDir }))
  assert.deepEqual(shown.steps.map((s: { node: string }) => s.node), [worker.key, requester.key])

  const trail = json<Array<{ entry: { event: string, sourceNodeId: string, message: string }, originSignature: string | null }>>(await se(['audit', '--workflow', status.id, '--json'], { dataDir: requester.dataDir }))
  const start = trail.find(r => r.entry.event === 'workflow_start')
  assert.match(start?.entry.message ?? '', /REMOTE_BUILD routed to worker/)
  const remote = trail.filter(r => r.entry.sourceNodeId === worker.key)
  assert.deepEqual(remote.map(r => r.entry.event), ['step_exec_start', 'step_exec_complete'])
  assert.ok(remote.every(r => r.originSignature !== null), 'remote entries keep their source signature')
  const verify = await se(['audit', '--verify', '--json'], { dataDir: requester.dataDir })
  assert.equal(verify.code, 0, verify.stdout)

  const summary = json(await se(['audit', '--summary', '--json', '--workflow', status.id], { dataDir: requester.dataDir }))
  assert.deepEqual([...summary[0].nodes].sort(), [requester.key, worker.key].sort())
  assert.equal(typeof summary[0].routingMs, 'number')
  assert.equal(typeof summary[0].networkLatencyMs, 'number')

  // Nothing up can meet it: exit 2, naming the requirement.
  await writeFile(path.join(dir, 'gpu.yaml'), 'name: NEEDS_GPU\nrequires: { capabilities: [gpu, builder] }\nsteps:\n  - { id: a, run: { command: "true" } }\n')
  const none = await se(['execute', 'gpu.yaml', '--wait'], { dataDir: requester.dataDir, cwd: dir })
  assert.equal(none.code, 2)
  assert.match(none.stderr, /no node that is up meets capability 'gpu'/)
  assert.doesNotMatch(none.stderr, /'builder'/, 'a requirement some node meets is not blamed')

  // Commands are looked up where each step may run, before the first step starts.
  const flow = (command: string, requires: string): string => `name: TOOLS\nsteps:\n  - { id: first, run: { command: "true" } }\n  - { id: pack, ${requires}run: { command: ${command} } }\n`
  await writeFile(path.join(dir, 'remote-tool.yaml'), flow('se-test-packager', 'requires: { capabilities: [builder] }, '))
  const packed = json(await se(['execute', 'remote-tool.yaml', '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir }))
  assert.equal(packed.state, 'completed', 'a tool on the capable member is enough')
  assert.match(packed.steps[1].stdout, new RegExp(`packaged by ${worker.key}`))
  const before = json<unknown[]>(await se(['status', '--json'], { dataDir: requester.dataDir })).length
  await writeFile(path.join(dir, 'missing-remote.yaml'), flow('se-test-no-such-tool', 'requires: { capabilities: [builder] }, '))
  const missingRemote = await se(['execute', 'missing-remote.yaml', '--wait'], { dataDir: requester.dataDir, cwd: dir })
  assert.equal(missingRemote.code, 2, missingRemote.stderr)
  assert.match(missingRemote.stderr, /steps\[1\]\.run\.command: command 'se-test-no-such-tool' not found on the PATH of worker/)
  await writeFile(path.join(dir, 'missing-here.yaml'), flow('se-test-packager', ''))
  const missingHere = await se(['execute', 'missing-here.yaml', '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir })
  assert.equal(missingHere.code, 2, missingHere.stderr)
  assert.match(jsonError(missingHere).details[0]?.message ?? '', /command 'se-test-packager' not found on the PATH of this node \(requester\)/)
  assert.equal(json<unknown[]>(await se(['status', '--json'], { dataDir: requester.dataDir })).length, before, 'a refused workflow never started: not even its first step ran')
})

test('a routed step that fails asks the requesting node; approving there retries it on the remote node', async t => {
  const bootstrap = await localBootstrap(t)
  const [requester, worker] = await Promise.all([meshNode(t, bootstrap, 'desk'), meshNode(t, bootstrap, 'edge', { tags: ['sensor'] })])
  await waitForStates(requester, [worker], 'up')
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'flaky.yaml'), [
    'name: FLAKY_READ',
    'requires: { capabilities: [sensor] }',
    'steps:',
    `  - { id: read, onFailure: intervene, run: { command: sh, args: [-c, "test -f ${dir}/ready || { touch ${dir}/ready; echo not ready >&2; exit 1; }; echo read on $SE_NODE_ID"] } }`,
    '  - { id: confirm, intervention: { prompt: "Publish the reading?", choices: [approve, reject] } }',
    ''
  ].join('\n'))
  const started = await se(['execute', 'flaky.yaml', '--wait', '--no-block', '--json'], { dataDir: requester.dataDir, cwd: dir })
  assert.equal(started.code, 3, started.stderr)
  const id = json(started).id as string
  const waiting = json(await se(['status', id, '--json'], { dataDir: requester.dataDir }))
  assert.equal(waiting.state, 'waiting_intervention')
  assert.equal(waiting.intervention.stepId, 'read')
  assert.equal(waiting.steps[0].node, worker.key)
  assert.match(waiting.intervention.prompt, /not ready|exit/)

  assert.equal((await se(['approve', id, '--choice', 'retry'], { dataDir: requester.dataDir })).code, 0)
  await waitFor('the confirm intervention', async () => json(await se(['status', id, '--json'], { dataDir: requester.dataDir })).intervention?.stepId === 'confirm')
  assert.equal((await se(['approve', id], { dataDir: requester.dataDir })).code, 0)
  const done = await waitFor('completion', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: requester.dataDir }))
    return s.state === 'completed' ? s : undefined
  })
  assert.match(done.steps[0].stdout, new RegExp(`read on ${worker.key}`))
  assert.equal(done.steps[0].attempts, 2)

  const events = json<Array<{ entry: { event: string } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir: requester.dataDir })).map(r => r.entry.event)
  const i = events.indexOf('intervention_request')
  assert.deepEqual(events.slice(i, i + 3), ['intervention_request', 'intervention_resolved', 'workflow_resume'])
  assert.equal(events.filter(e => e === 'step_exec_failed').length, 1, "the worker's own record of the failure reached the trail")
  assert.equal((await se(['audit', '--verify'], { dataDir: requester.dataDir })).code, 0)
})

test('a member that stopped answering but is not yet suspect holds up neither a listing nor an answer to another member\'s question', async t => {
  const bootstrap = await localBootstrap(t)
  // Alpha and beta take a long time to suspect anyone, so the frozen member stays usable to beta:
  // neither its own probes nor alpha's gossip mark it suspect within the test.
  const slow = ['--suspect-ms', '120000', '--down-ms', '240000']
  const alpha = await meshNode(t, bootstrap, 'alpha', { extra: slow })
  const frozen = await meshNode(t, bootstrap, 'frozen')
  const beta = await meshNode(t, bootstrap, 'beta', { extra: slow })
  await waitForStates(beta, [alpha, frozen], 'up')
  const dir = await tempDir(t, 'se-work-')
  await writeFile(path.join(dir, 'ask.yaml'), 'name: ASK\nsteps:\n  - { id: ask, intervention: { prompt: "go?", choices: [approve, reject] } }\n  - { id: done, run: { command: "true" } }\n')
  const r = await se(['execute', 'ask.yaml', '--wait', '--no-block', '--json'], { dataDir: alpha.dataDir, cwd: dir })
  assert.equal(r.code, 3, r.stderr)
  const id = json(r).id as string

  process.kill(frozen.proc.proc.pid as number, 'SIGSTOP')
  t.after(() => { try { process.kill(frozen.proc.proc.pid as number, 'SIGCONT') } catch {} })
  const sessions = await se(['session', 'list', '--json'], { dataDir: beta.dataDir })
  assert.equal(sessions.code, 0, sessions.stderr)
  assert.deepEqual(json(sessions), [])
  await waitFor('beta to say whom it listed without', async () => /sessions: no answer within \d+ ms from frozen; listed without them/.test(beta.proc.stderr()), 5000)
  // The holder is asked alongside the frozen member, not after it.
  const approved = await se(['approve', id, '--json'], { dataDir: beta.dataDir })
  assert.equal(approved.code, 0, approved.stderr)
  assert.equal(json(approved).id, id)
  await waitFor('the workflow to complete on alpha', async () => json(await se(['status', id, '--json'], { dataDir: alpha.dataDir })).state === 'completed')
})
