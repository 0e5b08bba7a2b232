// How `se deploy --wait/--timeout` waits, against a node API stand-in (the logic only;
// test/e2e-workloads.test.ts does it with real podman): it never hangs on a stream with
// nothing more to say, settles on removal, stops on a lost node, and --timeout ends the
// waiting with the workload's id and state while the deploy goes on.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deployAndWait } from '../adapters/node/cli/workloads.js'
import { SeError } from '../core/errors.js'
import type { DeployRequest, NodeApi, WorkloadEvent, WorkloadStatus } from '../core/protocol/types.js'

const request = { manifest: '', source: 'web.yaml', replicas: null, memory: null, cpus: null, env: {}, engine: null } as DeployRequest
const status = (state: string): WorkloadStatus => ({ id: 'web-1a2b', name: 'web', state, reason: null } as unknown as WorkloadStatus)
const event = (e: string, state: string): WorkloadEvent => ({ workloadId: 'web-1a2b', name: 'web', event: e, state, text: `${e} text`, at: 0 })

function api (o: { deployed: Promise<WorkloadStatus>, listed: () => WorkloadStatus[], watch?: (on: (e: WorkloadEvent) => boolean | void) => Promise<boolean> }): NodeApi {
  return {
    deployWorkloadWatch: async (_r: DeployRequest, on: (e: WorkloadEvent) => boolean | void) => { on(event('accepted', 'deploying')); return await o.deployed },
    listWorkloads: async () => o.listed(),
    watchWorkloads: o.watch ?? (async () => await new Promise<boolean>(() => {}))
  } as unknown as NodeApi
}

test('--wait ends when the workload runs, even if the stream has nothing more to say', async () => {
  const seen: string[] = []
  const out = await deployAndWait(api({ deployed: Promise.resolve(status('starting')), listed: () => [status('running')] }), request, { wait: true }, e => seen.push(e.event))
  assert.equal(out.status?.state, 'running')
  assert.equal(out.timedOut, false)
  assert.deepEqual(seen, ['accepted'])
})

test('--wait settles on an event saying the workload was removed, though it is no longer listed', async () => {
  const out = await deployAndWait(api({
    deployed: Promise.resolve(status('starting')),
    listed: () => [],
    watch: async on => { setTimeout(() => on(event('removed', 'removed')), 10); throw await new Promise(resolve => setTimeout(() => resolve(SeError.callCancelled('watchWorkloads')), 20)) }
  }), request, { wait: true }, () => {})
  assert.equal(out.status?.state, 'removed')
  assert.equal(out.status?.reason, 'removed text')
})

test('--wait ends with the error when the node goes away', async () => {
  await assert.rejects(deployAndWait(api({
    deployed: Promise.resolve(status('starting')),
    listed: () => [status('starting')],
    watch: async () => { throw SeError.connectionClosed('node') }
  }), request, { wait: true }, () => {}), (e: SeError) => e.code === 'CONNECTION_CLOSED')
})

test('--timeout ends the waiting, naming the workload and its state; the deploy is not waited for', async () => {
  const started = Date.now()
  const out = await deployAndWait(api({ deployed: new Promise(() => {}), listed: () => [status('deploying')] }), request, { timeout: 1 }, () => {})
  assert.ok(Date.now() - started < 2500)
  assert.deepEqual({ id: out.id, state: out.status?.state, timedOut: out.timedOut }, { id: 'web-1a2b', state: 'deploying', timedOut: true })
})
