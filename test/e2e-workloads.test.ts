// Workloads on real podman through the real `se` CLI and node: deploy a Pod,
// watch it, read its logs and stats, remove it; bad manifests, bad images and
// over-budget requests leave nothing behind.
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { execa } from 'execa'
import { SE_BIN, json, jsonError, se, startNode, tempDir, waitFor } from './helpers/cli.js'
import { TEST_IMAGE, inspect, podmanReady, podsOf, removePodsOf } from './helpers/podman.js'

const skip = await podmanReady()
if (skip !== null) console.log(`# skipping podman tests: ${skip}`)
const opts = { skip: skip ?? false }

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    }).on('error', reject)
  })
}

function webPod (name: string, port: number): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:
  containers:
    - name: server
      image: ${TEST_IMAGE}
      command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/etc"]
      ports:
        - containerPort: 8080
          hostPort: ${port}
      resources:
        limits:
          memory: 64Mi
          cpu: 500m
    - name: ticker
      image: ${TEST_IMAGE}
      command: ["/bin/sh", "-c", "echo started; while true; do echo tick; sleep 1; done"]
`
}

/** A node with its own data dir; every pod it made is removed when the test ends. */
async function workloadNode (t: TestContext, extra: string[] = []): Promise<{ dir: string, nodeId: string }> {
  const dir = await tempDir(t)
  await startNode(t, dir, ['--name', 'wl', ...extra], { SE_HEALTH_MS: '300' })
  const caps = json(await se(['capabilities', '--json'], { dataDir: dir }))
  t.after(() => removePodsOf(caps.nodeId))
  return { dir, nodeId: caps.nodeId }
}

test('a Pod with two containers, a memory limit and a port: deploy, status, logs, stats, remove', opts, async t => {
  const { dir, nodeId } = await workloadNode(t)
  const port = await freePort()
  const manifest = path.join(dir, 'web.yaml')
  await writeFile(manifest, webPod('web', port))

  const deployed = await se(['deploy', manifest, '--json'], { dataDir: dir })
  assert.equal(deployed.code, 0, deployed.stderr)
  const s = json(deployed)
  assert.equal(s.engine, 'podman')
  assert.deepEqual(s.pods, ['web'])
  assert.deepEqual(s.ports, [`${port}->8080/tcp`])
  assert.equal(s.memoryLimitBytes, 64 * 2 ** 20)

  const running = await waitFor('web running', async () => {
    const list = json(await se(['workloads', '--json'], { dataDir: dir }))
    return list[0]?.state === 'running' ? list[0] : undefined
  })
  assert.equal(running.id, s.id)
  assert.deepEqual(running.containers.map((c: any) => `${c.name}:${c.state}`).sort(), ['server:running', 'ticker:running'])
  const table = await se(['workloads'], { dataDir: dir })
  assert.match(table.stdout, new RegExp(`${s.id}\\s+web\\.yaml\\s+podman\\s+wl\\s+running\\s+1\\s+${port}->8080/tcp`))

  // The limit is podman's, not ours: it is in the container's own configuration.
  const server = await inspect('web-server')
  assert.equal(server.HostConfig.Memory, 64 * 2 ** 20)
  assert.equal(server.HostConfig.NanoCpus, 500_000_000)

  const page = await fetch(`http://127.0.0.1:${port}/hostname`)
  assert.equal(page.status, 200)
  assert.equal((await page.text()).trim(), 'web')

  const logs = await waitFor('ticks in the logs', async () => {
    const r = await se(['logs', s.id, '--tail', '5'], { dataDir: dir })
    return r.stdout.includes('web/ticker │ tick') ? r : undefined
  })
  assert.equal(logs.code, 0)
  // -f keeps printing until interrupted.
  const follow = execa(process.execPath, [SE_BIN, '--data-dir', dir, 'logs', s.id, '-f', '--tail', '0'], { reject: false })
  t.after(() => { follow.kill('SIGKILL') })
  let followed = ''
  follow.stdout?.on('data', (d: Buffer) => { followed += d.toString() })
  // The follower starts a CLI and `podman logs -f`: on a loaded 2-core machine that alone has taken most of 10 s.
  await waitFor('two new ticks while following', async () => (followed.match(/web\/ticker │ tick/g) ?? []).length >= 2 || undefined, 30_000)
  follow.kill('SIGINT')
  await follow

  const stats = json(await se(['stats', '--json'], { dataDir: dir }))
  const serverStats = stats.find((c: any) => c.name === 'server')
  assert.equal(serverStats.workloadId, s.id)
  assert.equal(serverStats.memoryLimitBytes, 64 * 2 ** 20)
  assert.ok(serverStats.memoryBytes > 0)
  assert.ok(stats.find((c: any) => c.name === 'ticker').memoryLimitBytes === null)
  assert.match((await se(['stats'], { dataDir: dir })).stdout, /web\/server\s+\S+%\s+.*64 MiB/)

  const removed = await se(['remove', 'web', '--json'], { dataDir: dir })
  assert.equal(removed.code, 0, removed.stderr)
  assert.equal(json(removed).state, 'removed')
  assert.deepEqual(await podsOf(nodeId), [])
  assert.deepEqual(json(await se(['workloads', '--json'], { dataDir: dir })), [])
  assert.deepEqual((await readdir(path.join(dir, 'workloads'))), [])

  const audit = (await se(['audit'], { dataDir: dir })).stdout
  for (const event of ['workload_deployed', 'workload_started', 'workload_removed']) assert.match(audit, new RegExp(event))
  assert.equal((await se(['audit', '--verify'], { dataDir: dir })).code, 0)
})

test('se deploy shows its progress; --wait waits until it runs; --timeout stops the waiting, never the deploy', opts, async t => {
  // podman as the node finds it on PATH, with `kube play` made slow, as a pull on a slow link would be.
  const bin = await tempDir(t)
  const real = (await execa('sh', ['-c', 'command -v podman'])).stdout.trim()
  await writeFile(path.join(bin, 'podman'), `#!/bin/sh\nif [ "$1 $2" = "kube play" ]; then sleep 4; fi\nexec ${real} "$@"\n`, { mode: 0o755 })
  const dir = await tempDir(t)
  await startNode(t, dir, ['--name', 'slow'], { SE_HEALTH_MS: '300', PATH: `${bin}:${process.env.PATH ?? ''}` })
  const nodeId = json(await se(['capabilities', '--json'], { dataDir: dir })).nodeId as string
  t.after(() => removePodsOf(nodeId))
  const pod = (name: string): string => webPod(name, 1).replace(/\n +ports:\n.*\n.*hostPort: 1/, '')

  await writeFile(path.join(dir, 'slow.yaml'), pod('slow'))
  const waited = await se(['deploy', path.join(dir, 'slow.yaml'), '--wait'], { dataDir: dir })
  assert.equal(waited.code, 0, waited.stderr)
  const lines = waited.stderr.split('\n')
  const phases = lines.map(l => l.split(/\s+/)[1]).filter(p => p !== undefined && p !== '')
  for (const phase of ['accepted', 'pull', 'create', 'start', 'deployed', 'health']) assert.ok(phases.includes(phase), `progress shows ${phase}:\n${waited.stderr}`)
  assert.ok(phases.indexOf('pull') < phases.indexOf('create') && phases.indexOf('create') < phases.indexOf('health'), waited.stderr)
  assert.match(waited.stderr, new RegExp(`slow-[0-9a-f]{4}  pull +${TEST_IMAGE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is on this node`))
  assert.match(waited.stderr, /health +first health look: (running|starting), \d of 2 containers running/)
  assert.match(waited.stdout, /slow-[0-9a-f]{4}: running on podman/, '--wait ends when every container runs')

  await writeFile(path.join(dir, 'late.yaml'), pod('late'))
  const started = Date.now()
  const late = await se(['deploy', path.join(dir, 'late.yaml'), '--timeout', '1', '--json'], { dataDir: dir })
  assert.equal(late.code, 3, late.stderr)
  assert.ok(Date.now() - started < 4000 + 3000, 'the CLI stopped waiting before kube play ended')
  assert.match(late.stderr, /stopped waiting after 1 s; late-[0-9a-f]{4} goes on deploying on the node/)
  assert.doesNotMatch(late.stderr, /timed out/i, 'no timeout is reported for work that goes on')
  assert.equal(json(late).state, 'deploying')
  const running = await waitFor('late running after the CLI left', async () => {
    const list = json<Array<{ name: string, state: string }>>(await se(['workloads', '--json'], { dataDir: dir }))
    return list.find(w => w.name === 'late' && w.state === 'running')
  })
  assert.equal(running.state, 'running')
})

test('a bad manifest, a bad image and an over-budget request each give a clear error and leave nothing behind', opts, async t => {
  const { dir, nodeId } = await workloadNode(t, ['--memory-budget', '100m'])
  const write = async (name: string, text: string): Promise<string> => { const f = path.join(dir, name); await writeFile(f, text); return f }

  const invalid = await se(['deploy', await write('bad.yaml', webPod('bad', 1).replace('containerPort: 8080', 'containerPort: 99999').replace(`image: ${TEST_IMAGE}\n      command: ["/bin/sh"`, 'image: "Not An Image!"\n      command: ["/bin/sh"'))], { dataDir: dir })
  assert.equal(invalid.code, 2)
  assert.match(invalid.stderr, /bad\.yaml:\d+ spec\.containers\[0\]\.ports\[0\]\.containerPort: expected a port number 1-65535, got 99999/)
  assert.match(invalid.stderr, /spec\.containers\[1\]\.image: 'Not An Image!' is not a valid image reference/)

  const yaml = await se(['deploy', await write('broken.yaml', 'kind: Pod\nmetadata: [\n')], { dataDir: dir })
  assert.equal(yaml.code, 2)
  assert.match(yaml.stderr, /broken\.yaml:\d+.*not valid YAML/)

  const missing = await se(['deploy', await write('missing.yaml', webPod('ghost', 1).replaceAll(TEST_IMAGE, 'localhost/se-no-such-image:1').replace(/\n +ports:\n.*\n.*hostPort: 1/, '')), '--json'], { dataDir: dir })
  assert.equal(missing.code, 1)
  const err = jsonError(missing)
  assert.equal(err.code, 'DEPLOY_FAILED')
  assert.match(err.message, /podman kube play of ghost failed/)
  assert.match(err.hint ?? '', /localhost\/se-no-such-image:1/)

  const over = await se(['deploy', await write('big.yaml', webPod('big', 1).replace(/\n +ports:\n.*\n.*hostPort: 1/, '')), '--memory', '200m'], { dataDir: dir })
  assert.equal(over.code, 2)
  assert.match(over.stderr, /big needs 400 MiB of memory, but 0 B of this node's 100 MiB workload memory budget is taken/)
  assert.match(over.stderr, /SE_MEMORY_BUDGET/)

  assert.deepEqual(await podsOf(nodeId), [])
  assert.deepEqual(json(await se(['workloads', '--json'], { dataDir: dir })), [])
  assert.deepEqual(await readdir(path.join(dir, 'workloads')), [])
  assert.match((await se(['audit'], { dataDir: dir })).stdout, /workload_failed.*ghost/)
})

test('replicas and a Deployment become uniquely named pods with the limits rewritten in; the concurrency limit queues', opts, async t => {
  const { dir, nodeId } = await workloadNode(t, ['--max-workloads', '1'])
  const deployment = path.join(dir, 'worker.yaml')
  await writeFile(deployment, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 2
  selector:
    matchLabels: { app: worker }
  template:
    metadata:
      labels: { app: worker }
    spec:
      containers:
        - name: main
          image: ${TEST_IMAGE}
          command: ["/bin/sh", "-c", "echo MODE=$MODE; sleep 600"]
`)
  const first = json(await se(['deploy', deployment, '--replicas', '3', '--cpus', '0.25', '--memory', '32m', '--env', 'MODE=prod', '--json'], { dataDir: dir }))
  assert.deepEqual(first.pods, ['worker-1', 'worker-2', 'worker-3'])
  assert.deepEqual((await podsOf(nodeId)).sort(), ['worker-1', 'worker-2', 'worker-3'])
  const c = await inspect('worker-2-main')
  assert.equal(c.HostConfig.Memory, 32 * 2 ** 20)
  assert.equal(c.HostConfig.NanoCpus, 250_000_000)
  assert.ok(c.Config.Env.includes('MODE=prod'))
  await waitFor('MODE in the logs', async () => (await se(['logs', 'worker'], { dataDir: dir })).stdout.includes('worker-3/main │ MODE=prod') || undefined)

  const pod = path.join(dir, 'solo.yaml')
  await writeFile(pod, webPod('solo', 1).replace(/\n +ports:\n.*\n.*hostPort: 1/, ''))
  const queued = json(await se(['deploy', pod, '--json'], { dataDir: dir }))
  assert.equal(queued.state, 'queued')
  assert.match(queued.reason, /1 of 1 workloads deployed on this node \(SE_MAX_WORKLOADS\)/)
  assert.match((await se(['workloads'], { dataDir: dir })).stdout, /solo-\w+\s+solo\.yaml\s+-\s+wl\s+queued/)

  assert.equal((await se(['remove', first.id], { dataDir: dir })).code, 0)
  await waitFor('the queued workload to run', async () => {
    const list = json(await se(['workloads', '--json'], { dataDir: dir }))
    return list.length === 1 && list[0].state === 'running' ? true : undefined
  })
  assert.deepEqual(await podsOf(nodeId), ['solo'])
})
