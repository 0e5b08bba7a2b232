// The process engine on real host processes: deploy, observe, logs (with and
// without follow), restart policies, check(), spawn failures, stats, remove.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { SeError } from '../core/errors.js'
import type { Logger } from '../core/ports.js'
import { parseManifest, planWorkload } from '../core/workload/manifest.js'
import { ProcessEngine } from '../core/workload/process-engine.js'
import type { LogLine, WorkloadPlan } from '../core/workload/types.js'
import { defer, delay, eventually, makeTempDir } from './helpers/tmp.js'

const BACKOFF_MS = 50

interface ContainerSpec { name: string, command?: string[], script?: string, env?: Record<string, string>, workingDir?: string }

function podYaml (name: string, containers: ContainerSpec[], restartPolicy = 'Always'): string {
  const lines = ['apiVersion: v1', 'kind: Pod', `metadata:\n  name: ${name}`, 'spec:', `  restartPolicy: ${restartPolicy}`, '  containers:']
  for (const c of containers) {
    lines.push(`    - name: ${c.name}`, '      image: localhost/none:1')
    // JSON strings are valid YAML flow scalars, which spares quoting the scripts.
    const command = c.command ?? (c.script === undefined ? undefined : ['/bin/sh', '-c', c.script])
    if (command !== undefined) lines.push(`      command: ${JSON.stringify(command)}`)
    if (c.workingDir !== undefined) lines.push(`      workingDir: ${c.workingDir}`)
    if (c.env !== undefined) {
      lines.push('      env:')
      for (const [k, v] of Object.entries(c.env)) lines.push(`        - name: ${k}`, `          value: ${JSON.stringify(v)}`)
    }
  }
  return lines.join('\n') + '\n'
}

let seq = 0
function plan (dir: string, yaml: string): WorkloadPlan {
  const id = `w${++seq}`
  return planWorkload(parseManifest(yaml, '/src/pod.yaml'), { id, dir: path.join(dir, id) })
}

interface Setup { engine: ProcessEngine, dir: string, warnings: string[] }

async function setup (t: TestContext, restartBackoffMs = BACKOFF_MS): Promise<Setup> {
  const dir = await makeTempDir(t, 'se-process-engine-')
  const warnings: string[] = []
  const log: Logger = { info: () => {}, warn: m => warnings.push(m), error: m => warnings.push(m) }
  return { engine: new ProcessEngine(nodeRuntime(log), { restartBackoffMs }), dir, warnings }
}

/** Deploys and makes sure nothing of it outlives the test, pass or fail. */
async function deploy (t: TestContext, s: Setup, p: WorkloadPlan): Promise<void> {
  defer(t, () => s.engine.remove(p))
  await s.engine.deploy(p)
}

async function collect (s: Setup, p: WorkloadPlan, tail = -1): Promise<LogLine[]> {
  const lines: LogLine[] = []
  await s.engine.logs(p, { follow: false, tail }, l => lines.push(l)).done
  return lines
}

async function observed (s: Setup, p: WorkloadPlan): Promise<Map<string, { state: string, exitCode: number | null, restarts: number, startedAt: number | null }>> {
  const seen = (await s.engine.observe([p])).get(p.id) ?? []
  return new Map(seen.map(c => [`${c.pod}/${c.name}`, c]))
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('deploys two containers that run, with their output in logs and files', async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('web', [
    { name: 'a', script: 'echo "hello $GREETING"; pwd; echo oops >&2; printf par; sleep 0.1; printf "tial\\n"; exec sleep 30', env: { GREETING: 'world' } },
    { name: 'b', script: 'echo one; echo two; exec sleep 30' }
  ]))
  await deploy(t, s, p)
  const seen = await observed(s, p)
  assert.equal(seen.get('web/a')?.state, 'running')
  assert.equal(seen.get('web/b')?.state, 'running')
  assert.equal(seen.get('web/a')?.restarts, 0)
  assert.equal(typeof seen.get('web/a')?.startedAt, 'number')

  const lines = await eventually('all output', async () => {
    const got = await collect(s, p)
    return got.length === 6 && got
  })
  assert.deepEqual(lines.filter(l => l.container === 'web/a').map(l => [l.stream, l.text]).sort(), [
    ['stderr', 'oops'], ['stdout', 'hello world'], ['stdout', 'partial'], ['stdout', p.dir]
  ].sort())
  assert.deepEqual(lines.filter(l => l.container === 'web/b').map(l => l.text), ['one', 'two'])
  assert.deepEqual((await collect(s, p, 1)).filter(l => l.container === 'web/b').map(l => l.text), ['two'])
  assert.deepEqual(await collect(s, p, 0), [])
  assert.equal(await readFile(path.join(p.dir, 'web-b.log'), 'utf8'), 'one\ntwo\n')
})

test('logs with follow sends lines printed later until stopped, and ends on remove', async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('tick', [{ name: 'c', script: 'echo first; sleep 0.4; echo later; exec sleep 30' }]))
  await deploy(t, s, p)
  await eventually('the first line', async () => (await collect(s, p)).length === 1)
  const got: string[] = []
  const follow = s.engine.logs(p, { follow: true, tail: 10 }, l => got.push(l.text))
  await eventually('the later line', () => got.includes('later'))
  assert.deepEqual(got, ['first', 'later'])
  follow.stop()
  await follow.done

  const second = s.engine.logs(p, { follow: true, tail: 0 }, () => {})
  await s.engine.remove(p)
  await second.done
})

test('OnFailure restarts a failing container and leaves a finished one exited', async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('flaky', [{ name: 'bad', script: 'echo run; exit 1' }, { name: 'good', script: 'exit 0' }], 'OnFailure'))
  await deploy(t, s, p)
  const bad = await eventually('a restart', async () => {
    const c = (await observed(s, p)).get('flaky/bad')
    return c !== undefined && c.restarts >= 1 && c
  })
  assert.ok(bad.restarts >= 1)
  const good = (await observed(s, p)).get('flaky/good')
  assert.equal(good?.state, 'exited')
  assert.equal(good?.exitCode, 0)
  assert.equal(good?.restarts, 0)
  assert.ok((await collect(s, p)).filter(l => l.text === 'run').length >= 2, 'each run logs its line')
  assert.ok(s.warnings.some(w => /flaky\/bad exited with code 1; restarting/.test(w)), s.warnings.join('\n'))

  await s.engine.remove(p)
  const after = (await observed(s, p)).get('flaky/bad')
  await delay(BACKOFF_MS * 4)
  assert.deepEqual((await observed(s, p)).get('flaky/bad'), after, 'nothing restarts after remove')
  assert.equal(after?.state, 'missing')
})

test('Never leaves a container exited with its exit code', async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('once', [{ name: 'c', script: 'exit 3' }], 'Never'))
  await deploy(t, s, p)
  await eventually('the exit', async () => (await observed(s, p)).get('once/c')?.state === 'exited')
  await delay(BACKOFF_MS * 4)
  const c = (await observed(s, p)).get('once/c')
  assert.equal(c?.state, 'exited')
  assert.equal(c?.exitCode, 3)
  assert.equal(c?.restarts, 0)
})

test('check() names every container without a command, by its place in the manifest', async t => {
  const s = await setup(t)
  const pod = plan(s.dir, podYaml('mixed', [{ name: 'ok', script: 'true' }, { name: 'image-only' }]))
  const details = s.engine.check(pod)
  assert.equal(details.length, 1)
  assert.equal(details[0]?.file, '/src/pod.yaml')
  assert.equal(details[0]?.path, 'spec.containers[1].command')
  assert.match(details[0]?.message ?? '', /cannot use the image's entrypoint: give a command \(or install podman\)/)

  const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: dep
spec:
  replicas: 3
  selector:
    matchLabels:
      app: dep
  template:
    metadata:
      labels:
        app: dep
    spec:
      containers:
        - name: app
          image: localhost/none:1
`
  const d = planWorkload(parseManifest(deployment, '/src/dep.yaml'), { id: 'dep1', dir: path.join(s.dir, 'dep1') })
  assert.equal(d.pods.length, 3)
  assert.deepEqual(s.engine.check(d).map(x => x.path), ['spec.template.spec.containers[0].command'])
  assert.deepEqual(s.engine.check(plan(s.dir, podYaml('fine', [{ name: 'c', script: 'true' }]))), [])
})

test('a command that cannot start fails the deploy and leaves nothing running', async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('broken', [
    { name: 'fine', script: 'echo $$ > fine.pid; exec sleep 30' },
    { name: 'gone', command: ['/definitely/not/here-se', '--flag'] }
  ]))
  defer(t, () => s.engine.remove(p))
  await assert.rejects(s.engine.deploy(p), (err: unknown) => {
    assert.ok(err instanceof SeError)
    assert.equal(err.code, 'DEPLOY_FAILED')
    assert.match(err.message, /broken\/gone could not start: .*here-se/)
    return true
  })
  const seen = await observed(s, p)
  assert.deepEqual([...seen.values()].map(c => c.state), ['missing', 'missing'])
  // The healthy container may not have got as far as writing its pid before it was killed.
  const pid = await readFile(path.join(p.dir, 'fine.pid'), 'utf8').then(Number, () => null)
  if (pid !== null) assert.equal(alive(pid), false, `process ${pid} of the fine container survived`)

  const badDir = plan(s.dir, podYaml('nowhere', [{ name: 'c', script: 'true', workingDir: '/definitely/not/a-dir-se' }]))
  await assert.rejects(s.engine.deploy(badDir), /DEPLOY_FAILED: .*working directory/)
})

test('stats reads the memory and CPU of running processes', { skip: process.platform !== 'linux' && 'needs /proc' }, async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('idle', [{ name: 'c', script: 'exec sleep 30' }, { name: 'done', script: 'exit 0' }], 'OnFailure'))
  await deploy(t, s, p)
  await eventually('the short one to exit', async () => (await observed(s, p)).get('idle/done')?.state === 'exited')
  for (let i = 0; i < 2; i++) {
    const usage = await s.engine.stats([p])
    assert.equal(usage.length, 1, 'only the running container')
    const u = usage[0]
    assert.equal(u?.workloadId, p.id)
    assert.equal(u?.name, 'c')
    assert.ok((u?.memoryBytes ?? 0) > 0)
    assert.ok((u?.cpuPercent ?? -1) >= 0)
    assert.equal(u?.memoryLimitBytes, null)
    assert.equal(u?.pids, 1)
    await delay(20)
  }
})

test('remove ends every process, stops logs, and is harmless when repeated', async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('pair', [{ name: 'a', script: 'echo $$; exec sleep 30' }, { name: 'b', script: 'echo $$; exec sleep 30' }]))
  await deploy(t, s, p)
  const pids = await eventually('both pids', async () => {
    const got = (await collect(s, p)).map(l => Number(l.text))
    return got.length === 2 && got
  })
  assert.ok(pids.every(alive))
  const started = Date.now()
  await s.engine.remove(p)
  assert.ok(Date.now() - started < 3000, 'SIGTERM was enough')
  assert.deepEqual(pids.map(alive), [false, false])
  assert.deepEqual([...(await observed(s, p)).values()].map(c => c.state), ['missing', 'missing'])
  assert.deepEqual(await collect(s, p), [])
  await s.engine.remove(p)
  assert.deepEqual(await s.engine.stats([p]), [])
})

test('remove also ends what a shell container started, since it runs in a process group of its own', async t => {
  const s = await setup(t)
  const p = plan(s.dir, podYaml('shells', [{ name: 'sh', script: 'sleep 30 & echo child $!; sleep 30; echo never' }]))
  await deploy(t, s, p)
  const line = await eventually('the child pid', async () => (await collect(s, p)).find(l => l.text.startsWith('child ')))
  const child = Number(line.text.split(' ')[1])
  assert.ok(alive(child))
  const started = Date.now()
  await s.engine.remove(p)
  assert.ok(Date.now() - started < 3000, `remove took ${Date.now() - started} ms`)
  await eventually('the background child to be gone', () => !alive(child), 2000)
  assert.deepEqual(s.warnings, [])
})
