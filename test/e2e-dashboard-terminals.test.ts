// The dashboard in the terminals people really have: tmux with TERM=vt100 and
// xterm-256color at 80x24 and 200x60, and over `ssh -t` to a local sshd whose
// side has no locale. Without Unicode no `?` may stand where a glyph should be.
// Then the decisions that ask first (reject, ctrl-d), the inputs form and
// `:execute NAME -i k=v`, long messages, `l` on a workflow and `d` on nothing.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { SE_BIN, gitRepo, json, se, startNode, tempDir, waitFor } from './helpers/cli.js'
import { localSshd, sshdAvailable } from './helpers/ssh.js'
import { terminal, tmuxAvailable, type Terminal } from './helpers/tmux.js'

const noTmux = await tmuxAvailable()
const noSsh = noTmux ?? await sshdAvailable()
const NOT_ASCII = /[^\x00-\x7f]/
const BRAILLE = /[\u2800-\u28ff]/
const lastLine = (s: string): string => s.split('\n').filter(l => l.trim() !== '').pop() ?? ''

const SHIP = [
  'name: SHIP',
  'steps:',
  '  - { id: build, run: { command: sh, args: [-c, "echo build-7"] } }',
  '  - { id: confirm, intervention: { prompt: "Ship ${steps.build.stdout} now", choices: [approve, reject] } }',
  '  - { id: done, run: { command: "true" } }',
  ''
].join('\n')

/** A node with a workflow waiting for a person, so marks, prompts and audit lines are on screen. */
async function nodeWithWork (t: TestContext): Promise<{ dataDir: string, dir: string, id: string }> {
  const dataDir = await tempDir(t, 'se-dash-')
  await startNode(t, dataDir)
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'ship.yaml'), SHIP)
  const id = json(await se(['execute', 'ship.yaml', '--json'], { dataDir, cwd: dir })).id as string
  await waitFor('the workflow to wait', async () => json(await se(['status', id, '--json'], { dataDir })).state === 'waiting_intervention')
  return { dataDir, dir, id }
}

function dashboard (dataDir: string, extra = ''): string {
  return `${process.execPath} ${SE_BIN} --data-dir ${dataDir} dashboard --refresh-ms 300 ${extra}`
}

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
    const shown = await screen.waitFor(`the dashboard (${where})`, s => s.includes('intervention 1 of 1') && /##.20\d\d-/.test(s) && /1\/1 nodes up/.test(lastLine(s)))
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
  assertAscii(await forced.waitFor('the --ascii dashboard', s => s.includes('intervention 1 of 1') && /##>/.test(s)), '--ascii')
})

test('over ssh -t to a host with no locale the dashboard draws in ASCII', { skip: noSsh ?? false }, async t => {
  const { dataDir } = await nodeWithWork(t)
  const sshd = await localSshd(t)
  const out = path.join(await tempDir(t), 'exit')
  // The local side can show Unicode; only the remote side lacks a locale, as on a bare server.
  const remote = `${dashboard(dataDir)}; echo EXIT=$? > ${out}`
  const screen = await terminal(t, `sh -c '${sshd.command(remote).replace(/'/g, "'\\''")}; echo ssh-exited; sleep 60'`, { width: 200, height: 60, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } })
  const shown = await screen.waitFor('the dashboard over ssh', s => s.includes('intervention 1 of 1') && /##.20\d\d-/.test(s) && s.includes('cpu %'), 30_000)
  assertAscii(shown, 'ssh -t')
  assert.match(shown, /##>20\d\d-/)
  assert.match(lastLine(shown), /j\/k row/)
  assert.match(await readFile(path.join(dataDir, 'dashboard.log'), 'utf8'), /draws with ASCII \(no locale \(LANG unset\)\)/)
  await screen.keys('q')
  await screen.waitFor('ssh to end', s => s.includes('ssh-exited'))
  assert.equal((await readFile(out, 'utf8')).trim(), 'EXIT=0')
})

async function input (term: Terminal, key: string, caption: RegExp, text: string): Promise<void> {
  await term.keys(key)
  await term.waitFor(`the ${key} input`, s => caption.test(lastLine(s)))
  await term.type(text)
  await term.keys('Enter')
}

test('decisions that end or change a workflow ask y/n; the inputs form; long messages; l and d', { skip: noTmux ?? false }, async t => {
  const { dataDir, dir, id } = await nodeWithWork(t)
  const status = async (wf: string): Promise<any> => json(await se(['status', wf, '--json'], { dataDir }))
  const term = await terminal(t, `sh -c '${dashboard(dataDir)}; sleep 60'`, { width: 120, height: 40, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } })
  await term.waitFor('the prompt', s => s.includes('intervention 1 of 1') && s.includes('Ship build-7 now'))

  // r asks; n leaves the workflow waiting; r then y rejects.
  await term.keys('r')
  await term.waitFor('the question', s => s.includes(` confirm `) && s.includes(`reject SHIP ${id} at step confirm? (y/n)`))
  await term.keys('n')
  await term.waitFor('no', s => /not done: you said no/.test(lastLine(s)))
  assert.equal((await status(id)).state, 'waiting_intervention')
  await term.keys('r')
  await term.waitFor('the question again', s => s.includes(`reject SHIP ${id}`))
  await term.keys('y')
  const rejected = await waitFor('the rejection', async () => { const s = await status(id); return s.state !== 'waiting_intervention' ? s : undefined })
  assert.equal(rejected.steps[1].choice, 'reject')
  // The outcome goes from the status bar once the workflow has moved on (it ends at once here).
  await term.waitFor('the outcome to go', s => !/reject ->|reject →/.test(lastLine(s)) && !s.includes('intervention 1 of 1'))

  // d on an empty pane says so.
  await input(term, ':', /^:/, 'workloads')
  await term.keys('d')
  await term.waitFor('nothing selected', s => /nothing selected in workloads \(there are no workloads\)/.test(lastLine(s)))

  // ctrl-d removes the selected workload, after y.
  await writeFile(path.join(dir, 'talker.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: talker }\nspec:\n  containers:\n    - { name: say, image: localhost/none:1, command: ["/bin/sh", "-c", "while true; do echo hi; sleep 0.3; done"] }\n')
  assert.equal((await se(['deploy', path.join(dir, 'talker.yaml'), '--engine', 'process'], { dataDir })).code, 0)
  await term.waitFor('the workload selected', s => /▶talker-\w+/.test(s))
  await term.keys('C-d')
  await term.waitFor('the remove question', s => /remove workload talker-\w+ on \S+ \(\w+\)\? \(y\/n\)/.test(s))
  await term.keys('y')
  await waitFor('the workload to go', async () => json<any[]>(await se(['workloads', '--json'], { dataDir })).every(w => w.state === 'removed' || !String(w.id).startsWith('talker')))

  // l on a workflow follows its steps' output; ctrl-d then cancels it, after y.
  await writeFile(path.join(dir, 'talk.yaml'), 'name: TALK\nsteps:\n  - { id: chat, run: { command: sh, args: [-c, "i=0; while [ $i -lt 600 ]; do echo line-$i; i=$((i+1)); sleep 0.2; done"] } }\n')
  const talk = json(await se(['execute', 'talk.yaml', '--json'], { dataDir, cwd: dir })).id as string
  await input(term, ':', /^:/, 'workflows')
  // Running ones sort above finished ones; the selection stayed on SHIP.
  await term.waitFor('the workflows pane', s => /▶SHIP/.test(s))
  await term.keys('k')
  await term.waitFor('TALK selected', s => new RegExp(`▶TALK\\s+${talk}`).test(s))
  await term.keys('l')
  await term.waitFor('its live output', s => s.includes(` output TALK ${talk} step chat`) && (s.match(/chat [│x] line-\d+/g) ?? []).length >= 3)
  await term.keys('Escape')
  await term.waitFor('the output to close', s => !s.includes(' output TALK'))
  await term.keys('C-d')
  await term.waitFor('the cancel question', s => s.includes(`cancel workflow TALK ${talk} (running)? (y/n)`))
  await term.keys('y')
  await waitFor('the cancel', async () => (await status(talk)).state === 'cancelled')

  // :execute with a required input missing opens the form; an empty required field is asked again.
  const repo = await gitRepo(t)
  await input(term, ':', /^:/, 'execute VERSION_TRANSITION')
  const form = await term.waitFor('the form', s => s.includes('run VERSION_TRANSITION: inputs') && /^repo\*:/.test(lastLine(s)))
  assert.match(form, /repo\*\s+= \(empty\)\s+path of the git repository/)
  assert.match(form, /level\s+= patch/)
  await term.keys('Enter')
  await term.waitFor('repo asked again', s => /repo is required/.test(s) && /^repo\*:/.test(lastLine(s)))
  await term.type(repo)
  await term.keys('Enter')
  await term.waitFor('level asked', s => /^level: patch/.test(lastLine(s)))
  await term.keys('Enter')
  const started = await waitFor('VERSION_TRANSITION from the form', async () => json<any[]>(await se(['status', '--json'], { dataDir })).find(w => w.name === 'VERSION_TRANSITION'))
  assert.deepEqual(started.inputs, { repo, level: 'patch' })
  // With -i no form: it starts at once with what was given.
  await input(term, ':', /^:/, `execute VERSION_TRANSITION -i repo=${repo} --input level=minor`)
  const second = await waitFor('VERSION_TRANSITION from -i', async () => json<any[]>(await se(['status', '--json'], { dataDir })).find(w => w.name === 'VERSION_TRANSITION' && w.inputs.level === 'minor'))
  assert.equal(second.inputs.repo, repo)

  // A message longer than the status bar opens whole, and says what to do.
  await term.resize(80, 24)
  await input(term, ':', /^:/, 'execute NO_SUCH_WORKFLOW_ANYWHERE')
  const popup = await term.waitFor('the message popup', s => s.includes('message (esc or q closes)') && s.includes('NO_SUCH_WORKFLOW_ANYWHERE'))
  assert.match(popup.replace(/[│x]\s*\n\s*[│x]/g, ' '), /se catalogue|catalogue/)
  await term.keys('Escape')
  await term.waitFor('the popup to close', s => !s.includes('message (esc or q closes)'))
  await term.keys('q')
})
