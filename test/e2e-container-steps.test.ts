// Container steps of workflows on real podman: the workspace is bind-mounted,
// output and exit code come back like a process step's, and a node without
// podman routes such a workflow to a mesh member that has it.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, jsonError, se, tempDir, waitFor } from './helpers/cli.js'
import { localBootstrap, meshNode, waitForStates } from './helpers/mesh.js'
import { TEST_IMAGE, podmanReady, removePodsOf } from './helpers/podman.js'

const skip = await podmanReady()
const opts = { skip: skip ?? false }

const WORKFLOW = `name: CONTAINER_STEPS
steps:
  - id: inside
    run:
      image: ${TEST_IMAGE}
      command: /bin/sh
      args: ["-c", "cat input.txt; pwd; echo \${workflow.name} > result.txt; echo limited=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"]
      memory: 64m
      env: { GREETING: hello }
  - id: exits
    run:
      image: ${TEST_IMAGE}
      command: /bin/sh
      args: ["-c", "echo $GREETING-missing; echo going down >&2; exit 3"]
`

test('a container step sees the bind-mounted workspace, and its output and exit code come back', opts, async t => {
  const data = await tempDir(t)
  const work = await tempDir(t, 'se-work-')
  await writeFile(path.join(work, 'input.txt'), 'from the host\n')
  await writeFile(path.join(work, 'steps.yaml'), WORKFLOW)
  const r = await se(['execute', 'steps.yaml', '--wait', '--json'], { dataDir: data, cwd: work })
  assert.equal(r.code, 1, r.stderr)
  const s = json(r)
  assert.equal(s.state, 'failed')
  const [inside, exits] = s.steps
  assert.equal(inside.state, 'completed')
  assert.equal(inside.exitCode, 0)
  assert.match(inside.stdout, /^from the host\n\/workspace\n/)
  assert.match(inside.stdout, new RegExp(`limited=${64 * 2 ** 20}`))
  assert.equal(await readFile(path.join(work, 'result.txt'), 'utf8'), 'CONTAINER_STEPS\n', 'the container wrote into the workspace')
  assert.equal(exits.state, 'failed')
  assert.equal(exits.exitCode, 3)
  assert.match(exits.error, /exit code 3: going down/)
  assert.match(exits.stdout, /^-missing/, 'env is per step')
  const audit = (await se(['audit'], { dataDir: data })).stdout
  assert.match(audit, new RegExp(`step_start.*inside.*\\[${TEST_IMAGE.replaceAll('.', '\\.')}\\] /bin/sh`))
})

test('a node without podman routes a container workflow to a member that has it', opts, async t => {
  const bootstrap = await localBootstrap(t)
  const [plain, runner] = await Promise.all([
    meshNode(t, bootstrap, 'plain', { env: { SE_TOOLS: 'sh' } }),
    meshNode(t, bootstrap, 'runner')
  ])
  const caps = json(await se(['capabilities', '--json'], { dataDir: plain.dataDir }))
  assert.ok(!caps.engines.includes('podman'), 'the plain node does not advertise podman')
  await waitForStates(plain, [runner], 'up')
  const work = await tempDir(t, 'se-work-')
  await writeFile(path.join(work, 'one.yaml'), `name: ROUTED_CONTAINER
steps:
  - id: inside
    run: { image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "echo ran on $SE_NODE_ID; exit 0"] }
`)
  const r = await se(['execute', 'one.yaml', '--wait', '--json'], { dataDir: plain.dataDir, cwd: work })
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const s = json(r)
  assert.equal(s.steps[0].node, runner.key)
  assert.match(s.steps[0].stdout, new RegExp(`ran on ${runner.key}`))
  const trail = (await se(['audit'], { dataDir: plain.dataDir })).stdout
  assert.match(trail, /step_start: ROUTED_CONTAINER step inside \(attempt 1\) on runner/)
  assert.match(trail, /step_exec_complete/)
  assert.equal((await se(['audit', '--verify'], { dataDir: plain.dataDir })).code, 0)

  // Alone, the plain node says what is missing instead of starting it.
  const alone = await tempDir(t)
  const refused = await se(['execute', 'one.yaml', '--wait', '--json'], { dataDir: alone, cwd: work, env: { SE_TOOLS: 'sh' } })
  assert.equal(refused.code, 2)
  assert.match(jsonError(refused).message, /capability 'podman' for step inside/)
})

test('a deployed manifest is announced on the DHT by the node that runs it, and withdrawn on removal', opts, async t => {
  const bootstrap = await localBootstrap(t)
  const [asker, host] = await Promise.all([meshNode(t, bootstrap, 'asker'), meshNode(t, bootstrap, 'host')])
  await waitForStates(asker, [host], 'up')
  t.after(() => removePodsOf(host.key))
  const manifest = path.join(host.dataDir, 'announced.yaml')
  await writeFile(manifest, `apiVersion: v1
kind: Pod
metadata: { name: announced }
spec:
  containers:
    - { name: main, image: ${TEST_IMAGE}, command: ["/bin/sleep", "600"] }
`)
  const deployed = json(await se(['deploy', manifest, '--json'], { dataDir: host.dataDir }))
  const found = await waitFor('the provider record', async () => {
    const r = await se(['providers', 'announced', '--json'], { dataDir: asker.dataDir })
    const list = r.code === 0 ? json(r) : []
    return list.some((p: any) => p.nodeId === host.key) ? list : undefined
  }, 20_000)
  assert.equal(found.find((p: any) => p.nodeId === host.key).name, 'host')
  assert.equal((await se(['remove', deployed.id], { dataDir: host.dataDir })).code, 0)
  const mine = await se(['providers', 'announced', '--json'], { dataDir: host.dataDir })
  assert.equal(mine.code, 1, 'the host no longer lists itself')
  await waitFor('the record to be gone from the DHT', async () => {
    const r = await se(['providers', 'announced', '--json'], { dataDir: asker.dataDir })
    return r.code === 1 || undefined
  }, 20_000)
})
