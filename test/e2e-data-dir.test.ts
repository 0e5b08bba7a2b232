// One node per data dir: a second `se node start` is refused, and a CLI call made
// while the data dir's node is starting (or restarting after kill -9) waits for it
// instead of starting a second node there.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import fsx from 'fs-native-extensions'
import { SE_BIN, json, jsonError, lines, se, startNode, startNodeProcess, tempDir, waitFor, type RunningNode } from './helpers/cli.js'
import { BARE_BIN, BARE_ENTRY } from './helpers/bare.js'
import { ended, killTree } from './helpers/process-tree.js'
import { defer } from './helpers/tmp.js'

test('a second node on a data dir is refused with the first one\'s pid, exit 2, and the first goes on', async t => {
  const dataDir = await tempDir(t)
  const first = await startNode(t, dataDir)
  const second = await execa(process.execPath, [SE_BIN, 'node', 'start', '--data-dir', dataDir], { reject: false, timeout: 30_000 })
  assert.equal(second.exitCode, 2)
  assert.match(second.stderr, new RegExp(`a node already runs on data dir ${dataDir} \\(pid ${first.proc.pid as number}\\)`))
  const status = await se(['status', '--json'], { dataDir })
  assert.equal(status.code, 0, 'the first node still answers')
  // A node that was killed leaves no lock behind: the OS drops it with the process.
  await first.crash()
  const again = await startNode(t, dataDir)
  assert.equal((await se(['audit', '--verify'], { dataDir })).code, 0)
  assert.equal(await again.stop(), 0)
})

test('the lock holds across runtimes: a Bare node is refused on a data dir a Node node runs, and the other way round', async t => {
  const dataDir = await tempDir(t)
  const nodeNode = await startNode(t, dataDir)
  const bare = await execa(BARE_BIN, [BARE_ENTRY, '--data-dir', dataDir], { reject: false, timeout: 30_000 })
  assert.equal(bare.exitCode, 2, bare.stderr)
  assert.match(bare.stderr, new RegExp(`a node already runs on data dir ${dataDir} \\(pid ${nodeNode.proc.pid as number}\\)`))
  assert.equal(await nodeNode.stop(), 0)
  const bareNode = await startNodeProcess(t, [BARE_BIN, BARE_ENTRY, '--data-dir', dataDir])
  const second = await execa(process.execPath, [SE_BIN, 'node', 'start', '--data-dir', dataDir], { reject: false, timeout: 30_000 })
  assert.equal(second.exitCode, 2, second.stderr)
  assert.match(second.stderr, new RegExp(`\\(pid ${bareNode.proc.pid as number}\\)`))
  assert.equal(await bareNode.stop(), 0)
})

test('a CLI call waits for a node that holds the data dir but does not answer yet, and never starts another beside it', async t => {
  const dataDir = await tempDir(t)
  const work = await tempDir(t, 'se-work-')
  const flow = path.join(work, 'one.yaml')
  await writeFile(flow, `name: ONE\nsteps:\n  - { id: a, run: { command: sh, args: [-c, "echo \\"$SE_WORKFLOW_ID\\" >> ${work}/ledger"] } }\n`)
  // This process plays a node that is starting: it holds the lock and serves nothing yet.
  fs.mkdirSync(dataDir, { recursive: true })
  const fd = fs.openSync(path.join(dataDir, 'node.lock'), 'a+')
  t.after(() => fs.closeSync(fd))
  assert.equal(fsx.tryLock(fd), true)
  fs.writeFileSync(fd, JSON.stringify({ pid: 4242, startedAt: Date.now(), runtime: 'test' }) + '\n')

  const began = Date.now()
  const status = await se(['status', '--json'], { dataDir, env: { SE_NODE_WAIT_MS: '1500' } })
  assert.equal(status.code, 4, status.stderr)
  assert.ok(Date.now() - began >= 1400, 'it waited')
  assert.match(status.stderr, /is starting: waiting up to 2 s/)
  const error = jsonError(status)
  assert.equal(error.code, 'NODE_STARTING')
  assert.match(error.message, /pid 4242/)

  const execute = await se(['execute', flow], { dataDir, env: { SE_NODE_WAIT_MS: '1000' } })
  assert.equal(execute.code, 4, execute.stderr)
  assert.doesNotMatch(execute.stderr, /embedded node/)
  assert.deepEqual(await lines(path.join(work, 'ledger')), [], 'nothing ran')

  // The lock is let go while a call waits: nobody runs the data dir now, so the call
  // brings its own node, and the workflow runs once.
  const waiting = execa(process.execPath, [SE_BIN, '--data-dir', dataDir, 'execute', flow, '--json'], { reject: false, timeout: 60_000 })
  let told = ''
  waiting.stderr?.on('data', (d: Buffer) => { told += d.toString() })
  await waitFor('the call to say it waits', async () => told.includes('is starting: waiting'))
  fsx.unlock(fd)
  const result = await waiting
  assert.equal(result.exitCode, 0, result.stderr)
  const r = { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr }
  assert.equal(json(r).state, 'completed')
  assert.deepEqual(await lines(path.join(work, 'ledger')), [json(r).id])
})

test('kill -9, then a restart raced by `se execute`: one node runs the data dir, nothing runs twice, the trail verifies', async t => {
  const dataDir = await tempDir(t)
  const work = await tempDir(t, 'se-work-')
  const flow = path.join(work, 'slow.yaml')
  // Not idempotent: after the crash it must fail into its onFailure, never run beside itself.
  await writeFile(flow, [
    'name: SLOW',
    'steps:',
    `  - { id: a, run: { command: sh, args: [-c, "echo \\"$SE_WORKFLOW_ID a\\" >> ${work}/ledger; sleep 1"] } }`,
    `  - { id: b, run: { command: sh, args: [-c, "echo \\"$SE_WORKFLOW_ID b\\" >> ${work}/ledger"] } }`
  ].join('\n') + '\n')
  let node: RunningNode | null = await startNode(t, dataDir)
  const outcomes: string[] = []
  for (let round = 0; round < 4; round++) {
    const id = json(await se(['execute', flow, '--json'], { dataDir })).id as string
    await waitFor('step a to start', async () => (await lines(path.join(work, 'ledger'))).includes(`${id} a`))
    await node.crash()
    // The restart and a CLI call on the data dir start together (in turn, each a head start).
    const restart = execa(process.execPath, [SE_BIN, 'node', 'start', '--data-dir', dataDir], { reject: false, detached: true, env: { SE_SHUTDOWN_GRACE_SEC: '2' } })
    defer(t, async () => { if (!ended(restart)) { killTree(restart.pid as number); await restart } })
    let restartLog = ''
    restart.stderr?.on('data', (d: Buffer) => { restartLog += d.toString() })
    const call = await se(['execute', flow, '--json'], { dataDir })
    assert.equal(call.code, 0, call.stderr)
    const second = json(call).id as string
    await waitFor('the restart to serve or be refused', async () => restartLog.includes('ready on') || ended(restart))
    if (ended(restart)) {
      // The call took the data dir first: the restart was refused, and nothing ran beside it.
      const refused = await restart
      assert.equal(refused.exitCode, 2, refused.stderr)
      assert.match(refused.stderr, /a node already runs on data dir/)
      outcomes.push('embedded')
      node = await startNode(t, dataDir)
    } else {
      outcomes.push('restarted')
      node = { proc: restart, stderr: () => '', crash: async () => { if (!ended(restart)) killTree(restart.pid as number); await restart }, stop: async () => { restart.kill('SIGTERM'); return (await restart).exitCode ?? -1 } }
    }
    await waitFor('both workflows to finish', async () => {
      const rows = json(await se(['status', '--json'], { dataDir })) as Array<{ id: string, state: string }>
      return [id, second].every(w => rows.some(r => r.id === w && ['completed', 'failed'].includes(r.state)))
    }).catch(async err => {
      throw new Error(`${(err as Error).message}: ${(await se(['status', '--json'], { dataDir })).stdout} ${outcomes.join(',')}`)
    })
    const ledger = await lines(path.join(work, 'ledger'))
    for (const w of [id, second]) {
      assert.ok(ledger.filter(l => l === `${w} a`).length <= 1, `step a of ${w} ran once at most: ${ledger.join(', ')}`)
    }
  }
  t.diagnostic(`who took the data dir after each crash: ${outcomes.join(', ')}`)
  const verify = await se(['audit', '--verify', '--json'], { dataDir })
  assert.equal(verify.code, 0, verify.stdout)
  assert.equal(await node.stop(), 0)
})
