// The edge device's least-privilege policy (examples/policies/edge.yaml, issue 17) on a
// real Bare node in a loopback mesh with Node members: a step a dispatcher routes to
// it runs; another member's is refused before it runs, naming the rule; no member's
// approval, unsigned or signed, answers a question the device holds, while its owner on
// the device's socket still can. A policy with a mistake stops the Bare node with the
// error a Node node gives, wherever the policy comes from; without a policy file the
// Bare node does not load the YAML parser at all.
import assert from 'node:assert/strict'
import { execa } from 'execa'
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, REPO, se, startNodeProcess, tempDir, waitFor, withClient } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates, type MeshNodeProc } from './helpers/mesh.js'
import { BARE_BIN, BARE_ENTRY, bareMeshNode, bareReady } from './helpers/bare.js'

const EXAMPLE = path.join(REPO, 'examples', 'policies', 'edge.yaml')
/** The example's first placeholder key, which a real device's owner replaces with a dispatcher's. */
const PLACEHOLDER = 'a'.repeat(64)

type Trail = Array<{ entry: { event: string, message: string, workflowId: string | null, sourceNodeId: string } }>

async function statusOf (n: MeshNodeProc, id: string): Promise<any> {
  return json(await se(['status', id, '--json'], { dataDir: n.dataDir }))
}

async function trailOf (n: MeshNodeProc, ...args: string[]): Promise<Trail> {
  return json<Trail>(await se(['audit', ...args, '--json'], { dataDir: n.dataDir }))
}

test('a Bare node under the example edge policy runs a dispatcher\'s step, refuses another member\'s before it runs, and takes no member\'s approval', async t => {
  const skip = await bareReady()
  if (skip !== null) { t.skip(skip); return }
  const dir = await tempDir(t)
  const checked = await se(['policy', 'check', EXAMPLE], { dataDir: dir })
  assert.equal(checked.code, 0, checked.stderr)

  const bootstrap = await localBootstrap(t)
  const [dispatcher, other] = await Promise.all([meshNode(t, bootstrap, 'dispatcher'), meshNode(t, bootstrap, 'other')])
  // The example as its owner would use it: one placeholder replaced by the dispatcher's key, the other left.
  const example = await readFile(EXAMPLE, 'utf8')
  assert.ok(example.includes(PLACEHOLDER), 'the example has the placeholder this test replaces')
  const policy = path.join(dir, 'edge.yaml')
  await writeFile(policy, example.replace(PLACEHOLDER, dispatcher.key))
  const edge = await bareMeshNode(t, bootstrap, 'edge', { tags: ['gpio'], extra: ['--policy', policy] })
  await Promise.all([waitForStates(dispatcher, [edge], 'up'), waitForStates(other, [edge], 'up'), waitForStates(edge, [dispatcher, other], 'up')])
  // Each member is told what the edge's policy lets it do there, as from a Node node's: se nodes shows it before anything is refused.
  const allowsOn = async (n: MeshNodeProc): Promise<string[]> => await waitFor(`${n.name} to hear the edge's policy`, async () =>
    json<Array<{ nodeId: string, allows: string[] | null }>>(await se(['nodes', '--json'], { dataDir: n.dataDir })).find(r => r.nodeId === edge.key && r.allows !== null)?.allows ?? undefined)
  assert.deepEqual(await allowsOn(dispatcher), ['run', 'read'])
  assert.deepEqual(await allowsOn(other), [])

  // Only the edge has gpio, so the step is routed there from whichever member runs it.
  const marker = path.join(dir, 'ran.txt')
  await writeFile(path.join(dir, 'sense.yaml'), [
    'name: SENSE',
    'requires: { capabilities: [gpio] }',
    'steps:',
    `  - { id: read, run: { command: sh, args: [-c, "echo ran >> ${marker}; echo read on $SE_NODE_ID"] } }`,
    ''
  ].join('\n'))
  const ran = json(await se(['execute', 'sense.yaml', '--wait', '--json'], { dataDir: dispatcher.dataDir, cwd: dir }))
  assert.equal(ran.state, 'completed', JSON.stringify(ran.steps[0]))
  assert.equal(ran.steps[0].node, edge.key)
  assert.match(ran.steps[0].stdout, new RegExp(`read on ${edge.key}`))
  assert.equal(await readFile(marker, 'utf8'), 'ran\n')

  const refused = json(await se(['execute', 'sense.yaml', '--wait', '--json'], { dataDir: other.dataDir, cwd: dir }))
  assert.equal(refused.state, 'failed')
  assert.match(refused.steps[0].error, /NOT_ALLOWED: other \([0-9a-f]{8}\) may not run steps on edge: .*edge\.yaml:\d+ allow\.run\[0\] allows run to role dispatchers/)
  assert.equal(await readFile(marker, 'utf8'), 'ran\n', 'nothing ran for the other member')
  const onEdge = await trailOf(edge)
  assert.ok(onEdge.some(r => r.entry.event === 'action_refused' && r.entry.workflowId === refused.id && /other \([0-9a-f]{8}\) may not run steps on edge/.test(r.entry.message)), 'the edge keeps the refusal in its own trail')
  const onOther = await trailOf(other, '--workflow', refused.id)
  assert.ok(!onOther.some(r => r.entry.sourceNodeId === edge.key && r.entry.event.startsWith('step_exec_')), 'the edge started nothing for it')

  // A question the edge holds: its dispatchers see it (read), the other member does not.
  await writeFile(path.join(dir, 'flash.yaml'), 'name: FLASH\nsteps:\n  - { id: gate, intervention: { prompt: "Flash the firmware?" } }\n  - { id: flash, run: { command: sh, args: [-c, "echo flashed"] } }\n')
  const held = json(await se(['execute', 'flash.yaml', '--json'], { dataDir: edge.dataDir, cwd: dir })).id as string
  await waitFor('the edge\'s question', async () => (await statusOf(edge, held)).state === 'waiting_intervention')
  const seenBy = async (n: MeshNodeProc): Promise<boolean> => await withClient(n.dataDir, async c => (await c.api.listInterventions()).some(w => w.id === held))
  assert.equal(await seenBy(dispatcher), true, 'a dispatcher reads the edge\'s workflows')
  assert.equal(await seenBy(other), false, 'another member does not')
  // It knows as much from the edge's allows, so it does not ask: no refusal to keep, refresh after refresh.
  assert.ok(!(await trailOf(edge)).some(r => r.entry.event === 'action_refused' && /may not list the workflows on edge/.test(r.entry.message)))

  // The edge approves nothing for the mesh: not a dispatcher's unsigned approve, nor a person's signed one.
  const unsigned = await se(['approve', held], { dataDir: dispatcher.dataDir })
  assert.equal(unsigned.code, 5, unsigned.stderr)
  assert.match(unsigned.stderr, /dispatcher \([0-9a-f]{8}\) may not answer interventions on edge: .*edge\.yaml allows approve to nobody/)
  const ann = { SE_PERSON_KEY: path.join(dir, 'ann.json'), USER: 'ann' }
  assert.equal((await se(['key', 'new', '--json'], { dataDir: dispatcher.dataDir, env: ann })).code, 0)
  const signed = await se(['approve', held], { dataDir: dispatcher.dataDir, env: ann })
  assert.equal(signed.code, 5, signed.stderr)
  assert.match(signed.stderr, /person ann \([0-9a-f]{8}\) may not answer interventions on this node: .*edge\.yaml allows approve to nobody/)
  assert.equal((await statusOf(edge, held)).state, 'waiting_intervention', 'still waiting: nothing half done')

  // Its owner, on the device's own socket, is no mesh member: the question is answered there.
  const byOwner = await se(['approve', held, '--comment', 'on the device'], { dataDir: edge.dataDir })
  assert.equal(byOwner.code, 0, byOwner.stderr)
  const done = await waitFor('the held workflow to finish', async () => { const s = await statusOf(edge, held); return ['completed', 'failed', 'cancelled'].includes(s.state) ? s : undefined })
  assert.equal(done.state, 'completed', done.error ?? '')
  assert.equal(done.steps[1].stdout.trim(), 'flashed')
  assert.equal((await se(['audit', '--verify'], { dataDir: edge.dataDir })).code, 0)
})

test('a policy with a mistake stops the Bare node with the error a Node node gives, from --policy, SE_POLICY or the data dir; without one YAML is not loaded', async t => {
  const skip = await bareReady()
  if (skip !== null) { t.skip(skip); return }
  const dir = await tempDir(t)
  const bad = path.join(dir, 'bad.yaml')
  await writeFile(bad, 'roles:\n  dispatchers: []\nallow:\n  run: [dispatchers]\n  aprove: [dispatchers]\n')
  // Both runtimes started alike on data dirs of their own; what they print is compared with the data dir named alike.
  const startBoth = async (args: string[], env: Record<string, string>, policyInDataDir = false): Promise<{ bare: { code: number, stderr: string }, node: { code: number, stderr: string } }> => {
    const [bareDir, nodeDir] = await Promise.all([tempDir(t, 'se-bare-'), tempDir(t, 'se-node-')])
    if (policyInDataDir) await Promise.all([copyFile(bad, path.join(bareDir, 'policy.yaml')), copyFile(bad, path.join(nodeDir, 'policy.yaml'))])
    const [onBare, onNode] = await Promise.all([
      execa(BARE_BIN, [BARE_ENTRY, '--data-dir', bareDir, ...args], { env, reject: false, timeout: 60_000 }),
      se(['node', 'start', ...args], { dataDir: nodeDir, env })
    ])
    return {
      bare: { code: onBare.exitCode ?? -1, stderr: onBare.stderr.replaceAll(bareDir, 'DATA_DIR') },
      node: { code: onNode.code, stderr: onNode.stderr.replaceAll(nodeDir, 'DATA_DIR') }
    }
  }
  const cases: Array<[string, string[], Record<string, string>, boolean, RegExp]> = [
    ['--policy', ['--policy', bad], {}, false, /^error: policy .*bad\.yaml is invalid \(1 problem\)\n {2}.*bad\.yaml:5 allow\.aprove: unknown action 'aprove'/],
    ['SE_POLICY', [], { SE_POLICY: path.join(dir, 'none.yaml') }, false, /^error: no policy file .*none\.yaml\nhint: give --policy \(or SE_POLICY\) a file that exists/],
    ['the data dir', [], {}, true, /^error: policy DATA_DIR\/policy\.yaml is invalid \(1 problem\)\n {2}DATA_DIR\/policy\.yaml:5 allow\.aprove/]
  ]
  for (const [from, args, env, inDataDir, expected] of cases) {
    const { bare, node } = await startBoth(args, env, inDataDir)
    assert.equal(node.code, 2, `Node, policy from ${from}: ${node.stderr}`)
    assert.match(node.stderr, expected, `Node, policy from ${from}`)
    assert.equal(bare.code, node.code, `Bare, policy from ${from}: ${bare.stderr}`)
    assert.equal(bare.stderr.trim(), node.stderr.trim(), `Bare, policy from ${from}: the same error as Node's`)
  }

  // The YAML parser is a file of its own that loads on first use (bare/build.mjs): a node at rest without a policy never reads it.
  const dataDir = await tempDir(t, 'se-bare-')
  const loadedWith = async (name: string): Promise<string[]> => {
    const report = path.join(dir, `${name}.json`)
    const node = await startNodeProcess(t, [BARE_BIN, BARE_ENTRY, '--data-dir', dataDir], { SE_BARE_MODULE_REPORT: report })
    assert.equal(await node.stop(), 0, node.stderr())
    return JSON.parse(await readFile(report, 'utf8')) as string[]
  }
  const yaml = (loaded: string[]): boolean => loaded.some(u => u.endsWith('/dist/bare/lazy/yaml.cjs'))
  assert.equal(yaml(await loadedWith('without')), false, 'no policy: yaml is not loaded')
  await copyFile(EXAMPLE, path.join(dataDir, 'policy.yaml'))
  assert.equal(yaml(await loadedWith('with')), true, 'the data dir\'s policy.yaml was read with yaml, inside the Bare bundle')
})
