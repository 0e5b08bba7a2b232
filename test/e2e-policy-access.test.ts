// A node's policy for sessions and workloads (issue 17), on real node processes:
// a member not allowed `session` there cannot open one with `se session new --node`
// (exit 5, the rule named, the refusal in that node's trail), and can once the policy
// allows it; a token whose user lacks `deploy` deploys nothing over HTTP (403, audited),
// nor removes what another deployed, while a user with it deploys a process workload.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, se, startNode, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'
import { defer } from './helpers/tmp.js'

interface TrailRow { entry: { event: string, message: string, domains: string[], workflowId: string } }

const refusalsIn = async (dataDir: string): Promise<TrailRow[]> =>
  json<TrailRow[]>(await se(['audit', '--json'], { dataDir })).filter(r => r.entry.event === 'action_refused')

test('session: a member the policy does not allow cannot open one there (exit 5, audited); allowed by a role, it can', async t => {
  const bootstrap = await localBootstrap(t)
  const visitor = await meshNode(t, bootstrap, 'visitor')
  const dir = await tempDir(t)
  const closed = path.join(dir, 'closed.yaml')
  await writeFile(closed, `roles:\n  shell: [${'e'.repeat(64)}]\nallow:\n  session: [shell]\n  read: ['*']\n`)
  const holder = await meshNode(t, bootstrap, 'holder', { extra: ['--policy', closed] })
  await waitForStates(visitor, [holder], 'up')

  const refused = await se(['session', 'new', '--node', 'holder', '--json'], { dataDir: visitor.dataDir, env: { SE_USER: 'carol' } })
  assert.equal(refused.code, 5, refused.stderr)
  assert.match(refused.stderr, /visitor \([0-9a-f]{8}\) may not open sessions on holder: .*closed\.yaml:4 allow\.session\[0\] allows session to role shell/)
  const kept = await refusalsIn(holder.dataDir)
  assert.equal(kept.length, 1, 'the holder keeps the refusal in its own trail')
  assert.match(kept[0]?.entry.message ?? '', /^visitor \([0-9a-f]{8}\) may not open sessions on holder: /)
  assert.deepEqual(kept[0]?.entry.domains, ['mesh', 'security'])
  assert.deepEqual(json(await se(['session', 'list', '--json'], { dataDir: holder.dataDir, env: { SE_USER: 'carol' } })), [], 'no session was opened')
  assert.ok(!json<TrailRow[]>(await se(['audit', '--json'], { dataDir: holder.dataDir })).some(r => r.entry.event === 'session_new'))

  // The visitor's key in the role: the same command opens a session on the holder, and lines run there.
  const open = path.join(dir, 'open.yaml')
  await writeFile(open, `roles:\n  shell: [${'e'.repeat(64)}, ${visitor.key}]\nallow:\n  session: [shell]\n  read: ['*']\n`)
  await holder.proc.stop()
  const again = await meshNode(t, bootstrap, 'holder', { extra: ['--policy', open], dataDir: holder.dataDir })
  await waitForStates(visitor, [again], 'up')
  const opened = await se(['session', 'new', '--node', 'holder', '--json'], { dataDir: visitor.dataDir, env: { SE_USER: 'carol' } })
  assert.equal(opened.code, 0, opened.stderr)
  const session = json(opened)
  assert.equal(session.nodeName, 'holder')
  const typed = await se(['session', 'attach', session.id], { dataDir: visitor.dataDir, env: { SE_USER: 'carol' }, input: 'echo on the holder\n' })
  assert.equal(typed.code, 0, typed.stderr)
  assert.match(typed.stdout, /se> echo on the holder\non the holder/)
  const trail = json<TrailRow[]>(await se(['audit', '--json'], { dataDir: again.dataDir }))
  assert.ok(trail.some(r => r.entry.event === 'session_new' && r.entry.message.includes(`session ${session.id as string} opened for carol via visitor`)))
  assert.equal(trail.filter(r => r.entry.event === 'action_refused').length, 1, 'nothing more refused')
})

const ALICE = 'alice:' + 'a'.repeat(32)
const BOB = 'bob:' + 'b'.repeat(32)
const bearer = (holder: string): Record<string, string> => ({ authorization: `Bearer ${holder.slice(holder.indexOf(':') + 1)}`, 'content-type': 'application/json' })
const TALKER = 'apiVersion: v1\nkind: Pod\nmetadata: { name: talker }\nspec:\n  containers:\n    - { name: say, image: localhost/none:1, command: ["/bin/sh", "-c", "while true; do echo hi; sleep 0.3; done"] }\n'

test('deploy over HTTP: a token whose user lacks deploy gets 403 and nothing is deployed (audited); a user with it deploys, and only it removes', async t => {
  const dir = await tempDir(t)
  const policy = path.join(dir, 'policy.yaml')
  await writeFile(policy, "roles:\n  ops: [user:alice]\nallow:\n  deploy: [ops]\n  read: ['*']\n")
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir, ['--http', '127.0.0.1:0', '--engine', 'process', '--policy', policy], { SE_TOKENS: `${ALICE},${BOB}` })
  const base = `http://${await waitFor('the http line', async () => /http: http:\/\/(\S+)/.exec(node.stderr())?.[1])}`
  const call = async (route: string, holder: string, init: { method?: string, body?: unknown } = {}): Promise<{ status: number, body: any }> => {
    const res = await fetch(base + route, { method: init.method ?? 'GET', headers: bearer(holder), ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) })
    return { status: res.status, body: await res.json() }
  }

  const refused = await call('/api/v1/workloads', BOB, { method: 'POST', body: { manifest: TALKER, engine: 'process' } })
  assert.equal(refused.status, 403)
  assert.equal(refused.body.code, 'NOT_ALLOWED')
  assert.match(refused.body.detail, /^user bob may not deploy on \S+: .*policy\.yaml:4 allow\.deploy\[0\] allows deploy to role ops$/)
  assert.deepEqual((await call('/api/v1/workloads', BOB)).body, [], 'nothing deployed')
  const kept = await refusalsIn(dataDir)
  assert.deepEqual(kept.map(r => [r.entry.message.replace(/ on \S+:.*/, ''), r.entry.domains]), [['user bob may not deploy', ['http', 'security']]])
  assert.ok(!json<TrailRow[]>(await se(['audit', '--json'], { dataDir })).some(r => r.entry.event.startsWith('workload_')), 'the node did not so much as queue it')

  const deployed = await call('/api/v1/workloads', ALICE, { method: 'POST', body: { manifest: TALKER, engine: 'process' } })
  assert.equal(deployed.status, 201, JSON.stringify(deployed.body))
  const id = deployed.body.id as string
  // Before the node stops (defer runs last-in first-out): a failed test leaves no process behind.
  defer(t, async () => { await call(`/api/v1/workloads/${id}`, ALICE, { method: 'DELETE' }).catch(() => {}) })
  assert.equal(deployed.body.engine, 'process')
  await waitFor('the workload running', async () => (await call(`/api/v1/workloads/${id}`, BOB)).body.state === 'running', 60_000)

  // Removing is deploying's other half: bob may read it, not remove it.
  const remove = await call(`/api/v1/workloads/${id}`, BOB, { method: 'DELETE' })
  assert.equal(remove.status, 403)
  assert.equal((await call(`/api/v1/workloads/${id}`, BOB)).body.state, 'running', 'still running')
  const removed = await call(`/api/v1/workloads/${id}`, ALICE, { method: 'DELETE' })
  assert.equal(removed.status, 200, JSON.stringify(removed.body))
  assert.equal((await refusalsIn(dataDir)).length, 2, 'the refused remove is audited too')
})
