// A node as a service: `se node start --detach` returns once the node is ready,
// with its pid and log in the data dir; `se node status` says what runs there;
// a second start is refused naming the pid; `se node stop` ends it gracefully.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, jsonError, se, startNode, tempDir } from './helpers/cli.js'
import { killTree, runsWith } from './helpers/process-tree.js'
import { defer } from './helpers/tmp.js'

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

test('se node start --detach, status, a second start refused with the pid, stop', async t => {
  const dataDir = await tempDir(t)
  const env = { SE_SHUTDOWN_GRACE_SEC: '2' }
  const none = await se(['node', 'status', '--json'], { dataDir })
  assert.equal(none.code, 4)
  assert.equal(json(none).running, false)

  const started = await se(['node', 'start', '--detach', '--name', 'svc'], { dataDir, env })
  assert.equal(started.code, 0, started.stderr)
  const logFile = path.join(dataDir, 'node.log')
  assert.match(started.stderr, new RegExp(`node svc \\(pid \\d+\\) ready on .*; log: ${logFile}`))
  const pid = Number((await readFile(path.join(dataDir, 'node.pid'), 'utf8')).trim())
  // Registered at once: a failing assertion must not leave the node running.
  defer(t, () => { if (runsWith(pid, dataDir)) killTree(pid) })
  assert.ok(alive(pid), 'the node runs after the command returned')
  assert.match(await readFile(logFile, 'utf8'), /ready on/)

  const status = await se(['node', 'status', '--json'], { dataDir })
  assert.equal(status.code, 0, status.stderr)
  const s = json(status)
  assert.equal(s.running, true)
  assert.equal(s.ready, true)
  assert.equal(s.pid, pid)
  assert.equal(s.name, 'svc')
  assert.equal(s.mesh, null)
  assert.equal(s.version, s.cliVersion)
  assert.ok(s.uptimeMs >= 0)
  const text = await se(['node', 'status'], { dataDir })
  assert.match(text.stdout, new RegExp(`pid +${pid}`))
  assert.match(text.stdout, /uptime +\d+s/)

  for (const again of [['node', 'start', '--detach'], ['node', 'start']]) {
    const r = await se([...again, '--json'], { dataDir })
    assert.equal(r.code, 2, `${again.join(' ')}: ${r.stderr}`)
    const err = jsonError(r)
    assert.equal(err.code, 'NODE_RUNNING')
    assert.match(err.message, new RegExp(`pid ${pid}`))
  }

  const version = json(await se(['version', '--json'], { dataDir }))
  assert.equal(version.node.pid, pid)
  assert.equal(version.node.version, version.cli)

  const stopped = await se(['node', 'stop'], { dataDir })
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.match(stopped.stderr, new RegExp(`node stopped \\(pid ${pid}`))
  assert.equal(runsWith(pid, dataDir), false, 'stop returns once the process has ended')
  assert.equal(existsSync(path.join(dataDir, 'node.pid')), false)
  assert.match(await readFile(logFile, 'utf8'), /SIGTERM: stopping[\s\S]*node stopped/)
  assert.equal((await se(['node', 'status'], { dataDir })).code, 4)
  const again = await se(['node', 'stop'], { dataDir })
  assert.equal(again.code, 0)
  assert.match(again.stderr, /no node is running/)
})

test('se node stop stops a node started in a terminal too, and gives it its grace', async t => {
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir)
  const stopped = await se(['node', 'stop', '--json'], { dataDir })
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.equal(json(stopped).pid, node.proc.pid)
  assert.equal((await node.proc).exitCode, 0)
  assert.match(node.stderr(), /node stopped/)
})

test('se node start --detach reports a node that fails to start, with the end of its log', async t => {
  const dataDir = await tempDir(t)
  // A port this test holds: the node cannot listen there and ends.
  const net = await import('node:net')
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  defer(t, () => new Promise(resolve => server.close(resolve)))
  const port = (server.address() as { port: number }).port
  const r = await se(['node', 'start', '--detach', '--http', `127.0.0.1:${port}`], { dataDir })
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, new RegExp(`the node ended before it was ready \\(exit 2\\); the end of ${path.join(dataDir, 'node.log')}`))
  assert.match(r.stderr, /already in use/)
  assert.equal((await se(['node', 'status'], { dataDir })).code, 4)
})
