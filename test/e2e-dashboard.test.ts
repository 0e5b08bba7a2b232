// The dashboard in a real terminal (tmux) over a real two-node mesh: it shows
// both nodes and their capabilities, raises a routed workflow's intervention,
// approves it with one key, filters, survives a resize to 80x24, and quits
// cleanly with exit code 0.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { SE_BIN, json, se, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'
import { terminal, tmuxAvailable } from './helpers/tmux.js'

const skip = await tmuxAvailable()
const opts = { skip: skip ?? false }

test('the dashboard shows the mesh, answers an intervention with one key, filters, fits 80x24 and quits cleanly', opts, async t => {
  const bootstrap = await localBootstrap(t)
  const [home, worker] = await Promise.all([meshNode(t, bootstrap, 'home'), meshNode(t, bootstrap, 'worker', { tags: ['builder'] })])
  await waitForStates(home, [worker], 'up')
  const out = path.join(await tempDir(t), 'exit')
  const term = await terminal(t, `sh -c '${process.execPath} ${SE_BIN} --data-dir ${home.dataDir} dashboard --refresh-ms 300; echo "EXIT=$?" > ${out}; echo dashboard-exited; sleep 60'`, { env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } })

  // Every pane, each with its title, once both nodes are listed: the panes fill in over the first refreshes, so one capture is not enough.
  const panes = [/ nodes /, / workloads /, / workflows /, / audit /, /cpu %/]
  const first = await term.waitFor('both nodes with their capabilities, and every pane', s => /home \*/.test(s) && /worker .*tag:builder/.test(s) && panes.every(p => p.test(s)))
  for (const p of panes) assert.match(first, p)

  // A workflow routed to the worker that stops for a person.
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'ship.yaml'), [
    'name: SHIP',
    'requires: { capabilities: [builder] }',
    'steps:',
    '  - { id: build, run: { command: sh, args: [-c, "echo build-7"] } }',
    '  - { id: confirm, intervention: { prompt: "Ship ${steps.build.stdout} now?", choices: [approve, reject] } }',
    '  - { id: done, run: { command: "true" } }',
    ''
  ].join('\n'))
  const id = json(await se(['execute', 'ship.yaml', '--json'], { dataDir: home.dataDir, cwd: dir })).id as string
  const prompt = await term.waitFor('the intervention prompt', s => s.includes('intervention 1 of 1') && s.includes('Ship build-7 now?'))
  assert.match(prompt, /step confirm on home/)
  assert.match(prompt, /\[1\] approve\s+\[2\] reject/)
  await term.keys('a')
  const done = await waitFor('the workflow to complete', async () => {
    const s = json(await se(['status', id, '--json'], { dataDir: home.dataDir }))
    return s.state === 'completed' ? s : undefined
  })
  assert.equal(done.steps[0].node, worker.key)
  assert.equal(done.steps[1].choice, 'approve')
  await term.waitFor('the prompt to go', s => !s.includes('intervention 1 of 1') && /workflows 1[^\n]*\n[^\n]*\n[^\n]*SHIP\s+\S+\s+completed/.test(s))

  // An intervention of a workflow another node holds comes up here too, and is answered there.
  const away = json(await se(['execute', 'ship.yaml', '--json'], { dataDir: worker.dataDir, cwd: dir })).id as string
  const remote = await term.waitFor('the worker\'s intervention', s => s.includes('intervention 1 of 1') && s.includes(away))
  assert.match(remote, /step confirm on worker/)
  await term.keys('a')
  const answered = await waitFor('the worker\'s workflow to complete', async () => {
    const s = json(await se(['status', away, '--json'], { dataDir: worker.dataDir }))
    return s.state === 'completed' ? s : undefined
  })
  assert.match(answered.steps[1].choice, /approve/)
  assert.match((await se(['audit', '--workflow', away], { dataDir: worker.dataDir })).stdout, /intervention_resolved: SHIP step confirm: approve by \S+ via home/)
  await term.waitFor('the prompt to go', s => !s.includes('intervention 1 of 1'))

  // `?` help, `d` details, `x` the catalogue, `:` commands.
  await term.keys('?')
  await term.waitFor('the help overlay', s => s.includes(' help ') && s.includes(':execute NAME'))
  await term.keys('q')
  const helpClosed = await term.waitFor('the help to close', s => !s.includes(':execute NAME'))
  assert.match(helpClosed, / nodes /, 'q closed the overlay, not the dashboard')
  await term.keys('d')
  await term.waitFor('details of the selected node', s => s.includes(' details ') && s.includes(home.key))
  await term.keys('Escape')
  // A person sees the overlay go before the next key: Escape and x sent together read as Alt-x.
  await term.waitFor('the details to close', s => !/node\s+home \(this node\)/.test(s))
  await term.keys('x')
  await term.waitFor('the catalogue', s => s.includes('run which workflow?') && s.includes('AUDIT_ANALYSIS'))
  await term.keys('Enter')
  await term.waitFor('AUDIT_ANALYSIS in the workflows pane', s => /AUDIT_ANALYSIS\s+wf-/.test(s))
  // Keys typed into a one-line input wait for it to open, as a person would.
  const input = async (key: string, caption: RegExp, text: string): Promise<void> => {
    await term.keys(key)
    await term.waitFor(`the ${key} input`, s => caption.test(s.split('\n').pop() ?? ''))
    await term.type(text)
    await term.keys('Enter')
    await term.waitFor('the status bar back', s => /nodes up/.test(s.split('\n').pop() ?? ''))
  }
  await input(':', /^:/, 'workflows')
  await term.waitFor('the workflows pane focused', s => /▶(AUDIT_ANALYSIS|SHIP)/.test(s))
  await input(':', /^:/, 'nodes')

  // `l` follows the selected workload's logs (a process workload: no podman needed).
  await writeFile(path.join(dir, 'talker.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: talker }\nspec:\n  containers:\n    - { name: say, image: localhost/none:1, command: ["/bin/sh", "-c", "while true; do echo hello-from-talker; sleep 0.3; done"] }\n')
  assert.equal((await se(['deploy', path.join(dir, 'talker.yaml'), '--engine', 'process'], { dataDir: home.dataDir })).code, 0)
  await input(':', /^:/, 'workloads')
  await term.waitFor('the workload selected', s => /▶talker-\w+/.test(s))
  await term.keys('l')
  await term.waitFor('its logs', s => s.includes(' logs talker-') && (s.match(/talker\/say [│x] hello-from-talker/g) ?? []).length >= 2)
  await term.keys('Escape')
  await term.waitFor('the logs to close', s => !s.includes(' logs talker-'))
  assert.equal((await se(['remove', 'talker'], { dataDir: home.dataDir })).code, 0)
  await input(':', /^:/, 'nodes')

  // `/` filters the focused table (nodes).
  await input('/', /^filter nodes:/, 'worker')
  const filtered = await term.waitFor('only the worker row', s => /nodes 1\/2/.test(s))
  assert.doesNotMatch(filtered.split('\n').filter(l => l.includes('│')).join('\n'), /home \*/)

  await term.resize(80, 24)
  const small = await term.waitFor('the 80x24 layout', s => s.split('\n').length <= 24 && /^\S+ nodes /.test(s) && !s.includes('cpu %') && / workflows /.test(s) && /2\/2 nodes up/.test(s.split('\n').pop() ?? ''))
  for (const pane of ['nodes', 'workloads', 'workflows', 'audit']) assert.match(small, new RegExp(` ${pane}`))
  assert.ok(small.split('\n').every(l => l.length <= 80))

  await term.keys('q')
  const after = await term.waitFor('the dashboard to exit', s => s.includes('dashboard-exited'))
  // Borders are gone (tmux shows line-drawing characters as lqk/mqj when captured as text).
  assert.doesNotMatch(after, /[┌┐└┘]|lqq|mqq/, 'the normal screen is back')
  const { readFile } = await import('node:fs/promises')
  assert.equal((await readFile(out, 'utf8')).trim(), 'EXIT=0')
})
