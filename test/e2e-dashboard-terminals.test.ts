// The dashboard in the terminals people really have: tmux with TERM=vt100 and
// xterm-256color at 80x24 and 200x60, and over `ssh -t` to a local sshd whose
// side has no locale. Without Unicode no `?` may stand where a glyph should be.
// (The keys that ask first are in e2e-dashboard-decisions.test.ts.)
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { tempDir } from './helpers/cli.js'
import { START_MS, dashboard, lastLine, nodeWithWork } from './helpers/dashboard.js'
import { localSshd, sshdAvailable } from './helpers/ssh.js'
import { terminal, tmuxAvailable } from './helpers/tmux.js'

const noTmux = await tmuxAvailable()
const noSsh = noTmux ?? await sshdAvailable()
const NOT_ASCII = /[^\x00-\x7f]/
const BRAILLE = /[\u2800-\u28ff]/

/** An ASCII screen: every character ASCII (tmux captures line drawing as lqk), no `?` but the help key's. */
function assertAscii (screen: string, where: string): void {
  assert.doesNotMatch(screen, NOT_ASCII, `${where}: only ASCII`)
  // The status bar's hints end in `? help`, or in `? ~` where a narrow screen cuts them.
  assert.doesNotMatch(screen.replace(/\? (help|~$)/gm, ''), /\?/, `${where}: no ? for a glyph`)
}

test('ASCII with TERM=vt100 and Unicode with xterm-256color, at 80x24 and 200x60', { skip: noTmux ?? false }, async t => {
  const { dataDir, id } = await nodeWithWork(t)
  for (const [term, width, height] of [['vt100', 80, 24], ['vt100', 200, 60], ['xterm-256color', 80, 24], ['xterm-256color', 200, 60]] as const) {
    const where = `TERM=${term} ${width}x${height}`
    const screen = await terminal(t, `sh -c '${dashboard(dataDir)}; sleep 60'`, { width, height, env: { TERM: term, LANG: 'C.UTF-8' } })
    const shown = await screen.waitFor(`the dashboard (${where})`, s => s.includes('intervention 1 of 1') && /##.20\d\d-/.test(s) && /1\/1 nodes up/.test(lastLine(s)), START_MS)
    assert.ok(shown.split('\n').every(l => l.length <= width), `${where}: fits`)
    assert.equal(shown.includes('cpu %'), width >= 100, `${where}: graphs only when wide`)
    if (term === 'vt100') {
      assertAscii(shown, where)
      assert.match(shown, /##>20\d\d-/)
      assert.match(lastLine(shown), /j\/k row/)
      if (width >= 100) assert.match(shown, /cpu %[\s\S]*memory %/)
    } else {
      assert.match(shown, /##→20\d\d-/)
      assert.match(lastLine(shown), /↑↓ row/)
      if (width >= 100) assert.match(shown, BRAILLE, 'line charts in braille')
    }
    // The workflow's graph uses the marks of the set in use.
    await screen.keys('Tab', 'Tab')
    await screen.waitFor(`the workflows pane focused (${where})`, s => /[▶>]SHIP/.test(s))
    await screen.keys('d')
    const details = await screen.waitFor(`details (${where})`, s => /current step/.test(s))
    if (term === 'vt100') {
      assertAscii(details.replace(/waiting for a person at confirm.*|^.*[?] confirm.*$/gm, ''), `${where} details`)
      assert.match(details, /\+ build/)
    } else {
      assert.match(details, /✓ build/)
    }
    await screen.keys('Escape')
    await screen.waitFor(`the details to close (${where})`, s => !s.includes('current step'))
    await screen.keys('q')
    await screen.waitFor(`the dashboard to quit (${where})`, s => !s.includes('intervention 1 of 1'))
  }
  // --ascii asks for it on a terminal that could do Unicode.
  const forced = await terminal(t, `sh -c '${dashboard(dataDir, '--ascii')}; sleep 60'`, { width: 200, height: 60, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } })
  assertAscii(await forced.waitFor('the --ascii dashboard', s => s.includes('intervention 1 of 1') && /##>/.test(s), START_MS), '--ascii')
})

test('over ssh -t to a host with no locale the dashboard draws in ASCII', { skip: noSsh ?? false }, async t => {
  const { dataDir } = await nodeWithWork(t)
  const sshd = await localSshd(t)
  const out = path.join(await tempDir(t), 'exit')
  // The local side can show Unicode; only the remote side lacks a locale, as on a bare server.
  const remote = `${dashboard(dataDir)}; echo EXIT=$? > ${out}`
  const screen = await terminal(t, `sh -c '${sshd.command(remote).replace(/'/g, "'\\''")}; echo ssh-exited; sleep 60'`, { width: 200, height: 60, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } })
  const shown = await screen.waitFor('the dashboard over ssh', s => s.includes('intervention 1 of 1') && /##.20\d\d-/.test(s) && s.includes('cpu %'), START_MS)
  assertAscii(shown, 'ssh -t')
  assert.match(shown, /##>20\d\d-/)
  assert.match(lastLine(shown), /j\/k row/)
  assert.match(await readFile(path.join(dataDir, 'dashboard.log'), 'utf8'), /draws with ASCII \(no locale \(LANG unset\)\)/)
  await screen.keys('q')
  await screen.waitFor('ssh to end', s => s.includes('ssh-exited'))
  assert.equal((await readFile(out, 'utf8')).trim(), 'EXIT=0')
})
