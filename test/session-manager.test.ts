// Sessions on one node, without the network: lines run for real in a temp dir,
// output kept while nobody watches, files that outlast a restart, owners kept
// apart, idle expiry on a clock the test moves.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { SessionOutput } from '../core/protocol/types.js'
import { backlog, sessionRig, settled, text } from './helpers/session.js'
import { eventually } from './helpers/tmp.js'

const notFound = { code: 'SESSION_NOT_FOUND' }

test('a session runs its lines in order, in its own directory, and keeps what they printed', async t => {
  const rig = await sessionRig(t)
  await mkdir(path.join(rig.home, 'sub dir'))
  const s = await rig.manager.create('alice', 'release', '')
  assert.equal(s.cwd, rig.home)
  assert.equal(s.name, 'release')
  for (const line of ['echo hello there', 'cd "sub dir"', 'pwd', 'cd nowhere', 'ls', 'history']) rig.manager.input(s.id, 'alice', line)
  await settled(rig, s.id, 'alice')
  const out = text(await backlog(rig, s.id, 'alice'))
  assert.match(out, /se> echo hello there\nhello there\n/)
  assert.match(out, new RegExp(`se> pwd\\n${path.join(rig.home, 'sub dir')}\\n`))
  assert.match(out, /se> cd nowhere\nBAD_INPUT: cd: .+\/nowhere is not a directory on this node/)
  assert.match(out, /se> ls\nse> history\n {3}1 {2}echo hello there\n {3}2 {2}cd "sub dir"/, 'ls of the empty directory printed nothing')
  assert.equal(rig.manager.list('alice')[0]?.cwd, path.join(rig.home, 'sub dir'))
  rig.manager.input(s.id, 'alice', 'cd')
  rig.manager.input(s.id, 'alice', 'pwd')
  await settled(rig, s.id, 'alice')
  assert.match(text(await backlog(rig, s.id, 'alice')), new RegExp(`se> cd\\nse> pwd\\n${rig.home}$`), '`cd` alone goes back to where the session started')
  assert.ok(rig.audits.some(a => a.event === 'session_new' && a.message.includes(`session ${s.id} opened for alice`)))
})

test('output reaches an attached client while a long command still runs, and is kept for one attaching later', async t => {
  const rig = await sessionRig(t)
  const s = await rig.manager.create('alice', null, '')
  const live: Array<{ o: SessionOutput, busy: boolean }> = []
  let detach = (): void => {}
  const attached = rig.manager.attach(s.id, 'alice', 0, o => { live.push({ o, busy: rig.manager.list('alice')[0]?.busy ?? false }) }, l => { detach = l }, '')
  rig.manager.input(s.id, 'alice', "sh -c 'echo one; sleep 1; printf two'")
  const one = await eventually('the first line', () => live.find(x => x.o.text === 'one'))
  assert.equal(one.busy, true, 'seen while the command still ran')
  detach()
  assert.equal((await attached).attached, 0)

  // Nobody attached now: the rest is kept, including a last line without a newline.
  await settled(rig, s.id, 'alice')
  const later = await backlog(rig, s.id, 'alice', one.o.seq + 1)
  assert.deepEqual(later.map(o => o.text), ['two'])
  assert.deepEqual(rig.audits.filter(a => a.event.startsWith('session_')).map(a => a.event), ['session_new', 'session_attach', 'session_detach', 'session_attach', 'session_detach'])
})

test('a user sees and touches only their own sessions; another\'s looks like none at all', async t => {
  const rig = await sessionRig(t)
  const a = await rig.manager.create('alice', null, '')
  const b = await rig.manager.create('bob', null, ' via beta')
  assert.deepEqual(rig.manager.list('alice').map(s => s.id), [a.id])
  assert.deepEqual(rig.manager.list('bob').map(s => s.id), [b.id])
  assert.throws(() => rig.manager.input(a.id, 'bob', 'echo sneaky'), notFound)
  assert.throws(() => rig.manager.attach(a.id, 'bob', 0, () => {}, () => {}, ''), notFound)
  await assert.rejects(rig.manager.closeSession(a.id, 'bob', 'closed by bob'), notFound)
  assert.throws(() => rig.manager.input('ss-nothere-000000', 'bob', 'pwd'), notFound)
  assert.equal(rig.manager.ownerOf(a.id), 'alice')
  assert.ok(rig.audits.some(a => a.message === `session ${b.id} opened for bob via beta`))
  const closed = await rig.manager.closeSession(a.id, 'alice', 'closed by alice')
  assert.equal(closed.state, 'closed')
  assert.equal(closed.closedReason, 'closed by alice')
  assert.deepEqual(rig.manager.list('alice'), [])
  assert.deepEqual(await readdir(rig.dir), [`${b.id}.json`], 'a closed session leaves no file')
})

test('sessions outlast a restart: directory, output and history; a command the stop cut short says so', async t => {
  const rig = await sessionRig(t)
  const s = await rig.manager.create('alice', null, '')
  rig.manager.input(s.id, 'alice', 'cd /tmp')
  rig.manager.input(s.id, 'alice', 'echo before')
  await settled(rig, s.id, 'alice')
  rig.manager.input(s.id, 'alice', "sh -c 'echo started; sleep 30'")
  rig.manager.input(s.id, 'alice', 'echo queued behind it')
  await eventually('the long command to print', async () => (await backlog(rig, s.id, 'alice')).some(o => o.text === 'started'))

  const stopping = Date.now()
  const after = await rig.restart()
  assert.ok(Date.now() - stopping < 5000, 'the stop does not wait for the command')
  const [info] = after.list('alice')
  assert.equal(info?.cwd, '/tmp')
  assert.equal(info?.busy, false)
  const out = text(await backlog(rig, s.id, 'alice'))
  assert.match(out, /se> echo before\nbefore\nse> sh -c 'echo started; sleep 30'\nstarted\n/)
  assert.match(out, /\(interrupted: the node stopped while `sh -c 'echo started; sleep 30'` ran\)/)
  assert.match(out, /\(not run: the node stopped before `echo queued behind it`\)/)
  after.input(s.id, 'alice', 'history')
  await settled(rig, s.id, 'alice')
  assert.match(text(await backlog(rig, s.id, 'alice')), /1 {2}cd \/tmp\n {3}2 {2}echo before/)
})

test('a node that died mid-command reports it interrupted on the next start', async t => {
  const rig = await sessionRig(t)
  const s = await rig.manager.create('alice', null, '')
  const file = path.join(rig.dir, `${s.id}.json`)
  // As written just before a crash: the line had started and never finished.
  const record = JSON.parse(await readFile(file, 'utf8'))
  await writeFile(file, JSON.stringify({ ...record, running: 'make release' }))
  await writeFile(path.join(rig.dir, 'ss-garbled.json'), '{ not json')
  const after = await rig.restart()
  assert.equal(after.list('alice')[0]?.busy, false)
  assert.match(text(await backlog(rig, s.id, 'alice')), /\(interrupted: the node stopped while `make release` ran\)$/)
  assert.ok(rig.warnings.some(w => w.includes('ss-garbled.json is unreadable')), 'a bad file is reported and left alone')
})

test('closing a session stops the command it runs', async t => {
  const rig = await sessionRig(t)
  const s = await rig.manager.create('alice', null, '')
  let closedSeen: SessionOutput | undefined
  const attached = rig.manager.attach(s.id, 'alice', 0, o => { if (o.stream === 'closed') closedSeen = o }, () => {}, '')
  rig.manager.input(s.id, 'alice', 'sleep 30')
  await eventually('sleep to run', () => rig.manager.list('alice')[0]?.busy)
  const started = Date.now()
  await rig.manager.closeSession(s.id, 'alice', 'closed by alice')
  assert.equal((await attached).state, 'closed', 'attached clients are let go')
  assert.equal(closedSeen?.text, 'session closed: closed by alice')
  await rig.manager.close()
  assert.ok(Date.now() - started < 5000, 'sleep was killed, not waited for')
})

test('a session idle for its idle time closes; typing, an attached client or a running command keep it', async t => {
  const rig = await sessionRig(t, { idleMs: 60_000 })
  const quiet = await rig.manager.create('alice', null, '')
  const typed = await rig.manager.create('alice', null, '')
  const watched = await rig.manager.create('bob', null, '')
  const busy = await rig.manager.create('bob', null, '')
  rig.manager.attach(watched.id, 'bob', 0, () => {}, () => {}, '').catch(() => {})
  rig.manager.input(busy.id, 'bob', 'sleep 30')
  await eventually('sleep to run', () => rig.manager.list('bob').find(s => s.id === busy.id)?.busy)
  rig.clock.advance(40_000)
  rig.manager.input(typed.id, 'alice', 'pwd')
  await settled(rig, typed.id, 'alice')
  assert.deepEqual(await rig.manager.expireIdle(), [])
  rig.clock.advance(30_000)
  assert.deepEqual(await rig.manager.expireIdle(), [quiet.id])
  assert.deepEqual(rig.manager.list('alice').map(s => s.id), [typed.id])
  assert.deepEqual(rig.manager.list('bob').map(s => s.id).sort(), [watched.id, busy.id].sort())
  assert.ok(rig.audits.some(a => a.event === 'session_close' && a.message === `session ${quiet.id} of alice closed after 60 s idle`))
  assert.ok(!(await readdir(rig.dir)).includes(`${quiet.id}.json`))
  rig.clock.advance(60_001)
  assert.deepEqual(await rig.manager.expireIdle(), [typed.id])
})

test('the node\'s command allowlist applies to session lines, and shell syntax is refused rather than passed on', async t => {
  const rig = await sessionRig(t, { allow: ['echo'] })
  const s = await rig.manager.create('alice', null, '')
  for (const line of ['echo $HOME *.ts', 'ls', 'echo a | wc -l', 'echo kept # not this']) rig.manager.input(s.id, 'alice', line)
  await settled(rig, s.id, 'alice')
  const out = text(await backlog(rig, s.id, 'alice'))
  assert.match(out, /se> echo \$HOME \*\.ts\n\$HOME \*\.ts\n/, 'no shell: nothing expands')
  assert.match(out, /se> ls\nCOMMAND_NOT_ALLOWED: 'ls' is not on this node's command allowlist/)
  assert.match(out, /se> echo a \| wc -l\nBAD_INPUT: '\|' needs a shell, and session lines run without one\n {2}run it through one explicitly, e.g. sh -c 'echo a \| wc -l'/)
  assert.match(out, /se> echo kept # not this\nkept$/m)
})
