// A node's policy on a real loopback mesh (issue 17, run only so far): a member the
// builder's policy does not allow to run steps is refused before anything runs,
// the refusal is in the builder's trail and the requester sees the rule; allowed by
// a role, the same step runs. A policy with a mistake stops the node from starting.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, se, startNode, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'

interface Person { env: Record<string, string>, key: string }

/** A person's key made with se key new in `dir`, and the environment that signs as them. */
async function personKey (dir: string, dataDir: string, name: string): Promise<Person> {
  const env = { SE_PERSON_KEY: path.join(dir, `${name}.json`), USER: name }
  return { env, key: json(await se(['key', 'new', '--json'], { dataDir, env })).person as string }
}

const STEP = 'name: BUILD\nrequires: { capabilities: [builder] }\nsteps:\n  - { id: compile, run: { command: sh, args: [-c, "echo compiled > out.txt; echo compiled"] } }\n'

test('run: refused before anything runs, audited on the builder, the rule named; allowed by a role, it runs', async t => {
  const bootstrap = await localBootstrap(t)
  const requester = await meshNode(t, bootstrap, 'requester')
  const dir = await tempDir(t)
  const other = 'e'.repeat(64)
  const closed = path.join(dir, 'closed.yaml')
  await writeFile(closed, `roles:\n  ci: [${other}]\nallow:\n  run: [ci]\n  read: ['*']\n`)
  const checked = await se(['policy', 'check', closed], { dataDir: requester.dataDir })
  assert.equal(checked.code, 0, checked.stderr)
  const builder = await meshNode(t, bootstrap, 'builder', { tags: ['builder'], extra: ['--policy', closed] })
  await waitForStates(requester, [builder], 'up')
  // Members say what their policy lets this node do there: se nodes marks the builder before anything is refused.
  const seen = await waitFor('the builder\'s policy', async () => json<Array<{ nodeId: string, allows: string[] | null }>>(await se(['nodes', '--json'], { dataDir: requester.dataDir })).find(n => n.nodeId === builder.key && n.allows !== null))
  assert.deepEqual(seen.allows, ['read'])
  assert.match((await se(['nodes'], { dataDir: requester.dataDir })).stdout, /^builder ⊘ [\s\S]*⊘ builder refuses this node: run, approve, session$/m)
  await writeFile(path.join(dir, 'build.yaml'), STEP)
  const refused = json(await se(['execute', 'build.yaml', '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir }).then(r => ({ ...r, stdout: r.stdout || '{}' })))
  assert.equal(refused.state, 'failed')
  assert.match(refused.steps[0].error, /NOT_ALLOWED: requester \([0-9a-f]{8}\) may not run steps on builder: .*closed\.yaml:4 allow\.run\[0\] allows run to role ci/)
  const trail = json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--json'], { dataDir: builder.dataDir }))
  assert.ok(trail.some(r => r.entry.event === 'action_refused' && /requester .* may not run steps on builder/.test(r.entry.message)), 'the builder keeps the refusal in its own trail')
  assert.ok(!trail.some(r => r.entry.event === 'step_exec_start'), 'nothing ran')

  // A question of a workflow the builder holds: the requester may read it there, not answer it.
  await writeFile(path.join(dir, 'ask.yaml'), 'name: ASK\nsteps:\n  - { id: ok, intervention: { prompt: "Ship?", choices: [approve, reject] } }\n')
  const asked = json(await se(['execute', 'ask.yaml', '--json'], { dataDir: builder.dataDir, cwd: dir })).id as string
  const answer = await se(['approve', asked], { dataDir: requester.dataDir })
  assert.equal(answer.code, 5, answer.stderr)
  assert.match(answer.stderr, /requester \([0-9a-f]{8}\) may not answer interventions on builder: .*closed\.yaml allows approve to nobody/)
  assert.equal(json(await se(['status', asked, '--json'], { dataDir: builder.dataDir })).state, 'waiting_intervention', 'still waiting: nothing half done')

  // The requester's key added to the role: the same step runs there.
  const open = path.join(dir, 'open.yaml')
  await writeFile(open, `roles:\n  ci: [${other}, ${requester.key}]\nallow:\n  run: [ci]\n  read: ['*']\n`)
  await builder.proc.stop()
  const again = await meshNode(t, bootstrap, 'builder', { tags: ['builder'], extra: ['--policy', open], dataDir: builder.dataDir, env: { SE_CREDENTIALS: 'DEPLOY_TOKEN', DEPLOY_TOKEN: 's3cret' } })
  await waitForStates(requester, [again], 'up')
  const ran = json(await se(['execute', 'build.yaml', '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir }))
  assert.equal(ran.state, 'completed', JSON.stringify(ran.steps[0]))
  assert.equal(ran.steps[0].node, again.key)

  // Its credential only for a step that declares it: least privilege for what the builder holds.
  const token = (requires: string): string => `name: TOKEN\nrequires: { capabilities: [${requires}] }\nsteps:\n  - { id: use, run: { command: sh, args: [-c, 'echo "token=$DEPLOY_TOKEN"'] } }\n`
  await writeFile(path.join(dir, 'undeclared.yaml'), token('builder'))
  await writeFile(path.join(dir, 'declared.yaml'), token('builder, "credential:DEPLOY_TOKEN"'))
  const undeclared = json(await se(['execute', 'undeclared.yaml', '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir }))
  assert.equal(undeclared.steps[0].stdout.trim(), 'token=', 'a step that does not declare the credential does not see it')
  const declared = json(await se(['execute', 'declared.yaml', '--wait', '--json'], { dataDir: requester.dataDir, cwd: dir }))
  assert.equal(declared.state, 'completed', JSON.stringify(declared.steps[0]))
  assert.equal(declared.steps[0].stdout.trim(), 'token=s3cret')
  const shown = await se(['policy', 'show', open], { dataDir: dir })
  assert.match(shown.stdout, new RegExp(`run +ci +.*open\\.yaml:4 allow\\.run\\[0\\]`))
})

test('an answer goes to the member holding the question: another member whose policy would refuse it says only that it does not hold it', async t => {
  // Every member is asked at once; a refusal from one that does not hold the workflow used to win the race.
  const bootstrap = await localBootstrap(t)
  const requester = await meshNode(t, bootstrap, 'requester')
  const dir = await tempDir(t)
  const closed = path.join(dir, 'closed.yaml')
  await writeFile(closed, `roles:\n  ci: [${'e'.repeat(64)}]\nallow:\n  approve: [ci]\n  read: ['*']\n`)
  const [bystander, holder] = await Promise.all([meshNode(t, bootstrap, 'bystander', { extra: ['--policy', closed] }), meshNode(t, bootstrap, 'holder')])
  await waitForStates(requester, [bystander, holder], 'up')
  await writeFile(path.join(dir, 'ask.yaml'), 'name: ASK\nsteps:\n  - { id: ok, intervention: { prompt: "Ship?", choices: [approve, reject] } }\n')
  const asked = json(await se(['execute', 'ask.yaml', '--json'], { dataDir: holder.dataDir, cwd: dir })).id as string
  const answer = await se(['approve', asked], { dataDir: requester.dataDir })
  assert.equal(answer.code, 0, answer.stderr)
  assert.equal(json(await se(['status', asked, '--json'], { dataDir: holder.dataDir })).state, 'completed')
  const trail = json<Array<{ entry: { event: string } }>>(await se(['audit', '--json'], { dataDir: bystander.dataDir }))
  assert.ok(!trail.some(r => r.entry.event === 'action_refused'), 'the bystander refused nothing: it holds no such workflow')
})

test('a policy with a mistake is named by line and path, and a node given it does not start', async t => {
  const dir = await tempDir(t)
  const file = path.join(dir, 'policy.yaml')
  await writeFile(file, "roles:\n  laptops: []\nallow:\n  run: [laptops]\n  aprove: [laptops]\n")
  const checked = await se(['policy', 'check', file], { dataDir: dir })
  assert.equal(checked.code, 2)
  assert.match(checked.stderr, /policy\.yaml:5 allow\.aprove: unknown action 'aprove' \(expected one of: run, approve, session, deploy, read, relay\)/)
  const start = await se(['node', 'start', '--policy', file], { dataDir: await tempDir(t) })
  assert.equal(start.code, 2, start.stderr)
  assert.match(start.stderr, /unknown action 'aprove'/)
  const shown = await se(['policy', 'show', path.join(dir, 'none.yaml')], { dataDir: dir })
  assert.equal(shown.code, 2)
})

test('a person\'s signed decision: allowed for the person though not for the member that carries it, kept in the trail, and any edit of it caught', async t => {
  const bootstrap = await localBootstrap(t)
  const requester = await meshNode(t, bootstrap, 'requester')
  const dir = await tempDir(t)
  const env = { SE_PERSON_KEY: path.join(dir, 'ann.json'), USER: 'ann' }
  const key = json(await se(['key', 'new', '--json'], { dataDir: requester.dataDir, env }))
  const policy = path.join(dir, 'policy.yaml')
  await writeFile(policy, `roles:\n  release: [${key.person as string}]\nallow:\n  approve: [release]\n  read: ['*']\n`)
  const holder = await meshNode(t, bootstrap, 'holder', { extra: ['--policy', policy] })
  await waitForStates(requester, [holder], 'up')
  await writeFile(path.join(dir, 'ask.yaml'), 'name: RELEASE\nsteps:\n  - { id: ship, intervention: { prompt: "Ship?", choices: [approve, reject] } }\n')
  const id = json(await se(['execute', 'ask.yaml', '--json'], { dataDir: holder.dataDir, cwd: dir })).id as string

  // Unsigned, the requester node itself may not approve there.
  assert.equal((await se(['approve', id], { dataDir: requester.dataDir })).code, 5)
  // Signed by ann, whom the holder's policy names, the same member carries it through.
  const signed = await se(['approve', id, '--comment', 'go'], { dataDir: requester.dataDir, env })
  assert.equal(signed.code, 0, signed.stderr)
  assert.match(signed.stdout, /approve → completed \(signed as person:[0-9a-f]{12}\)/)
  const trail = json<Array<{ entry: { event: string, message: string, decision: { decision: { person: string, choice: string }, signature: string } | null } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir: holder.dataDir }))
  const resolved = trail.find(r => r.entry.event === 'intervention_resolved')
  assert.match(resolved?.entry.message ?? '', /ship: approve by ann \(person [0-9a-f]{12}, signed\) via requester \(go\)/)
  assert.equal(resolved?.entry.decision?.decision.person, key.publicKey)
  assert.equal((await se(['audit', '--verify'], { dataDir: holder.dataDir })).code, 0)

  // The stored decision edited (its choice): the verification names the entry.
  const file = path.join(holder.dataDir, 'audit', 'trail.jsonl')
  const text = await readFile(file, 'utf8')
  await writeFile(file, text.replace('"choice":"approve"', '"choice":"reject"'))
  const verify = await se(['audit', '--verify'], { dataDir: holder.dataDir })
  assert.notEqual(verify.code, 0)
  assert.match(verify.stdout + verify.stderr, /entry \d+ \(line \d+\) (was edited|records a decision by person [0-9a-f]{12} whose signature does not verify)/)
})

test('required approvers: quorum 2 of role release counts distinct people\'s signed approvals, shows 1/2, and completes on the second', async t => {
  const dir = await tempDir(t)
  const dataDir = await tempDir(t, 'se-holder-')
  const person = async (name: string): Promise<Person> => await personKey(dir, dataDir, name)
  const [ann, bob, carol] = [await person('ann'), await person('bob'), await person('carol')]
  const policy = path.join(dir, 'policy.yaml')
  await writeFile(policy, `roles:\n  release: [${ann.key}, ${bob.key}]\nallow:\n  approve: [release, ${carol.key}]\n  read: ['*']\n`)
  await startNode(t, dataDir, ['--policy', policy])
  await writeFile(path.join(dir, 'ship.yaml'), 'name: SHIP\nsteps:\n  - { id: ship, intervention: { prompt: "Ship v2?", approvers: [release], quorum: 2 } }\n  - { id: after, run: { command: sh, args: [-c, "echo shipped"] } }\n')
  const id = json(await se(['execute', 'ship.yaml', '--json'], { dataDir, cwd: dir })).id as string
  await waitFor('the question', async () => json(await se(['status', id, '--json'], { dataDir })).state === 'waiting_intervention' || undefined)

  // Unsigned, nothing counts; carol may approve on this node but is not among the step's approvers.
  const unsigned = await se(['approve', id], { dataDir })
  assert.equal(unsigned.code, 5, unsigned.stderr)
  assert.match(unsigned.stderr, /needs signed approvals \(2 of release\)/)
  const byCarol = await se(['approve', id], { dataDir, env: carol.env })
  assert.equal(byCarol.code, 5, byCarol.stderr)
  assert.match(byCarol.stderr, /person carol \([0-9a-f]{8}\) may not decide step ship on this node: step ship of SHIP is for release to decide/)

  // ann: counted, still waiting, visible as 1/2 in se status.
  const first = await se(['approve', id, '--comment', 'tests green'], { dataDir, env: ann.env })
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout, /approve → waiting_intervention \(signed as person:[0-9a-f]{12}\)\n {2}approvals 1\/2: ann; needs 1 more of release/)
  const status = await se(['status', id], { dataDir })
  assert.match(status.stdout, /approvals 1\/2: ann; needs 1 more of release/)
  const waiting = json(await se(['status', id, '--json'], { dataDir }))
  assert.equal(waiting.state, 'waiting_intervention')
  assert.deepEqual(waiting.intervention.approvals.map((a: { name: string }) => a.name), ['ann'])
  assert.equal(waiting.intervention.quorum, 2)

  // ann again does not count twice.
  const again = await se(['approve', id], { dataDir, env: ann.env })
  assert.notEqual(again.code, 0)
  assert.match(again.stderr, /ann has already approved step ship of workflow wf-[\w-]+ \(1\/2\); it needs another person/)
  assert.equal(json(await se(['status', id, '--json'], { dataDir })).state, 'waiting_intervention')

  // bob, a second distinct person of release: it completes, and the trail keeps both signed decisions.
  const second = await se(['approve', id], { dataDir, env: bob.env })
  assert.equal(second.code, 0, second.stderr)
  const done = await waitFor('completion', async () => { const s = json(await se(['status', id, '--json'], { dataDir })); return s.state === 'completed' ? s : undefined })
  assert.equal(done.steps[1].stdout.trim(), 'shipped')
  const trail = json<Array<{ entry: { event: string, message: string, decision: { decision: { name: string } } | null } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir }))
  const approval = trail.find(r => r.entry.event === 'intervention_approval')
  assert.match(approval?.entry.message ?? '', /SHIP step ship: approve by ann \(person [0-9a-f]{12}, signed\) 1\/2, needs 2 of release \(tests green\)/)
  assert.equal(approval?.entry.decision?.decision.name, 'ann')
  const resolved = trail.find(r => r.entry.event === 'intervention_resolved')
  assert.match(resolved?.entry.message ?? '', /approve by bob \(person [0-9a-f]{12}, signed\) \(2\/2: ann, bob\)/)
  assert.equal(resolved?.entry.decision?.decision.name, 'bob')
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
})

test('a reject by one approver ends a quorum at once', async t => {
  const dir = await tempDir(t)
  const dataDir = await tempDir(t, 'se-holder-')
  const env = { SE_PERSON_KEY: path.join(dir, 'ann.json'), USER: 'ann' }
  const ann = json(await se(['key', 'new', '--json'], { dataDir, env })).person as string
  await startNode(t, dataDir)
  await writeFile(path.join(dir, 'ship.yaml'), `name: SHIP\nsteps:\n  - { id: ship, intervention: { prompt: "Ship?", approvers: [${ann}, person:${'b'.repeat(64)}], quorum: 2 } }\n`)
  const id = json(await se(['execute', 'ship.yaml', '--json'], { dataDir, cwd: dir })).id as string
  await waitFor('the question', async () => json(await se(['status', id, '--json'], { dataDir })).state === 'waiting_intervention' || undefined)
  const rejected = await se(['reject', id, '--comment', 'not today'], { dataDir, env })
  assert.equal(rejected.code, 0, rejected.stderr)
  assert.equal(json(await se(['status', id, '--json'], { dataDir })).state, 'cancelled')
  // A quorum larger than the people named can never be reached: refused before it runs.
  await writeFile(path.join(dir, 'bad.yaml'), `name: BAD\nsteps:\n  - { id: ship, intervention: { prompt: "Ship?", approvers: [${ann}], quorum: 2 } }\n`)
  const bad = await se(['validate', 'bad.yaml'], { dataDir, cwd: dir })
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /steps\[0\]\.intervention\.quorum.*expected at most 1: approvers names only 1 person/)
  // Approvers this node cannot resolve (no policy, so no role release) would wait for ever: refused before it starts.
  await writeFile(path.join(dir, 'role.yaml'), 'name: ROLE\nsteps:\n  - { id: ship, intervention: { prompt: "Ship?", approvers: [release] } }\n')
  const role = await se(['execute', 'role.yaml'], { dataDir, cwd: dir })
  assert.equal(role.code, 2, role.stderr)
  assert.match(role.stderr, /steps\[0\]\.intervention\.approvers: 'release' is no role of a policy: this node has none/)
})

test('a person\'s signed cancel is checked against the policy and kept in the trail; unsigned, the local user still cancels', async t => {
  const dir = await tempDir(t)
  const dataDir = await tempDir(t, 'se-holder-')
  const person = async (name: string): Promise<Person> => await personKey(dir, dataDir, name)
  const [ann, carol] = [await person('ann'), await person('carol')]
  const policy = path.join(dir, 'policy.yaml')
  await writeFile(policy, `allow:\n  approve: [${ann.key}]\n  read: ['*']\n`)
  await startNode(t, dataDir, ['--policy', policy])
  await writeFile(path.join(dir, 'wait.yaml'), 'name: WAIT\nsteps:\n  - { id: ask, intervention: { prompt: "Go?" } }\n')
  const start = async (): Promise<string> => {
    const id = json(await se(['execute', 'wait.yaml', '--json'], { dataDir, cwd: dir })).id as string
    await waitFor('the question', async () => json(await se(['status', id, '--json'], { dataDir })).state === 'waiting_intervention' || undefined)
    return id
  }
  const id = await start()
  const byCarol = await se(['cancel', id, '--reason', 'wrong branch'], { dataDir, env: carol.env })
  assert.equal(byCarol.code, 5, byCarol.stderr)
  assert.match(byCarol.stderr, /person carol \([0-9a-f]{8}\) may not cancel workflows on this node: .*policy\.yaml:2 allow\.approve\[0\] allows approve to person [0-9a-f]{8}/)
  assert.equal(json(await se(['status', id, '--json'], { dataDir })).state, 'waiting_intervention')
  const kept = json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir }))
  assert.ok(kept.some(r => r.entry.event === 'action_refused' && /a cancel made on this node was refused: person carol/.test(r.entry.message)), 'the refusal is in the trail')
  const byAnn = await se(['cancel', id.slice(0, 12), '--reason', 'wrong branch'], { dataDir, env: ann.env })
  assert.equal(byAnn.code, 0, byAnn.stderr)
  assert.match(byAnn.stdout, /cancelled \(signed as person:[0-9a-f]{12}\)/)
  const trail = json<Array<{ entry: { event: string, message: string, decision: { decision: { name: string, choice: string } } | null } }>>(await se(['audit', '--workflow', id, '--json'], { dataDir }))
  const cancelled = trail.find(r => r.entry.event === 'workflow_cancelled')
  assert.match(cancelled?.entry.message ?? '', /wrong branch \(by ann \(person [0-9a-f]{12}, signed\)\)/)
  assert.deepEqual([cancelled?.entry.decision?.decision.name, cancelled?.entry.decision?.decision.choice], ['ann', 'cancel'])
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
  // The node's own user, with no key, on its own socket: as before.
  const other = await start()
  // A key named on purpose (SE_PERSON_KEY) that is not there is said, never silently left unsigned.
  const missing = await se(['cancel', other], { dataDir, env: { SE_PERSON_KEY: path.join(dir, 'gone.json') } })
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /no person key in .*gone\.json[\s\S]*se key new/)
  const local = await se(['cancel', other], { dataDir, env: { XDG_CONFIG_HOME: path.join(dir, 'no-config'), USER: 'owner' } })
  assert.equal(local.code, 0, local.stderr)
  assert.equal(json(await se(['status', other, '--json'], { dataDir })).state, 'cancelled')
  const unsigned = json<Array<{ entry: { event: string, message: string } }>>(await se(['audit', '--workflow', other, '--json'], { dataDir })).find(r => r.entry.event === 'workflow_cancelled')
  assert.match(unsigned?.entry.message ?? '', /cancelled by owner/, 'unsigned, it names the OS user')
})
