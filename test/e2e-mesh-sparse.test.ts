// A mesh larger than a node's neighbourhood: most pairs of members hold no connection.
// Work still reaches any member (a connection opened for it), and a person answers a
// question held by a member their own node is not linked to: gossip said it holds one.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, se, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, nodesOf, waitForStates, type MeshNodeProc } from './helpers/mesh.js'

test('five nodes keeping two neighbours each: a question held by an unlinked member is answered, and a routed step reaches one', async t => {
  const bootstrap = await localBootstrap(t)
  const names = ['n1', 'n2', 'n3', 'n4', 'n5']
  const nodes = await Promise.all(names.map(async (n, i) => await meshNode(t, bootstrap, n, { extra: ['--neighbours', '2'], tags: [`only-${i + 1}`] })))
  for (const n of nodes) await waitForStates(n, nodes.filter(o => o !== n), 'up', 40_000)
  // Two links at most each: of the ten pairs, at least five hold no connection once the neighbourhoods settle.
  const unlinked = await waitFor('a pair of members with no connection between them', async () => {
    for (const asker of nodes) {
      const rows = await nodesOf(asker)
      const holder = nodes.find(h => h !== asker && rows.find(r => r.nodeId === h.key)?.link === null)
      if (holder !== undefined) return { asker, holder }
    }
    return undefined
  }, 20_000) as { asker: MeshNodeProc, holder: MeshNodeProc }
  const { asker, holder } = unlinked
  const rows = await nodesOf(asker)
  assert.ok(rows.filter(r => r.link === 'neighbour').length <= 2, `${asker.name} keeps at most two neighbours`)

  const dir = await tempDir(t, 'se-sparse-')
  await writeFile(path.join(dir, 'ask.yaml'), 'name: ASK\nsteps:\n  - { id: ask, intervention: { prompt: "go?", choices: [approve, reject] } }\n  - { id: done, run: { command: "true" } }\n')
  const started = await se(['execute', 'ask.yaml', '--json'], { dataDir: holder.dataDir, cwd: dir })
  const id = json(started).id as string
  // The holder tells the mesh it holds a question; the asker, not linked to it, connects to answer.
  let last = ''
  await waitFor(`${asker.name} to answer ${holder.name}'s question`, async () => {
    const r = await se(['approve', id, '--json'], { dataDir: asker.dataDir })
    last = `exit ${r.code}: ${r.stderr}`
    return r.code === 0
  }, 20_000).catch(async (err: Error) => {
    // Why, in the failure: the last answer's error, what the asker knows of the holder, and both nodes' warnings.
    const row = (await nodesOf(asker)).find(r => r.nodeId === holder.key)
    const warnings = (n: MeshNodeProc): string => n.proc.stderr().split('\n').filter(l => !/ info /.test(l)).slice(-15).join('\n')
    throw new Error(`${err.message}\nlast: ${last}\n${asker.name} sees ${holder.name}: ${JSON.stringify(row)}\n${asker.name}:\n${warnings(asker)}\n${holder.name}:\n${warnings(holder)}`)
  })
  await waitFor('the workflow to complete on its holder', async () => json(await se(['status', id, '--json'], { dataDir: holder.dataDir })).state === 'completed')

  // A step needing what only the holder has, asked for at the asker: routed over a connection opened for it.
  const i = nodes.indexOf(holder) + 1
  await writeFile(path.join(dir, 'only.yaml'), `name: ONLY\nrequires: { capabilities: [only-${i}] }\nsteps:\n  - { id: where, run: { command: sh, args: [-c, "echo on $SE_NODE_ID"] } }\n`)
  const run = await se(['execute', 'only.yaml', '--wait', '--json'], { dataDir: asker.dataDir, cwd: dir })
  assert.equal(run.code, 0, run.stderr)
  assert.equal(json(run).steps[0].node, holder.key)
})
