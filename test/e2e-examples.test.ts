// The shipped example workflows, end to end through the real `se` CLI and a real
// node process, on real git repositories.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { gitRepo, json, se, startNode, tempDir, waitFor } from './helpers/cli.js'

const git = async (cwd: string, ...args: string[]): Promise<string> => (await execa('git', args, { cwd })).stdout

test('VERSION_TRANSITION bumps, commits, waits for approval, then tags', async t => {
  const dataDir = await tempDir(t)
  const repo = await gitRepo(t)
  await startNode(t, dataDir, ['--name', 'laptop'])

  const started = await se(['execute', 'VERSION_TRANSITION', '--input', `repo=${repo}`, '--wait', '--no-block', '--json'], { dataDir })
  assert.equal(started.code, 3, started.stderr)
  const waiting = json(started)
  assert.equal(waiting.state, 'waiting_intervention')
  assert.equal(waiting.intervention.stepId, 'confirm')
  assert.match(waiting.intervention.prompt, /Tag v1\.2\.4/)
  assert.deepEqual(waiting.intervention.choices, ['approve', 'reject'])
  assert.equal(await git(repo, 'tag'), '', 'nothing is tagged before approval')

  const approved = await se(['approve', waiting.id, '--comment', 'release it', '--json'], { dataDir })
  assert.equal(approved.code, 0, approved.stderr)
  const done = await waitFor('completion', async () => {
    const s = json((await se(['status', waiting.id, '--json'], { dataDir })))
    return s.state === 'completed' ? s : undefined
  })
  assert.deepEqual(done.steps.map((s: any) => [s.id, s.state, s.attempts, s.exitCode]), [
    ['clean', 'completed', 1, 0], ['bump', 'completed', 1, 0], ['commit', 'completed', 1, 0],
    ['confirm', 'completed', 1, null], ['tag', 'completed', 1, 0]
  ])
  for (const step of done.steps) assert.match(step.node, /^[0-9a-f]{64}$/)
  assert.equal(JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')).version, '1.2.4')
  assert.equal(await git(repo, 'tag'), 'v1.2.4')
  assert.match(await git(repo, 'log', '-1', '--format=%s'), /chore: release v1\.2\.4/)

  const audit = await se(['audit', '--workflow', waiting.id], { dataDir })
  assert.equal(audit.code, 0)
  const events = audit.stdout.split('\n').map(l => /\| SE_DISTRIBUTED \| (\w+):/.exec(l)?.[1])
  assert.deepEqual(events, ['workflow_start', 'step_start', 'step_complete', 'step_start', 'step_complete', 'step_start', 'step_complete',
    'intervention_request', 'intervention_resolved', 'workflow_resume', 'step_start', 'step_complete', 'workflow_complete'])
  assert.match(audit.stdout.split('\n')[0] ?? '', /^##→\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \| SE_DISTRIBUTED \| workflow_start: VERSION_TRANSITION on laptop$/)
  const verified = await se(['audit', '--verify'], { dataDir })
  assert.equal(verified.code, 0, verified.stdout)
})

test('VERSION_TRANSITION on a dirty tree asks retry/skip/abort, and a rejected tag leaves no tag', async t => {
  const dataDir = await tempDir(t)
  const repo = await gitRepo(t)
  await startNode(t, dataDir)
  await writeFile(path.join(repo, 'README.md'), 'uncommitted\n')
  await execa('git', ['add', 'README.md'], { cwd: repo })

  const first = json(await se(['execute', 'VERSION_TRANSITION', '-i', `repo=${repo}`, '-i', 'level=minor', '--wait', '--no-block', '--json'], { dataDir }))
  assert.equal(first.state, 'waiting_intervention')
  assert.equal(first.intervention.stepId, 'clean')
  assert.deepEqual(first.intervention.choices, ['retry', 'skip', 'abort'])
  assert.equal(first.steps[0].state, 'waiting_intervention')

  const wrong = await se(['approve', first.id, '--choice', 'approve'], { dataDir })
  assert.equal(wrong.code, 2)
  assert.match(wrong.stderr, /not a choice.*\n.*retry, skip, abort/s)

  assert.equal((await se(['approve', first.id, '--choice', 'skip'], { dataDir })).code, 0)
  const atConfirm = await waitFor('the tag question', async () => {
    const s = json(await se(['status', first.id, '--json'], { dataDir }))
    return s.intervention?.stepId === 'confirm' ? s : undefined
  })
  assert.equal(atConfirm.steps[0].state, 'skipped')
  assert.match(atConfirm.intervention.prompt, /Tag v1\.3\.0/)

  const rejected = await se(['reject', first.id, '--comment', 'not today', '--json'], { dataDir })
  assert.equal(rejected.code, 0, rejected.stderr)
  const final = json(rejected)
  assert.equal(final.state, 'cancelled')
  assert.match(final.error, /reject/)
  assert.equal(await git(repo, 'tag'), '')
  const status = await se(['status', first.id, '--json'], { dataDir })
  assert.equal(json(status).steps[4].state, 'pending', 'the tag step never ran')
})

test('REPOSITORY_MAINTENANCE checks, collects and prunes a real repository', async t => {
  const dataDir = await tempDir(t)
  const repo = await gitRepo(t)
  await startNode(t, dataDir)
  const r = await se(['execute', 'REPOSITORY_MAINTENANCE', '--input', `repo=${repo}`, '--wait', '--json'], { dataDir })
  assert.equal(r.code, 0, r.stderr)
  const s = json(r)
  assert.equal(s.state, 'completed')
  assert.deepEqual(s.steps.map((x: any) => x.id), ['before', 'fsck', 'gc', 'prune', 'worktrees', 'after'])
  assert.ok(s.steps.every((x: any) => x.state === 'completed' && x.exitCode === 0))
  assert.match(s.steps[5].stdout, /count: 0/, 'gc packed every loose object')
})

test('AUDIT_ANALYSIS summarises the trail, with an embedded node when none runs', async t => {
  const dataDir = await tempDir(t)
  const repo = await gitRepo(t)
  // No node is running: --wait runs one embedded for each call.
  const maintenance = await se(['execute', 'REPOSITORY_MAINTENANCE', '-i', `repo=${repo}`, '--wait'], { dataDir })
  assert.equal(maintenance.code, 0, maintenance.stderr)
  assert.match(maintenance.stderr, /embedded node/)
  const r = await se(['execute', 'AUDIT_ANALYSIS', '--wait', '--json'], { dataDir })
  assert.equal(r.code, 0, r.stderr)
  const s = json(r)
  assert.equal(s.state, 'completed')
  assert.match(s.steps[0].stdout, /audit trail intact/)
  assert.match(s.steps[1].stdout, /REPOSITORY_MAINTENANCE\s+completed\s+6\s+0\s+0/)
  const summary = JSON.parse(s.steps[2].stdout)
  const m = summary.find((w: any) => w.name === 'REPOSITORY_MAINTENANCE')
  assert.equal(m.state, 'completed')
  assert.equal(m.steps, 6)
  assert.deepEqual(Object.keys(m.stepDurationsMs).sort(), ['after', 'before', 'fsck', 'gc', 'prune', 'worktrees'])

  // With the node stopped again, the trail is still readable and verifiable from the files.
  const verify = await se(['audit', '--verify', '--json'], { dataDir })
  assert.equal(verify.code, 0)
  assert.equal(json(verify).ok, true)
})
