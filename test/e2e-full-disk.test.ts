// The data dir on a small tmpfs, filled by a workflow's own output until writes fail,
// then freed: nothing is reported done that is not on disk, new work is refused with
// NO_SPACE, the workflow goes on by itself once there is room, the trail verifies,
// outcomes survive a kill -9, and no temp file is left behind.
import assert from 'node:assert/strict'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { json, jsonError, se, startNode, tempDir, waitFor } from './helpers/cli.js'
import { defer } from './helpers/tmp.js'

const isRoot = process.getuid?.() === 0

async function smallDisk (t: Parameters<typeof tempDir>[0], size: string): Promise<string> {
  const dir = await tempDir(t, 'se-tmpfs-')
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  defer(t, () => execa('umount', ['-l', dir]).catch(() => {}))
  return dir
}

async function tempFiles (dataDir: string): Promise<string[]> {
  const out: string[] = []
  for (const sub of ['', 'workflows', 'audit', 'sessions']) {
    const names = await readdir(path.join(dataDir, sub)).catch(() => [] as string[])
    out.push(...names.filter(n => n.endsWith('.tmp')).map(n => path.join(sub, n)))
  }
  return out
}

test('a full disk: refused with NO_SPACE, nothing reported that is not on disk, recovery by itself, the trail verifies', { skip: isRoot ? false : 'mounting a tmpfs needs root' }, async t => {
  const disk = await smallDisk(t, '3m')
  const dataDir = path.join(disk, 'data')
  await mkdir(dataDir)
  const work = await tempDir(t, 'se-work-')
  // The first step fills the disk the data dir is on (and succeeds); the next ones need it to record anything.
  await writeFile(path.join(work, 'fill.yaml'), [
    'name: FILL',
    'steps:',
    `  - { id: fill, run: { command: sh, args: [-c, 'head -c 4000000 /dev/zero > "${disk}/filler"; echo filled'] } }`,
    '  - { id: after, run: { command: echo, args: [after] } }',
    '  - { id: last, run: { command: echo, args: [last] } }'
  ].join('\n') + '\n')
  await writeFile(path.join(work, 'small.yaml'), 'name: SMALL\nsteps:\n  - { id: one, run: { command: "true" } }\n')
  let node = await startNode(t, dataDir)
  const before = json(await se(['execute', path.join(work, 'small.yaml'), '--json', '--wait'], { dataDir }))
  assert.equal(before.state, 'completed')

  const filling = json(await se(['execute', path.join(work, 'fill.yaml'), '--json'], { dataDir })).id as string
  await waitFor('the node to say it cannot write', async () => node.stderr().includes('NO_SPACE'))
  assert.match(node.stderr(), new RegExp(`no space left for the data dir ${path.join(dataDir, '')}`))

  // New work is refused, with a coded error naming the data dir and what is free, and its own exit code.
  const refused = await se(['execute', path.join(work, 'small.yaml'), '--json'], { dataDir })
  assert.equal(refused.code, 6, refused.stdout + refused.stderr)
  const error = jsonError(refused)
  assert.equal(error.code, 'NO_SPACE')
  assert.match(error.message, new RegExp(`${dataDir}.*\\(\\d+(\\.\\d)? (B|KiB) free\\)`))
  // What is shown is what is on disk: the filling step's completion is not, so it is not shown.
  const shown = json(await se(['status', filling, '--json'], { dataDir }))
  assert.notEqual(shown.state, 'completed')
  assert.notEqual(shown.steps[1].state, 'completed')
  assert.deepEqual(await tempFiles(dataDir), [], 'failed writes leave no temp file')
  assert.equal((await se(['status', '--json'], { dataDir })).code, 0, 'the node still answers')

  // Room again: the workflow goes on by itself.
  await rm(path.join(disk, 'filler'))
  const done = await waitFor('the filling workflow to complete', async () => {
    const s = json(await se(['status', filling, '--json'], { dataDir }))
    return s.state === 'completed' ? s : undefined
  })
  assert.deepEqual(done.steps.map((s: { state: string }) => s.state), ['completed', 'completed', 'completed'])
  assert.match(node.stderr(), /can be written again/)
  t.diagnostic(node.stderr().split('\n').filter(l => / (warn|error|info) /.test(l)).join('\n'))
  const verify = await se(['audit', '--verify', '--json'], { dataDir })
  assert.equal(verify.code, 0, verify.stdout)
  assert.equal(json(await se(['execute', path.join(work, 'small.yaml'), '--json', '--wait'], { dataDir })).state, 'completed', 'new work is taken again')

  // No workflow changes its reported outcome across a kill -9 and a restart.
  const outcomes = async (): Promise<Record<string, string>> => Object.fromEntries((json(await se(['status', '--json'], { dataDir })) as Array<{ id: string, state: string }>).map(w => [w.id, w.state]))
  const reported = await outcomes()
  await node.crash()
  node = await startNode(t, dataDir)
  assert.deepEqual(await outcomes(), reported)
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
  assert.deepEqual(await tempFiles(dataDir), [])
  assert.equal(await node.stop(), 0)
})
