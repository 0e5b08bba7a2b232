// Persistent sessions on real nodes: kept across client disconnects and node
// restarts, private to their owner, attached through the mesh, closed when idle.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { json, se, startNode, tempDir, waitFor, withClient } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'

const as = (user: string, extra: Record<string, string> = {}): Record<string, string> => ({ SE_USER: user, ...extra })

async function newSession (dataDir: string, user: string, extra: string[] = []): Promise<any> {
  const r = await se(['session', 'new', '--json', ...extra], { dataDir, env: as(user) })
  assert.equal(r.code, 0, r.stderr)
  return json(r)
}

test('a session keeps running and keeps its output while no client is attached, and survives a node restart', async t => {
  const dataDir = await tempDir(t)
  const home = await tempDir(t, 'se-home-')
  const node = await startNode(t, dataDir, [], { SE_SESSION_HOME: home })
  const s = await newSession(dataDir, 'alice', ['--name', 'release'])
  assert.match(s.id, /^ss-[0-9a-f]{8}-[0-9a-f]{6}$/)
  assert.equal(s.cwd, home)

  const first = await se(['session', 'attach', s.id], { dataDir, env: as('alice'), input: 'echo hello there\ncd /tmp\npwd\n' })
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout, /se> echo hello there\nhello there\n/)
  assert.match(first.stdout, /se> pwd\n\/tmp$/m)
  assert.match(first.stderr, /detached from ss-/)

  // A client sends a slow line and goes away at once: the line runs on, its output is kept.
  const busy = await withClient(dataDir, async c => {
    await c.api.sessionInput(s.id, 'alice', 'sh -c "sleep 1; echo produced while detached"')
    return (await c.api.sessionList('alice'))[0]?.busy
  })
  assert.equal(busy, true, 'the line was still running when the client left')
  await waitFor('the slow line', async () => !json(await se(['session', 'list', '--json'], { dataDir, env: as('alice') }))[0].busy)
  const again = await se(['session', 'attach', s.id], { dataDir, env: as('alice'), input: '' })
  assert.match(again.stdout, /hello there[\s\S]*se> sh -c "sleep 1; echo produced while detached"\nproduced while detached/, 'the backlog shows what happened while detached')

  // The node stops while a session command runs: it stops too, and says so after the restart.
  await withClient(dataDir, async c => { await c.api.sessionInput(s.id, 'alice', 'sleep 60') })
  await waitFor('sleep to run', async () => json(await se(['session', 'list', '--json'], { dataDir, env: as('alice') }))[0].busy)
  const stopping = Date.now()
  assert.equal(await node.stop(), 0)
  assert.ok(Date.now() - stopping < 10_000, 'the stop did not wait for the session\'s command')
  await startNode(t, dataDir, [], { SE_SESSION_HOME: home })
  const after = await se(['session', 'attach', s.id], { dataDir, env: as('alice'), input: 'pwd\n' })
  assert.match(after.stdout, /produced while detached[\s\S]*se> sleep 60\n(?:\(exit \d+\)\n)?\(interrupted: the node stopped while `sleep 60` ran\)\nse> pwd\n\/tmp/, `output and working directory survive a restart: ${after.stdout}`)

  const closed = await se(['session', 'close', s.id, '--json'], { dataDir, env: as('alice') })
  assert.equal(json(closed).state, 'closed')
  assert.deepEqual(json(await se(['session', 'list', '--json'], { dataDir, env: as('alice') })), [])
  const audit = json(await se(['audit', '--json'], { dataDir })).map((r: any) => r.entry.event)
  for (const e of ['session_new', 'session_attach', 'session_detach', 'session_close']) assert.ok(audit.includes(e), e)
})

test('each user sees and touches only their own sessions', async t => {
  const dataDir = await tempDir(t)
  await startNode(t, dataDir)
  const alice = await newSession(dataDir, 'alice')
  const bob = await newSession(dataDir, 'bob')
  assert.deepEqual(json(await se(['session', 'list', '--json'], { dataDir, env: as('alice') })).map((x: any) => x.id), [alice.id])
  assert.deepEqual(json(await se(['session', 'list', '--json'], { dataDir, env: as('bob') })).map((x: any) => x.id), [bob.id])
  const intruder = await se(['session', 'attach', alice.id], { dataDir, env: as('bob'), input: 'echo sneaky\n' })
  assert.equal(intruder.code, 2)
  assert.match(intruder.stderr, /no open session ss-\S+ of bob/)
  assert.equal((await se(['session', 'close', alice.id], { dataDir, env: as('bob') })).code, 2)
  assert.equal(json(await se(['session', 'list', '--json'], { dataDir, env: as('alice') })).length, 1, 'alice\'s session is untouched')
  const bye = await se(['session', 'attach', bob.id], { dataDir, env: as('bob'), input: 'echo bye\nexit\necho never\n' })
  assert.equal(bye.code, 0, bye.stderr)
  assert.match(bye.stdout, /se> echo bye\nbye\nse> exit\nsession closed: closed by bob$/)
  assert.doesNotMatch(bye.stderr, /detached/, '`exit` closes; it does not leave the session running')
  assert.deepEqual(json(await se(['session', 'list', '--json'], { dataDir, env: as('bob') })), [])
})

test('a session on one node is listed, attached and driven from another node of the mesh', async t => {
  const bootstrap = await localBootstrap(t)
  const homeA = await tempDir(t, 'se-home-a-')
  const a = await meshNode(t, bootstrap, 'alpha', { env: { SE_SESSION_HOME: homeA } })
  const b = await meshNode(t, bootstrap, 'beta')
  await waitForStates(b, [a], 'up')
  const s = await newSession(a.dataDir, 'carol')
  await se(['session', 'attach', s.id], { dataDir: a.dataDir, env: as('carol'), input: 'echo before the move\n' })

  const seen = json(await se(['session', 'list', '--json'], { dataDir: b.dataDir, env: as('carol') }))
  assert.deepEqual(seen.map((x: any) => [x.id, x.nodeName]), [[s.id, 'alpha']])
  const fromB = await se(['session', 'attach', s.id], { dataDir: b.dataDir, env: as('carol'), input: 'pwd\n' })
  assert.equal(fromB.code, 0, fromB.stderr)
  assert.match(fromB.stdout, /se> echo before the move\nbefore the move/, 'the backlog crosses the mesh')
  assert.match(fromB.stdout, new RegExp(`se> pwd\\n${homeA}`), 'the line ran on alpha, in the session\'s directory')
  assert.equal((await se(['session', 'attach', s.id], { dataDir: b.dataDir, env: as('dave'), input: '' })).code, 2, 'another user cannot reach it through the mesh either')

  // And one opened from beta onto alpha.
  const remote = await newSession(b.dataDir, 'carol', ['--node', 'alpha'])
  assert.equal(remote.nodeName, 'alpha')
  const audit = json(await se(['audit', '--json'], { dataDir: a.dataDir })).map((r: any) => r.entry.message).join('\n')
  assert.match(audit, new RegExp(`session ${remote.id} opened for carol via beta`))
  assert.match(audit, /carol via beta attached to session/)
})

test('a session idle for longer than SE_SESSION_IDLE_SEC is closed', async t => {
  const dataDir = await tempDir(t)
  await startNode(t, dataDir, [], { SE_SESSION_IDLE_SEC: '1' })
  const s = await newSession(dataDir, 'erin')
  await waitFor('the idle close', async () => json(await se(['session', 'list', '--json'], { dataDir, env: as('erin') })).length === 0, 10_000)
  const audit = json(await se(['audit', '--json'], { dataDir })).map((r: any) => r.entry.message).join('\n')
  assert.match(audit, new RegExp(`session ${s.id} of erin closed after 1 s idle`))
})
