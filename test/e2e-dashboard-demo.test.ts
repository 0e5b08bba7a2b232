// What `npm start` runs, as a new user meets it: `se dashboard --demo` on a fresh
// data dir in a real terminal (tmux) brings up its own node and two demo nodes (one
// on Bare), routes the demo workflow, and `a` approves it even while the demo's
// message is up. Then the terminal goes away, as a dropped SSH session does: the
// dashboard ends as `q` would, and no demo node is left running.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { execa } from 'execa'
import { json, se, sleep, tempDir, waitFor } from './helpers/cli.js'
import { START_MS, dashboard } from './helpers/dashboard.js'
import { terminal, tmuxAvailable } from './helpers/tmux.js'

const skip = await tmuxAvailable()

/** The processes whose parent is `pid`. */
async function childrenOf (pid: number): Promise<number[]> {
  const r = await execa('ps', ['-o', 'pid=', '--ppid', String(pid)], { reject: false })
  return r.stdout.split('\n').map(s => Number(s.trim())).filter(n => n > 0)
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

test('--demo: three nodes, the routed question answered with a, and the terminal closing leaves no node behind', { skip: skip ?? false }, async t => {
  const dataDir = await tempDir(t)
  const term = await terminal(t, `sh -c 'exec ${dashboard(dataDir, '--demo')}'`, { width: 120, height: 40, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } })
  await term.waitFor('three nodes and the demo question', s => s.includes('3/3 nodes up') && s.includes('intervention 1 of 1') && s.includes('Ship build-42?'), START_MS)
  await term.keys('a')
  const done = await waitFor('the demo workflow to complete', async () => {
    const list = json<Array<{ name: string, state: string }>>(await se(['status', '--json'], { dataDir }))
    return list.find(w => w.name === 'DEMO_ROUTING' && w.state === 'completed')
  })
  assert.equal(done.state, 'completed')

  const pane = Number((await execa('tmux', ['display-message', '-p', '-t', term.name, '#{pane_pid}'])).stdout.trim())
  const demoNodes = await childrenOf(pane)
  assert.ok(demoNodes.length >= 2, `the dashboard started its demo nodes: ${demoNodes.join(', ')}`)
  await execa('tmux', ['kill-session', '-t', term.name])
  await waitFor('the dashboard and its demo nodes to end', async () => [pane, ...demoNodes].every(pid => !alive(pid)) ? true : undefined, 20_000)
  // Nothing holds the data dir any more: a new node can start there.
  await sleep(100)
  assert.equal((await se(['node', 'status'], { dataDir })).code, 4)
})
