// A decision made in the dashboard by a person with a key (se key new) is signed
// by them: an intervention only named people may decide completes from the
// dashboard, and the holder's trail keeps the person's signed decision.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, se, startNode, tempDir, waitFor } from './helpers/cli.js'
import { START_MS, dashboard, lastLine } from './helpers/dashboard.js'
import { terminal, tmuxAvailable } from './helpers/tmux.js'

const noTmux = await tmuxAvailable()

test('the dashboard signs decisions with the person key: a step for named approvers completes from it, signed', { skip: noTmux ?? false }, async t => {
  const dir = await tempDir(t)
  const dataDir = await tempDir(t, 'se-dash-')
  const keyFile = path.join(dir, 'ann.json')
  const ann = json(await se(['key', 'new', '--name', 'ann', '--json'], { dataDir, env: { SE_PERSON_KEY: keyFile } }))
  await startNode(t, dataDir)
  await writeFile(path.join(dir, 'ship.yaml'), `name: SHIP\nsteps:\n  - { id: ship, intervention: { prompt: "Ship it now", approvers: [${ann.person as string}] } }\n`)
  const id = json(await se(['execute', 'ship.yaml', '--json'], { dataDir, cwd: dir })).id as string
  await waitFor('the question', async () => json(await se(['status', id, '--json'], { dataDir })).state === 'waiting_intervention' || undefined)
  // Unsigned (no key), the step's approvers refuse it: what the dashboard does must be signed to count.
  assert.equal((await se(['approve', id], { dataDir, env: { XDG_CONFIG_HOME: path.join(dir, 'no-config') } })).code, 5)

  const term = await terminal(t, `sh -c 'SE_PERSON_KEY=${keyFile} ${dashboard(dataDir)}; sleep 60'`, { width: 140, height: 40, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' } })
  await term.waitFor('the prompt', s => s.includes('intervention 1 of 1') && s.includes('Ship it now'), START_MS)
  await term.keys('a')
  await term.waitFor('the outcome', s => /approve → completed \(signed\)/.test(lastLine(s)))
  const trail = json<Array<{ entry: { event: string, message: string, decision: { decision: { person: string, name: string } } | null } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir }))
  const resolved = trail.find(r => r.entry.event === 'intervention_resolved')
  assert.equal(resolved?.entry.decision?.decision.person, ann.publicKey)
  assert.match(resolved?.entry.message ?? '', /ship: approve by ann \(person [0-9a-f]{12}, signed\)/)
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
  await term.keys('q')
})
