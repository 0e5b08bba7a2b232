// Engine selection and the WorkloadManager's logic, with MockEngine standing in
// for podman and the process engine: budgets, the queue, health, persistence.
import assert from 'node:assert/strict'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { NodeFileSystem } from '../adapters/node/fs.js'
import type { AuditInput } from '../core/audit/log.js'
import { SeError } from '../core/errors.js'
import type { DeployRequest, WorkloadEvent, WorkloadLogLine } from '../core/protocol/types.js'
import { WorkloadManager, type WorkloadManagerOptions } from '../core/workload/manager.js'
import { parseManifest, planWorkload } from '../core/workload/manifest.js'
import { MockEngine } from '../core/workload/mock-engine.js'
import { EngineSelector } from '../core/workload/select.js'
import type { WorkloadPlan } from '../core/workload/types.js'
import { defer, eventually, makeTempDir } from './helpers/tmp.js'

const MiB = 2 ** 20
const fs = new NodeFileSystem()
const crypto = new SodiumCrypto()
const clock = { now: () => Date.now() }

function podYaml (name: string, containers: string[] = ['app'], memory: string | null = null): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  containers:',
    ...containers.flatMap(c => [
      `    - name: ${c}`,
      `      image: localhost/${c}:1`,
      '      ports:',
      '        - containerPort: 8080',
      ...(memory === null ? [] : ['      resources:', '        limits:', `          memory: ${memory}`])
    ])
  ].join('\n') + '\n'
}

function request (manifest: string, extra: Partial<DeployRequest> = {}): DeployRequest {
  return { manifest, source: '/home/me/pod.yaml', replicas: null, memory: null, cpus: null, env: {}, engine: null, ...extra }
}

function somePlan (): WorkloadPlan {
  return planWorkload(parseManifest(podYaml('web'), 'web.yaml'), { id: 'web-0001', dir: '/tmp/web-0001' })
}

async function rejects (promise: Promise<unknown>, code: string): Promise<SeError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof SeError, `expected an SeError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected ${code}, nothing was thrown`)
}

interface Harness {
  manager: WorkloadManager
  mock: MockEngine
  audits: AuditInput[]
  events: WorkloadEvent[]
  warnings: string[]
  dataDir: string
}

/** A WorkloadManager over a MockEngine in a temporary data dir; the health timer is out of the way, tests call check(). */
async function harness (t: TestContext, opts: { dataDir?: string, mock?: MockEngine } & Partial<WorkloadManagerOptions> = {}): Promise<Harness> {
  const dataDir = opts.dataDir ?? await makeTempDir(t, 'se-workloads-')
  const mock = opts.mock ?? new MockEngine()
  const audits: AuditInput[] = []
  const events: WorkloadEvent[] = []
  const warnings: string[] = []
  const manager = new WorkloadManager({
    fs,
    clock,
    crypto,
    log: { info () {}, warn (m: string) { warnings.push(m) }, error () {} },
    engines: new EngineSelector([mock], 'mock', clock.now),
    dataDir,
    nodeId: 'ab'.repeat(32),
    nodeName: 'unit',
    memoryBudgetBytes: 2 ** 30,
    healthIntervalMs: 60_000,
    audit: async input => { audits.push(input) },
    ...opts
  })
  manager.onEvent(e => events.push(e))
  defer(t, () => manager.close())
  await manager.open()
  await manager.check()
  return { manager, mock, audits, events, warnings, dataDir }
}

const recordFiles = async (dataDir: string): Promise<string[]> => (await readdir(path.join(dataDir, 'workloads'))).filter(f => f.endsWith('.json'))

test('engine selection', async t => {
  const engines = (podman: boolean, process: boolean): [MockEngine, MockEngine] => [new MockEngine({ name: 'podman', available: podman }), new MockEngine({ name: 'process', available: process })]

  await t.test('the preferred engine when it is available', async () => {
    const [podman, process] = engines(true, true)
    const a = await new EngineSelector([podman, process], 'process', clock.now).choose(somePlan(), null)
    assert.equal(a.engine, process)
    assert.equal(a.note, null)
    const b = await new EngineSelector([podman, process], null, clock.now).choose(somePlan(), null)
    assert.equal(b.engine, podman, 'without a preference the best engine runs it')
    assert.equal(b.note, null)
  })

  await t.test('falls back to the next available engine with a note', async () => {
    const [podman, process] = engines(false, true)
    const { engine, note } = await new EngineSelector([podman, process], 'podman', clock.now).choose(somePlan(), null)
    assert.equal(engine, process)
    assert.match(note ?? '', /preferred engine podman is not available here, so process runs it/)
  })

  await t.test('falls back past a preferred engine whose check refuses the plan', async () => {
    const [podman, process] = engines(true, true)
    podman.problems = [{ path: 'spec.volumes[0]', message: 'nope' }]
    const { engine } = await new EngineSelector([podman, process], 'podman', clock.now).choose(somePlan(), null)
    assert.equal(engine, process)
  })

  await t.test('an explicitly requested engine must be available', async () => {
    const [podman, process] = engines(false, true)
    const err = await rejects(new EngineSelector([podman, process], 'process', clock.now).choose(somePlan(), 'podman'), 'NO_CONTAINER_ENGINE')
    assert.match(err.message, /engine podman is not available on this node: podman is switched off/)
    assert.equal(err.hint, 'turn podman on')
    const ok = await new EngineSelector([podman, process], 'podman', clock.now).choose(somePlan(), 'process')
    assert.equal(ok.engine, process)
    assert.equal(ok.note, null)
  })

  await t.test('an explicitly requested engine that refuses the plan is a validation error', async () => {
    const [podman] = engines(true, true)
    podman.problems = [{ path: 'spec.volumes[0]', message: 'configMap is not supported' }]
    const err = await rejects(new EngineSelector([podman], null, clock.now).choose(somePlan(), 'podman'), 'VALIDATION_FAILED')
    assert.deepEqual(err.details, podman.problems)
  })

  await t.test('no engine available: each engine\'s reason is listed', async () => {
    const [podman, process] = engines(false, false)
    const err = await rejects(new EngineSelector([podman, process], 'podman', clock.now).choose(somePlan(), null), 'NO_CONTAINER_ENGINE')
    assert.match(err.message, /no engine on this node can run web/)
    assert.deepEqual(err.details.map(d => d.message), ['podman: podman is switched off', 'process: process is switched off'])
    assert.equal(err.hint, 'turn podman on', 'the hint of the best engine')
  })

  await t.test('every engine refuses the plan: each problem is listed with its engine', async () => {
    const [podman, process] = engines(true, true)
    podman.problems = [{ path: 'spec.volumes[0]', line: 7, message: 'configMap is not supported' }]
    process.problems = [{ path: 'spec.containers[0].image', message: 'no such program' }]
    const err = await rejects(new EngineSelector([podman, process], null, clock.now).choose(somePlan(), null), 'NO_CONTAINER_ENGINE')
    assert.deepEqual(err.details, [
      { path: 'spec.volumes[0]', line: 7, message: 'podman: configMap is not supported' },
      { path: 'spec.containers[0].image', message: 'process: no such program' }
    ])
  })

  await t.test('an unknown requested engine is bad input', async () => {
    const [podman, process] = engines(true, true)
    const err = await rejects(new EngineSelector([podman, process], null, clock.now).choose(somePlan(), 'docker'), 'BAD_INPUT')
    assert.match(err.message, /unknown engine 'docker'/)
    assert.match(err.hint ?? '', /podman, process/)
  })

  await t.test('a missing engine is looked for again; an available one is cached', async () => {
    const [podman, process] = engines(false, true)
    const selector = new EngineSelector([podman, process], 'podman', clock.now)
    assert.equal((await selector.choose(somePlan(), null)).engine, process)
    podman.available = true
    assert.equal((await selector.choose(somePlan(), null)).engine, podman, 'podman installed since')
    podman.available = false
    assert.equal((await selector.choose(somePlan(), null)).engine, podman, 'availability is cached for a while')
  })
})

test('deploy: the rewritten plan runs, is audited and announced, and becomes running', async t => {
  const { manager, mock, audits, events, dataDir } = await harness(t)
  const status = await manager.deploy(request(podYaml('web', ['app', 'side']), { memory: '64m', cpus: 0.5, env: { MODE: 'test' } }))
  assert.match(status.id, /^web-[0-9a-f]{4}$/)
  assert.equal(status.name, 'web')
  assert.equal(status.engine, 'mock')
  assert.equal(status.node, 'ab'.repeat(32))
  assert.equal(status.nodeName, 'unit')
  assert.deepEqual(status.pods, ['web'])
  assert.equal(status.memoryLimitBytes, 2 * 64 * MiB)
  assert.equal(status.cpus, 1)
  assert.deepEqual(status.ports, ['8080/tcp', '8080/tcp'])
  await manager.check()
  assert.equal(manager.find(status.id).status.state, 'running')
  assert.equal(manager.list()[0]?.state, 'running')
  assert.equal(manager.count(), 1)
  assert.ok((manager.find(status.id).status.startedAt ?? 0) > 0)

  assert.equal(mock.deployed.length, 1)
  const plan = mock.deployed[0]!
  assert.equal(plan.id, status.id)
  assert.equal(plan.dir, path.join(dataDir, 'workloads', status.id))
  assert.equal(plan.memoryBytes, 2 * 64 * MiB)
  for (const c of plan.pods[0]!.containers) {
    assert.equal(c.memoryBytes, 64 * MiB, `${c.name}: --memory is applied`)
    assert.equal(c.cpus, 0.5)
    assert.deepEqual(c.env, { MODE: 'test' })
  }
  const doc = plan.pods[0]!.document as { metadata: { labels: Record<string, string> }, spec: { containers: Array<{ resources: { limits: Record<string, string> }, env: unknown }> } }
  assert.deepEqual(doc.spec.containers[0]!.resources.limits, { memory: String(64 * MiB), cpu: '500m' })
  assert.deepEqual(doc.spec.containers[0]!.env, [{ name: 'MODE', value: 'test' }])
  assert.equal(doc.metadata.labels['io.se-mesh.workload'], status.id)
  assert.equal(doc.metadata.labels['io.se-mesh.node'], 'ab'.repeat(8), 'the node label carries the node id')

  const auditEvents = audits.map(a => a.event)
  assert.deepEqual(auditEvents, ['workload_deployed', 'workload_started'])
  assert.deepEqual(audits[0]!.files, ['/home/me/pod.yaml'])
  assert.deepEqual(audits[0]!.domains, ['workload'])
  assert.match(audits[0]!.message, /web .* deployed on mock: 1 pod\(s\), 2 container\(s\), 128 MiB memory limit/)
  assert.deepEqual(events.map(e => e.event), ['accepted', 'deployed', 'started', 'health'], 'progress (accepted, the first health look) comes with the lasting events')
  assert.ok(events.every(e => e.workloadId === status.id && e.name === 'web'))
  assert.equal(events[2]!.state, 'running')

  const saved = JSON.parse(await readFile(path.join(dataDir, 'workloads', `${status.id}.json`), 'utf8')) as { status: { state: string } }
  assert.equal(saved.status.state, 'running', 'the record on disk follows the state')
})

test('deploy tells its caller its own progress: accepted (and what it waits for), deployed, the first health look', async t => {
  const { manager } = await harness(t)
  const seen: Record<string, string[]> = { web: [], api: [] }
  const [web, api] = await Promise.all([
    manager.deploy(request(podYaml('web')), e => seen.web!.push(`${e.workloadId} ${e.event} ${e.text}`)),
    manager.deploy(request(podYaml('api')), e => seen.api!.push(`${e.workloadId} ${e.event} ${e.text}`))
  ])
  assert.deepEqual(seen.web!.map(l => l.split(' ')[1]), ['accepted', 'deployed', 'started', 'health'])
  assert.ok(seen.web!.every(l => l.startsWith(`${web.id} `)), 'only its own workload')
  assert.ok(seen.api!.every(l => l.startsWith(`${api.id} `)))
  assert.match(seen.web![0]!, /Pod web accepted as web-[0-9a-f]{4}$/)
  assert.match(seen.api![0]!, /Pod api accepted as api-[0-9a-f]{4}; waiting for 1 other deploy or removal on this node to finish/)
  assert.match(seen.web![3]!, /first health look: running, 1 of 1 container running$/)
})

test('deploy: bad options are refused before anything happens', async t => {
  const { manager, mock } = await harness(t)
  await rejects(manager.deploy(request(podYaml('web'), { memory: 'lots' })), 'BAD_INPUT')
  await rejects(manager.deploy(request(podYaml('web'), { cpus: 0 })), 'BAD_INPUT')
  await rejects(manager.deploy(request(podYaml('web'), { replicas: 0 })), 'BAD_INPUT')
  await rejects(manager.deploy(request('kind: Service\n')), 'VALIDATION_FAILED')
  assert.deepEqual(manager.list(), [])
  assert.equal(mock.deployed.length, 0)
})

test('a failed deploy leaves nothing behind', async t => {
  const { manager, mock, audits, events, dataDir } = await harness(t)
  mock.failNext('deploy')
  const err = await rejects(manager.deploy(request(podYaml('web'))), 'DEPLOY_FAILED')
  assert.match(err.message, /mock deploy failed/)
  assert.deepEqual(manager.list(), [])
  assert.deepEqual(await recordFiles(dataDir), [])
  assert.deepEqual(await readdir(path.join(dataDir, 'workloads')), [], 'no workload directory either')
  assert.deepEqual(audits.map(a => a.event), ['workload_failed'])
  assert.match(audits[0]!.message, /failed to deploy on mock: mock deploy failed/)
  assert.deepEqual(events.map(e => e.event), ['accepted', 'failed'])
  // The name is free again.
  const again = await manager.deploy(request(podYaml('web')))
  assert.equal(manager.find(again.id).status.state, 'running')
})

test('memory budget', async t => {
  await t.test('a workload over the whole budget is refused, naming the budget', async t => {
    const { manager, mock, audits, dataDir } = await harness(t, { memoryBudgetBytes: 100 * MiB })
    const err = await rejects(manager.deploy(request(podYaml('big'), { memory: '200m' })), 'OVER_BUDGET')
    assert.match(err.message, /big needs 200 MiB of memory, but 0 B of this node's 100 MiB workload memory budget is taken/)
    assert.match(err.hint ?? '', /--memory/)
    assert.deepEqual(manager.list(), [])
    assert.deepEqual(await recordFiles(dataDir), [])
    assert.equal(mock.deployed.length, 0)
    assert.deepEqual(audits, [])
  })

  await t.test('the second of two 60m workloads is refused', async t => {
    const { manager, mock } = await harness(t, { memoryBudgetBytes: 100 * MiB })
    await manager.deploy(request(podYaml('one'), { memory: '60m' }))
    const err = await rejects(manager.deploy(request(podYaml('two'), { memory: '60m' })), 'OVER_BUDGET')
    assert.match(err.message, /60 MiB of this node's 100 MiB .* \(40 MiB left\)/)
    assert.deepEqual(manager.list().map(s => s.name), ['one'])
    assert.equal(mock.deployed.length, 1)
  })

  await t.test('limits from the manifest count, and concurrent deploys are counted one after the other', async t => {
    const { manager, mock } = await harness(t, { memoryBudgetBytes: 100 * MiB })
    mock.delay('deploy', 20)
    const results = await Promise.allSettled([
      manager.deploy(request(podYaml('one', ['app'], '60Mi'))),
      manager.deploy(request(podYaml('two', ['app'], '60Mi')))
    ])
    assert.equal(results[0].status, 'fulfilled')
    assert.equal(results[1].status, 'rejected')
    assert.equal(((results[1] as PromiseRejectedResult).reason as SeError).code, 'OVER_BUDGET')
    assert.equal(mock.deployed.length, 1)
  })

  await t.test('removing a workload gives its memory back', async t => {
    const { manager } = await harness(t, { memoryBudgetBytes: 100 * MiB })
    const one = await manager.deploy(request(podYaml('one'), { memory: '60m' }))
    await manager.remove(one.id)
    await manager.deploy(request(podYaml('two'), { memory: '60m' }))
  })
})

test('max workloads: the next deploy is queued and deploys when one is removed', async t => {
  const { manager, mock, audits, dataDir } = await harness(t, { maxWorkloads: 1 })
  const first = await manager.deploy(request(podYaml('first')))
  const second = await manager.deploy(request(podYaml('second')))
  assert.equal(second.state, 'queued')
  assert.match(second.reason ?? '', /1 of 1 workloads deployed on this node \(SE_MAX_WORKLOADS\)/)
  assert.equal(mock.deployed.length, 1, 'a queued workload is not deployed')
  assert.deepEqual(audits.map(a => a.event).filter(e => e === 'workload_queued'), ['workload_queued'])
  assert.ok((await recordFiles(dataDir)).includes(`${second.id}.json`), 'the queue is on disk')
  await rejects(manager.logs(second.id, false, 10, () => {}, () => {}), 'BAD_INPUT')

  const removed = await manager.remove(first.id)
  assert.equal(removed.state, 'removed')
  assert.deepEqual(mock.removed, [first.id])
  await eventually('the queued workload to run', async () => {
    await manager.check()
    return manager.find(second.id).status.state === 'running'
  }, 3000)
  assert.deepEqual(mock.deployed.map(p => p.id), [first.id, second.id])
  assert.throws(() => manager.find(first.id), (err: SeError) => err.code === 'UNKNOWN_WORKLOAD')
  assert.deepEqual(await recordFiles(dataDir), [`${second.id}.json`])
})

test('the queue moves on past a queued workload that fails to deploy', async t => {
  const { manager, mock, warnings } = await harness(t, { maxWorkloads: 1 })
  const first = await manager.deploy(request(podYaml('first')))
  const second = await manager.deploy(request(podYaml('second')))
  const third = await manager.deploy(request(podYaml('third')))
  mock.failNext('deploy')
  await manager.remove(first.id)
  await eventually('the failed queued workload to be dropped and reported', () => manager.list().every(s => s.id !== second.id) && warnings.some(w => w.includes(second.id)), 1000)
  await eventually('the next queued workload to run', async () => {
    await manager.check()
    return manager.list().find(s => s.id === third.id)?.state === 'running'
  }, 500)
})

test('queued workloads deploy when a reopened manager has free slots', async t => {
  const dataDir = await makeTempDir(t, 'se-workloads-')
  const mock = new MockEngine()
  const first = await harness(t, { dataDir, mock, maxWorkloads: 1 })
  await first.manager.deploy(request(podYaml('first')))
  const queued = await first.manager.deploy(request(podYaml('second')))
  assert.equal(queued.state, 'queued')
  await first.manager.close()
  const second = await harness(t, { dataDir, mock, maxWorkloads: 2 })
  await eventually('the queued workload to run', async () => {
    await second.manager.check()
    return second.manager.find(queued.id).status.state === 'running'
  }, 500)
})

test('the mesh is told which workload names this node provides', async t => {
  const provided: string[] = []
  const withdrawn: string[] = []
  const dataDir = await makeTempDir(t, 'se-workloads-')
  const mock = new MockEngine()
  const first = await harness(t, { dataDir, mock, provide: n => provided.push(n), withdraw: n => withdrawn.push(n) })
  const web = await first.manager.deploy(request(podYaml('web')))
  await first.manager.deploy(request(podYaml('api')))
  assert.deepEqual(provided, ['web', 'api'])
  await first.manager.remove(web.id)
  assert.deepEqual(withdrawn, ['web'])
  await first.manager.close()
  provided.length = 0
  await harness(t, { dataDir, mock, provide: n => provided.push(n) })
  assert.deepEqual(provided, ['api'], 'a reopened manager provides its active workloads again')
})

test('a queued workload is removed without asking the engine', async t => {
  const { manager, mock } = await harness(t, { maxWorkloads: 1 })
  await manager.deploy(request(podYaml('first')))
  const queued = await manager.deploy(request(podYaml('second')))
  await manager.remove(queued.id)
  assert.deepEqual(mock.removed, [])
  assert.deepEqual(manager.list().map(s => s.name), ['first'])
})

test('health', async t => {
  await t.test('a container exiting with an error fails the workload; a restart brings it back', async t => {
    const { manager, mock, audits, events } = await harness(t)
    const { id } = await manager.deploy(request(podYaml('web', ['app', 'side'])))
    await manager.check()
    audits.length = 0
    events.length = 0

    mock.exit(id, 'web/side', 1)
    await manager.check()
    const failed = manager.find(id).status
    assert.equal(failed.state, 'failed')
    assert.match(failed.reason ?? '', /web\/side exited with code 1/)
    assert.deepEqual(failed.containers.map(c => [c.name, c.state, c.exitCode]), [['app', 'running', null], ['side', 'exited', 1]])
    assert.deepEqual(audits.map(a => a.event), ['workload_failed'])
    assert.match(audits[0]!.message, /web\/side exited with code 1/)

    mock.restart(id, 'web/side')
    await manager.check()
    const back = manager.find(id).status
    assert.equal(back.state, 'running')
    assert.equal(back.reason, null)
    assert.equal(back.restarts, 1)
    assert.equal(back.containers.find(c => c.name === 'side')?.restarts, 1)
    assert.deepEqual(audits.map(a => a.event), ['workload_failed', 'workload_started'])

    // A restart seen while still running is counted as a restart.
    mock.restart(id, 'web/app')
    await manager.check()
    assert.equal(manager.find(id).status.restarts, 2)
    assert.deepEqual(events.map(e => e.event), ['failed', 'started', 'restarted'])
    assert.equal(audits.at(-1)?.event, 'workload_restarted')

    // Nothing changed: nothing is said.
    await manager.check()
    assert.equal(events.length, 3)
  })

  await t.test('containers the engine lost fail the workload', async t => {
    const { manager, mock, audits } = await harness(t)
    const { id } = await manager.deploy(request(podYaml('web')))
    mock.lose(id)
    await manager.check()
    const s = manager.find(id).status
    assert.equal(s.state, 'failed')
    assert.match(s.reason ?? '', /web\/app no longer exist/)
    assert.equal(audits.at(-1)?.event, 'workload_failed')
  })

  await t.test('every container exiting with 0 is exited, not failed', async t => {
    const { manager, mock, audits } = await harness(t)
    const { id } = await manager.deploy(request(podYaml('job')))
    mock.exit(id, 'job/app', 0)
    await manager.check()
    assert.equal(manager.find(id).status.state, 'exited')
    assert.equal(audits.at(-1)?.event, 'workload_exited')
  })

  await t.test('one look at the engine for all workloads; a failing look is a warning', async t => {
    const { manager, mock, warnings } = await harness(t)
    const a = await manager.deploy(request(podYaml('a')))
    const b = await manager.deploy(request(podYaml('b')))
    await manager.check()
    assert.deepEqual(mock.calls.filter(c => c.op === 'observe').at(-1)?.workloadIds.sort(), [a.id, b.id].sort())
    mock.failNext('observe')
    await manager.check()
    assert.ok(warnings.some(w => /workload health check: .*mock observe failed/.test(w)), warnings.join('\n'))
    assert.equal(manager.find(a.id).status.state, 'running', 'a failed look changes nothing')
  })
})

test('persistence', async t => {
  await t.test('a new manager on the same data dir finds the workloads and their state', async t => {
    const dataDir = await makeTempDir(t, 'se-workloads-')
    const first = await harness(t, { dataDir })
    const { id } = await first.manager.deploy(request(podYaml('web'), { memory: '64m' }))
    await first.manager.check()
    await first.manager.close()

    // The containers outlived the node: the new engine still runs them.
    const mock = new MockEngine()
    await mock.deploy(first.mock.deployed[0]!)
    const second = await harness(t, { dataDir, mock })
    const s = second.manager.find(id).status
    assert.equal(s.state, 'running')
    assert.equal(s.engine, 'mock')
    assert.equal(s.memoryLimitBytes, 64 * MiB)
    assert.deepEqual(second.warnings, [])
    assert.equal(second.manager.find(id).plan.pods[0]?.containers[0]?.memoryBytes, 64 * MiB, 'the plan is kept too')
    // It still counts against the budget and still holds its pod name.
    await rejects(second.manager.deploy(request(podYaml('web'))), 'BAD_INPUT')
    await second.manager.remove(id)
    assert.deepEqual(mock.removed, [id])
  })

  await t.test('a workload whose containers vanished while the node was down is failed', async t => {
    const dataDir = await makeTempDir(t, 'se-workloads-')
    const first = await harness(t, { dataDir })
    const { id } = await first.manager.deploy(request(podYaml('web')))
    await first.manager.close()
    const second = await harness(t, { dataDir })
    await second.manager.check()
    assert.equal(second.manager.find(id).status.state, 'failed')
    assert.match(second.manager.find(id).status.reason ?? '', /no longer exist/)
  })

  await t.test('an unreadable record is reported and left in place', async t => {
    const dataDir = await makeTempDir(t, 'se-workloads-')
    await fs.mkdirp(path.join(dataDir, 'workloads'))
    const bad = path.join(dataDir, 'workloads', 'x.json')
    const odd = path.join(dataDir, 'workloads', 'y.json')
    await writeFile(bad, '{ not json')
    await writeFile(odd, '{"status": {}}')
    const { manager, warnings } = await harness(t, { dataDir })
    assert.deepEqual(manager.list(), [])
    assert.equal(warnings.length, 2, warnings.join('\n'))
    assert.match(warnings[0]!, /workload file .*x\.json is unreadable and was left in place/)
    assert.match(warnings[1]!, /y\.json is unreadable .*not a workload record/)
    assert.equal(await readFile(bad, 'utf8'), '{ not json')
    assert.equal(await readFile(odd, 'utf8'), '{"status": {}}')
  })
})

test('find: by id, by name, by unique prefix', async t => {
  const { manager } = await harness(t)
  const alpha = await manager.deploy(request(podYaml('alpha')))
  const alps = await manager.deploy(request(podYaml('alps')))
  assert.equal(manager.find(alpha.id).status.id, alpha.id)
  assert.equal(manager.find('alpha').status.id, alpha.id)
  assert.equal(manager.find('alps').status.id, alps.id)
  assert.equal(manager.find(alpha.id.slice(0, -1)).status.id, alpha.id, 'a unique prefix of the id')
  assert.equal(manager.find('alph').status.id, alpha.id)
  const ambiguous = (() => { try { manager.find('al'); return null } catch (err) { return err as SeError } })()
  assert.equal(ambiguous?.code, 'BAD_INPUT')
  assert.match(ambiguous?.message ?? '', /'al' matches 2 workloads/)
  assert.throws(() => manager.find('beta'), (err: SeError) => err.code === 'UNKNOWN_WORKLOAD' && /'beta'/.test(err.message))
  await rejects(manager.remove('beta'), 'UNKNOWN_WORKLOAD')
})

test('deploying the same Pod twice is refused, naming the workload that has the name', async t => {
  const { manager, mock } = await harness(t)
  const first = await manager.deploy(request(podYaml('web')))
  const err = await rejects(manager.deploy(request(podYaml('web'))), 'BAD_INPUT')
  assert.match(err.message, new RegExp(`a pod named web already runs here as workload ${first.id}`))
  assert.match(err.hint ?? '', new RegExp(`se remove ${first.id}`))
  assert.equal(manager.list().length, 1)
  assert.equal(mock.deployed.length, 1)
})

test('logs and stats', async t => {
  const { manager, mock } = await harness(t)
  const { id } = await manager.deploy(request(podYaml('web', ['app', 'side'], '32Mi')))
  mock.log(id, 'web/app', 'one')
  mock.log(id, 'web/app', 'two')
  mock.log(id, 'web/side', 'oops', 'stderr')

  const lines: WorkloadLogLine[] = []
  let cancel: (() => void) | null = null
  assert.equal(await manager.logs('web', false, -1, l => lines.push(l), stop => { cancel = stop }), true)
  assert.equal(typeof cancel, 'function')
  assert.deepEqual(lines, [
    { workloadId: id, container: 'web/app', stream: 'stdout', text: 'one' },
    { workloadId: id, container: 'web/app', stream: 'stdout', text: 'two' },
    { workloadId: id, container: 'web/side', stream: 'stderr', text: 'oops' }
  ])
  const tail: WorkloadLogLine[] = []
  await manager.logs(id, false, 1, l => tail.push(l), () => {})
  assert.deepEqual(tail.map(l => l.text), ['two', 'oops'], 'tail counts per container')

  // A follow ends when cancelled.
  let stop: () => void = () => {}
  const following = manager.logs(id, true, 0, () => {}, s => { stop = s })
  stop()
  assert.equal(await following, true)

  const stats = await manager.stats(null)
  assert.deepEqual(stats.map(s => [s.workloadId, s.pod, s.name, s.memoryLimitBytes]), [[id, 'web', 'app', 32 * MiB], [id, 'web', 'side', 32 * MiB]])
  assert.deepEqual(await manager.stats('web'), stats)
})

test('a failed kube play names the first container\'s own reason, not only podman\'s summary, and hints at the fix', async t => {
  const dir = await makeTempDir(t, 'se-podman-fake-')
  // A stand-in podman that fails `kube play` the way a host without CAP_SYS_RESOURCE does, and lists nothing.
  const fake = path.join(dir, 'podman')
  await writeFile(fake, [
    '#!/bin/sh',
    'case "$1 $2" in',
    '  "kube play") echo "starting container 7c72: runc: runc create failed: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied" >&2',
    '    echo "starting container 2417: a dependency of container 2417 failed to start: container state improper" >&2',
    '    echo "Error: failed to start 2 containers" >&2; exit 125 ;;',
    '  *) echo "[]" ;;',
    'esac',
    ''
  ].join('\n'), { mode: 0o755 })
  const { PodmanEngine } = await import('../core/workload/podman-engine.js')
  const { ExecaProcessRunner } = await import('../adapters/node/process.js')
  const engine = new PodmanEngine({ processes: new ExecaProcessRunner(), fs: new NodeFileSystem(), command: fake })
  const plan = planWorkload(parseManifest('apiVersion: v1\nkind: Pod\nmetadata: { name: web }\nspec:\n  containers: [{ name: a, image: localhost/x:1 }]\n', 'web.yaml'), { id: 'web-0001', dir: path.join(dir, 'web-0001') })
  const err = await engine.deploy(plan).then(() => null, (e: SeError) => e)
  assert.equal(err?.code, 'DEPLOY_FAILED')
  assert.match(err?.message ?? '', /failed to start 2 containers: runc: runc create failed: .*error setting rlimit type 7: operation not permitted/)
  assert.match(err?.hint ?? '', /default_ulimits/)
})
