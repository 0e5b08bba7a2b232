// The dashboard's view model without a terminal: what each pane shows, what stays
// selected while the data moves under it, graphs, and the intervention queue.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AuditRecord, MeshNode, StepStatus, WorkflowStatus, WorkloadStatus } from '../core/protocol/types.js'
import { meshNode, manyNodes } from './helpers/mesh-nodes.js'
import { DashboardModel, GRAPH_NODES, type ModelOptions, type Snapshot } from '../tui/view-model.js'

const T0 = Date.UTC(2025, 5, 23, 10, 30, 0)
const GIB = 1024

function clock (start = T0): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: ms => { t += ms } }
}

function node (name: string, over: Partial<MeshNode> = {}, load = 1, usedMb = 4 * GIB): MeshNode {
  return meshNode(name, { lastSeen: T0, ...over }, load, usedMb, T0)
}

function workload (id: string, over: Partial<WorkloadStatus> = {}): WorkloadStatus {
  return {
    id, name: `app-${id}`, kind: 'kube', source: `/srv/${id}.yaml`, engine: 'podman', node: 'laptop', nodeName: 'laptop', state: 'running',
    reason: null, replicas: 1, pods: [`${id}-pod`], ports: ['8080:80'], restarts: 0, createdAt: T0, startedAt: T0, memoryLimitBytes: 512 * 1024 ** 2,
    cpus: null, containers: [{ pod: `${id}-pod`, name: 'web', image: 'nginx:1', state: 'running', exitCode: null, restarts: 0 }],
    ...over
  }
}

function step (id: string, over: Partial<StepStatus> = {}): StepStatus {
  return {
    id, kind: 'shell', state: 'pending', attempts: 1, exitCode: null, node: null, startedAt: null, endedAt: null, durationMs: null,
    stdout: '', stderr: '', error: null, choice: null, comment: null, step: '', needs: [], instance: {}, outputs: {}, artifacts: [], uses: [], retryAt: null, ...over
  }
}

function workflow (id: string, over: Partial<WorkflowStatus> = {}): WorkflowStatus {
  return {
    id, name: `flow-${id}`, state: 'running', source: 'release.yaml', node: 'laptop', requestedBy: 'me', createdAt: T0, startedAt: T0,
    endedAt: null, currentStep: null, error: null, inputs: {}, steps: [], intervention: null, interventions: [], ...over
  }
}

function waiting (id: string, requestedAt: number, over: Partial<WorkflowStatus> = {}, choices = ['approve', 'reject']): WorkflowStatus {
  return workflow(id, {
    state: 'waiting_intervention', currentStep: 'gate', steps: [step('gate', { state: 'waiting_intervention' })],
    intervention: { stepId: 'gate', prompt: `ship ${id}?`, choices, reason: 'approval', requestedAt, approvers: [], quorum: 1, approvals: [] },
    ...over
  })
}

function audit (seq: number, message = `entry ${seq}`): AuditRecord {
  return {
    seq, prevHash: '', hash: '', signature: '', originSignature: null,
    entry: {
      timestamp: T0 + seq * 1000, sourceNodeId: 'laptop', workflowId: 'wf-1', workflowStep: '', executionContext: 'SE_DISTRIBUTED',
      domains: [], files: [], interventionRequired: false, performanceMetrics: {}, event: 'step_exec_start', message, decision: null
    }
  }
}

const LAPTOP = node('laptop', { self: true, latencyMs: null })

function snapshot (over: Partial<Snapshot> = {}): Snapshot {
  return { nodes: [LAPTOP], workloads: [], workflows: [], meshName: 'team', at: T0, ...over }
}

function model (snap: Partial<Snapshot> = {}, opts: ModelOptions = {}): DashboardModel {
  const m = new DashboardModel({ now: () => T0, ...opts })
  m.update(snapshot(snap))
  return m
}

const names = (m: DashboardModel, pane: 'nodes' | 'workloads' | 'workflows', column = 0): string[] => m.table(pane).rows.map(r => r[column] ?? '')

test('nodes: self first, then up, suspect, down, then by name, in the CLI\'s units', () => {
  const m = model({
    nodes: [
      node('zeta', { state: 'down' }), node('beta', { state: 'suspect' }), node('gamma'), LAPTOP, node('alpha', { state: 'down', sample: null, latencyMs: null })
    ]
  })
  const t = m.table('nodes')
  assert.deepEqual(t.header, ['NAME', 'STATE', 'AGE', 'LINK', 'LOAD', 'MEMORY', 'RTT', 'WORKLOADS', 'WORKFLOWS', 'CAPABILITIES'])
  assert.deepEqual(names(m, 'nodes'), ['laptop *', 'gamma', 'beta', 'alpha', 'zeta'])
  assert.deepEqual(t.rows[0], ['laptop *', 'up', '-', 'neighbour', '25%', '4.0/16 GiB', '-', '2', '1', 'tag:gpu,podman,git,credential:GITHUB_TOKEN'])
  assert.deepEqual(t.rows[1]?.slice(2, 7), ['0.0s', 'neighbour', '25%', '4.0/16 GiB', '0.4 ms'])
  assert.deepEqual(t.rows[3]?.slice(4, 9), ['-', '-', '?', '-', '-'], 'no sample, no latency')
  assert.equal(t.selected, 0)
  assert.equal(t.total, 5)
})

test('load is load average per cpu, capped at 100%', () => {
  const m = model({ nodes: [node('busy', { self: true }, 9)] })
  assert.equal(m.table('nodes').rows[0]?.[4], '100%')
})

test('workloads: failed first, then oldest first; uptime only while running', () => {
  const now = T0 + 2 * 3600_000
  const m = model({
    workloads: [
      workload('w3', { createdAt: T0 + 3 }),
      workload('w1', { createdAt: T0 + 1, startedAt: T0 + 1000 - 5 * 60_000 + 2 * 3600_000 }),
      workload('w9', { createdAt: T0 + 9, state: 'failed', restarts: 4, ports: [] }),
      workload('w2', { createdAt: T0 + 2, state: 'exited' })
    ]
  }, { now: () => now })
  assert.deepEqual(names(m, 'workloads'), ['w9', 'w1', 'w2', 'w3'])
  const t = m.table('workloads')
  assert.deepEqual(t.header, ['ID', 'NODE', 'ENGINE', 'STATE', 'PORTS', 'RESTARTS', 'UPTIME'])
  assert.deepEqual(t.rows[0], ['w9', 'laptop', 'podman', 'failed', '-', '4', '-'])
  assert.deepEqual(t.rows[1], ['w1', 'laptop', 'podman', 'running', '8080:80', '0', '4m'])
  assert.equal(t.rows[2]?.[6], '-', 'exited: no uptime')
  assert.equal(t.rows[3]?.[6], '2h')
})

test('workflows: waiting first, then active, then finished newest first, with the current step\'s node and elapsed time', () => {
  const server = node('server')
  const m = model({
    nodes: [LAPTOP, server],
    workflows: [
      workflow('done-old', { state: 'completed', createdAt: T0 - 9000, startedAt: T0 - 9000, endedAt: T0 - 8000 }),
      workflow('run', {
        createdAt: T0 - 120_000, startedAt: T0 - 90_000, currentStep: 'build',
        steps: [step('build', { state: 'running', node: server.nodeId })]
      }),
      workflow('done-new', { state: 'failed', createdAt: T0 - 5000, startedAt: null, endedAt: T0 - 2000 }),
      waiting('ask', T0 - 1000),
      workflow('pend', { state: 'pending', createdAt: T0 - 60_000, startedAt: null, currentStep: 'x', steps: [step('x', { node: 'f'.repeat(64) })] })
    ]
  }, { now: () => T0 })
  assert.deepEqual(names(m, 'workflows', 1), ['ask', 'run', 'pend', 'done-new', 'done-old'])
  const t = m.table('workflows')
  assert.deepEqual(t.header, ['NAME', 'ID', 'STATE', 'STEP', 'NODE', 'ELAPSED'])
  assert.deepEqual(t.rows[1], ['flow-run', 'run', 'running', 'build', 'server', '1m'])
  assert.deepEqual(t.rows[2]?.slice(3), ['x', 'ffffffff', '1m'], 'unknown node: first 8 chars of its key')
  assert.deepEqual(t.rows[0]?.slice(3, 5), ['gate', '-'], 'a step with no node yet')
  assert.equal(t.rows[3]?.[5], '3s', 'finished: end minus start (created, as it never started)')
})

test('a filter matches any cell, case-insensitively, and counts what it hid', () => {
  const m = model({ workloads: [workload('a1', { nodeName: 'Server' }), workload('b2'), workload('c3', { state: 'failed' })] })
  m.setFilter('workloads', 'SERV')
  assert.deepEqual(names(m, 'workloads'), ['a1'])
  m.setFilter('workloads', 'B2 LAPTOP')
  assert.deepEqual(names(m, 'workloads'), ['b2'], 'the row is matched as one line')
  m.setFilter('workloads', 'nothing')
  const t = m.table('workloads')
  assert.deepEqual(t.rows, [])
  assert.equal(t.selected, -1)
  assert.equal(t.total, 3)
  assert.equal(m.selectedWorkload(), null)
  assert.equal(m.filter('workloads'), 'nothing')
  assert.equal(m.filter('nodes'), '')
})

test('the selection follows its item across updates and filters, and clamps when it goes', () => {
  const m = model({ workloads: ['w1', 'w2', 'w3', 'w4'].map((id, i) => workload(id, { createdAt: T0 + i })) })
  m.setFocus('workloads')
  m.move(2)
  assert.equal(m.selectedWorkload()?.id, 'w3')

  // w3 moves to the top when it fails: still selected.
  m.update(snapshot({ workloads: ['w1', 'w2', 'w3', 'w4'].map((id, i) => workload(id, { createdAt: T0 + i, state: id === 'w3' ? 'failed' : 'running' })) }))
  assert.equal(m.table('workloads').selected, 0)
  assert.equal(m.selectedWorkload()?.id, 'w3')

  // A filter that keeps it: still selected, at its new index.
  m.setFilter('workloads', 'w3')
  assert.equal(m.selectedWorkload()?.id, 'w3')
  m.setFilter('workloads', '')
  assert.equal(m.selectedWorkload()?.id, 'w3')

  // It goes away: the index stays, clamped, and that row is now the selection.
  m.move(2)
  assert.equal(m.selectedWorkload()?.id, 'w2')
  m.update(snapshot({ workloads: ['w1', 'w3'].map(id => workload(id)) }))
  assert.equal(m.table('workloads').selected, 1)
  assert.equal(m.selectedWorkload()?.id, 'w3')
  m.update(snapshot({ workloads: [workload('w0', { createdAt: T0 - 1 }), workload('w1'), workload('w3')] }))
  assert.equal(m.selectedWorkload()?.id, 'w3', 'a clamped selection then stays with its row')

  // A filter hiding it clamps too, but hiding everything keeps it for when the filter clears.
  m.setFilter('workloads', 'zzz')
  m.setFilter('workloads', '')
  assert.equal(m.selectedWorkload()?.id, 'w3')
})

test('move clamps at both ends and does nothing on an empty or audit pane', () => {
  const m = model({ nodes: [LAPTOP, node('a'), node('b')] })
  let changes = 0
  m.onChange(() => { changes++ })
  m.move(-5)
  assert.equal(m.table('nodes').selected, 0)
  m.move(99)
  assert.equal(m.table('nodes').selected, 2)
  assert.equal(m.selectedNode()?.name, 'b')
  m.setFocus('workflows')
  m.move(1)
  assert.equal(m.table('workflows').selected, -1)
  m.setFocus('audit')
  m.move(1)
  assert.equal(m.table('nodes').selected, 2, 'the other panes keep theirs')
  assert.equal(changes, 4, 'two moves and two focus changes')
})

test('focus cycles through the panes both ways and wraps', () => {
  const m = new DashboardModel()
  assert.equal(m.focus, 'nodes')
  m.focusNext(); assert.equal(m.focus, 'workloads')
  m.focusNext(); m.focusNext(); assert.equal(m.focus, 'audit')
  m.focusNext(); assert.equal(m.focus, 'nodes')
  m.focusPrev(); assert.equal(m.focus, 'audit')
  m.setFocus('workflows'); assert.equal(m.focus, 'workflows')
})

test('a listener hears every change until it unsubscribes', () => {
  const m = new DashboardModel({ now: () => T0 })
  let calls = 0
  const off = m.onChange(() => { calls++ })
  m.update(snapshot())
  m.addAudit([audit(1)])
  m.addAudit([audit(1)])
  m.setFilter('audit', 'x')
  m.focusNext()
  m.setComment('hi')
  m.setMessage('done')
  assert.equal(calls, 6, 'a repeated audit record changes nothing')
  off()
  m.setMessage(null)
  assert.equal(calls, 6)
})

test('details of a node, a workload and a workflow list their fields', () => {
  const server = node('server', { lastSeen: T0 - 3000 })
  const m = model({
    nodes: [LAPTOP, server],
    workloads: [workload('w1', { state: 'failed', reason: 'OOMKilled', containers: [{ pod: 'p', name: 'web', image: 'nginx:1', state: 'exited', exitCode: 137, restarts: 3 }] })],
    workflows: [waiting('wf', T0, {
      inputs: { version: '1.2' },
      steps: [
        step('build', { state: 'completed', node: server.nodeId, exitCode: 0, durationMs: 1200 }),
        step('gate', { state: 'waiting_intervention' })
      ]
    })]
  })
  const text = (): string => m.details().join('\n')

  m.move(1)
  assert.match(text(), /node {9}server\n/)
  assert.match(text(), new RegExp(server.nodeId))
  assert.match(text(), /last seen 3.0s ago/)
  assert.match(text(), /known +directly; link: neighbour/)
  assert.match(text(), /engines +podman/)
  assert.match(text(), /credentials +GITHUB_TOKEN/)
  assert.match(text(), /tags +gpu/)
  assert.match(text(), /cpus +4 \(load 1\.00, 25%\)/)

  m.setFocus('workloads')
  assert.match(text(), /state +failed: OOMKilled/)
  assert.match(text(), /memory limit +512 MiB/)
  assert.match(text(), /containers \(1\)\n {2}p\/web {2}nginx:1 {2}exited {2}exit 137 {2}restarts 3/)

  m.setFocus('workflows')
  assert.match(text(), /inputs +version=1\.2/)
  assert.match(text(), /✓ build {2}completed {2}on server {2}exit 0 {2}1\.2 s/)
  assert.match(text(), /\? gate {3}waiting_intervention {2}on -/)
  assert.match(text(), /waiting for a person at gate: ship wf\?\n {2}choices: approve, reject/)

  m.setFocus('audit')
  assert.deepEqual(m.details(), [])
  m.setFocus('workloads')
  m.setFilter('workloads', 'none such')
  assert.deepEqual(m.details(), [])
})

test('cpu and memory series keep the history window, per node, labelled back from the newest sample', () => {
  const server = node('server')
  const m = new DashboardModel({ now: () => T0, historyMs: 60_000 })
  for (let i = 0; i <= 10; i++) {
    const at = T0 + i * 10_000
    // The server only reports from the 5th poll on; a node without a sample gets no line.
    const nodes = [node('laptop', { self: true }, i % 5, (i + 1) * GIB), i >= 5 ? server : { ...server, sample: null }, node('quiet', { sample: null })]
    m.update(snapshot({ nodes, at }))
  }
  const cpu = m.cpuSeries()
  assert.deepEqual(cpu.map(s => s.title), ['laptop', 'server'])
  assert.deepEqual(cpu[0]?.x, ['-60s', '-50s', '-40s', '-30s', '-20s', '-10s', '0s'], 'older ones dropped')
  assert.deepEqual(cpu[0]?.y, [100, 0, 25, 50, 75, 100, 0])
  assert.deepEqual(cpu[1]?.x, ['-50s', '-40s', '-30s', '-20s', '-10s', '0s'])
  const memory = m.memorySeries()
  assert.deepEqual(memory[0]?.y, [5, 6, 7, 8, 9, 10, 11].map(gb => gb / 16 * 100))

  // The same poll again adds no point; a node that left the snapshot loses its line.
  m.update(snapshot({ nodes: [node('laptop', { self: true })], at: T0 + 100_000 }))
  assert.equal(m.cpuSeries()[0]?.x.length, 7)
  assert.deepEqual(m.cpuSeries().map(s => s.title), ['laptop'])
  assert.deepEqual(new DashboardModel().cpuSeries(), [])
})

test('gauges show the selected node, or the node of the selected workload', () => {
  const server = node('server', {}, 2, 12 * GIB)
  const m = model({ nodes: [LAPTOP, server], workloads: [workload('w1', { node: server.nodeId, nodeName: 'server' }), workload('w2', { node: 'gone' })] })
  assert.deepEqual(m.gauges(), [{ label: 'laptop cpu', percent: 25 }, { label: 'laptop memory', percent: 25 }])
  m.setFocus('workloads')
  assert.deepEqual(m.gauges(), [{ label: 'server cpu', percent: 50 }, { label: 'server memory', percent: 75 }])
  m.move(1)
  assert.deepEqual(m.gauges(), [], 'its node is not in the snapshot')
  m.setFocus('nodes')
  m.update(snapshot({ nodes: [{ ...LAPTOP, sample: null }] }))
  assert.deepEqual(m.gauges(), [])
})

test('the intervention queue: oldest first, the current one stays put, next and prev wrap', () => {
  const server = node('server')
  const flows = [waiting('b', T0 + 2000, { node: server.nodeId }), workflow('run'), waiting('a', T0 + 1000), waiting('c', T0 + 3000, { node: 'e'.repeat(64) }), waiting('x', T0, { intervention: null })]
  const m = model({ nodes: [LAPTOP, server], workflows: flows })
  const queue = m.interventions()
  assert.deepEqual(queue.map(p => p.workflowId), ['a', 'b', 'c'])
  assert.deepEqual(queue[1], { workflowId: 'b', workflowName: 'flow-b', stepId: 'gate', node: 'server', prompt: 'ship b?', choices: ['approve', 'reject'], requestedAt: T0 + 2000, approvals: null })
  assert.equal(queue[2]?.node, 'eeeeeeee')
  assert.equal(m.current()?.workflowId, 'a')

  m.nextIntervention(); assert.equal(m.current()?.workflowId, 'b')
  m.nextIntervention(); m.nextIntervention(); assert.equal(m.current()?.workflowId, 'a', 'wraps forward')
  m.prevIntervention(); assert.equal(m.current()?.workflowId, 'c', 'wraps back')

  // A newer, older request arrives: the queue reorders, the current one does not change.
  m.update(snapshot({ nodes: [LAPTOP, server], workflows: [...flows, waiting('early', T0 - 5000)] }))
  assert.equal(m.interventions()[0]?.workflowId, 'early')
  assert.equal(m.current()?.workflowId, 'c')
})

test('an answered intervention leaves the queue and the next one takes its place, with a fresh comment', () => {
  const flows = [waiting('a', T0 + 1000), waiting('b', T0 + 2000), waiting('c', T0 + 3000)]
  const m = model({ workflows: flows })
  m.nextIntervention()
  m.setComment('looks fine')
  assert.equal(m.comment, 'looks fine')
  m.update(snapshot({ workflows: flows }))
  assert.equal(m.comment, 'looks fine', 'an update that keeps it keeps the draft')

  m.update(snapshot({ workflows: [flows[0] as WorkflowStatus, workflow('b', { state: 'running' }), flows[2] as WorkflowStatus] }))
  assert.deepEqual(m.interventions().map(p => p.workflowId), ['a', 'c'])
  assert.equal(m.current()?.workflowId, 'c', 'the one after it, not back to the top')
  assert.equal(m.comment, '')

  m.setComment('draft')
  m.update(snapshot({ workflows: [flows[0] as WorkflowStatus] }))
  assert.equal(m.current()?.workflowId, 'a', 'the last one answered: back to the oldest')
  assert.equal(m.comment, '')

  // The same workflow asks again at a later step: a new question, a fresh draft.
  m.comment = 'about gate'
  m.update(snapshot({ workflows: [waiting('a', T0 + 9000, { intervention: { stepId: 'gate2', prompt: 'again?', choices: ['approve'], reason: '', requestedAt: T0 + 9000, approvers: [], quorum: 1, approvals: [] } })] }))
  assert.equal(m.current()?.stepId, 'gate2')
  assert.equal(m.comment, '')

  m.setComment('x')
  m.nextIntervention()
  assert.equal(m.comment, 'x', 'stepping to the same one (a queue of one) changes nothing')
  m.update(snapshot({ workflows: [] }))
  assert.equal(m.current(), null)
  assert.equal(m.comment, '')
  m.nextIntervention()
  assert.equal(m.current(), null)
})

test('reopening the dashboard shows the same queue', () => {
  const snap = { workflows: [waiting('b', T0 + 2000), waiting('a', T0 + 1000)] }
  const first = model(snap)
  first.nextIntervention()
  const reopened = model(snap)
  assert.deepEqual(reopened.interventions(), first.interventions())
  assert.equal(reopened.current()?.workflowId, 'a')
})

test('choiceForKey: a approves, r rejects or aborts, digits pick by position', () => {
  const m = model({ workflows: [waiting('a', T0, {}, ['approve', 'reject', 'later'])] })
  assert.equal(m.choiceForKey('a'), 'approve')
  assert.equal(m.choiceForKey('r'), 'reject')
  assert.equal(m.choiceForKey('1'), 'approve')
  assert.equal(m.choiceForKey('3'), 'later')
  assert.equal(m.choiceForKey('4'), null)
  assert.equal(m.choiceForKey('0'), null)
  assert.equal(m.choiceForKey('q'), null)

  m.update(snapshot({ workflows: [waiting('a', T0, {}, ['retry', 'skip', 'abort'])] }))
  assert.equal(m.choiceForKey('a'), null, 'approve is not offered')
  assert.equal(m.choiceForKey('r'), 'abort')
  m.update(snapshot({ workflows: [waiting('a', T0, {}, ['retry', 'skip'])] }))
  assert.equal(m.choiceForKey('r'), null)

  assert.equal(model().choiceForKey('a'), null, 'nothing pending')
  assert.equal(model({ workflows: [waiting('a', T0)] }, { readonly: true }).choiceForKey('a'), null, 'read-only')
})

test('audit lines: formatted, deduplicated by seq, in seq order, newest kept, filtered', () => {
  const m = new DashboardModel({ auditLines: 3 })
  m.addAudit([audit(1), audit(2)])
  assert.deepEqual(m.auditLines(), ['##→2025-06-23T10:30:01Z | SE_DISTRIBUTED | step_exec_start: entry 1', '##→2025-06-23T10:30:02Z | SE_DISTRIBUTED | step_exec_start: entry 2'])
  m.addAudit([audit(2), audit(4), audit(3), audit(4)])
  assert.deepEqual(m.auditLines().map(l => l.slice(-7)), ['entry 2', 'entry 3', 'entry 4'])
  m.addAudit([audit(1)])
  assert.deepEqual(m.auditLines().map(l => l.slice(-7)), ['entry 2', 'entry 3', 'entry 4'], 'an evicted old one does not come back')
  m.addAudit([audit(5, 'Deploy web')])
  m.setFilter('audit', 'deploy')
  assert.deepEqual(m.auditLines().map(l => l.slice(-10)), ['Deploy web'])
})

test('the status bar: mesh, nodes up, pending count, message, then hints, cut to width', () => {
  const m = model({ nodes: [LAPTOP, node('a'), node('b', { state: 'down' })], workflows: [waiting('a', T0)] })
  const bar = m.statusBar(500)
  assert.equal(bar, 'team │ 2/3 nodes up │ 1 pending │ tab pane  ↑↓ row  / filter  : command  ? help  l logs  d details  x run  a/r approve/reject  ctrl-d cancel/remove  q quit')
  m.setMessage('approved wf a')
  assert.match(m.statusBar(500), /^team │ 2\/3 nodes up │ 1 pending │ approved wf a │ tab pane/)
  assert.equal(m.statusBar(20), 'team │ 2/3 nodes up…')
  assert.equal(m.statusBar(20).length, 20)
  assert.equal(m.statusBar(0), '')
  assert.match(model({ meshName: null }).statusBar(200), /^no mesh │ 1\/1 nodes up │ 0 pending/)
})

test('read-only hides action keys from the status bar and marks them in help', () => {
  const rw = model()
  const ro = model({}, { readonly: true })
  assert.equal(rw.readonly, false)
  assert.equal(ro.readonly, true)
  assert.match(rw.statusBar(500), /x run {2}a\/r approve\/reject/)
  const bar = ro.statusBar(500)
  assert.match(bar, /read-only/)
  assert.doesNotMatch(bar, /x run|approve/)
  assert.match(bar, /l logs {2}d details {2}q quit$/)

  const help = rw.help().join('\n')
  for (const key of ['tab', '/', ':', '?', 'l', 'd', 'x', 'a', 'r', '1-9', 'q']) assert.match(help, new RegExp(`^ {2}${key.replace(/[?/]/g, '\\$&')}`, 'm'), key)
  for (const command of [':execute NAME', ':deploy FILE', ':nodes', ':workloads', ':workflows', ':audit', ':quit']) assert.ok(help.includes(command), command)
  assert.doesNotMatch(help, /read-only/)
  const roHelp = ro.help()
  assert.match(roHelp.find(l => l.includes(':deploy')) ?? '', /disabled: read-only/)
  assert.doesNotMatch(roHelp.find(l => l.includes(':nodes')) ?? '', /read-only/)
})

test('100 nodes and 1,000 workloads make a usable table', () => {
  const nodes = [LAPTOP, ...Array.from({ length: 99 }, (_, i) => node(`n${String(i).padStart(2, '0')}`))]
  const workloads = Array.from({ length: 1000 }, (_, i) => workload(`w${i}`, { createdAt: T0 + i, node: nodes[i % 100]?.nodeId ?? '', nodeName: nodes[i % 100]?.name ?? '', state: i % 97 === 0 ? 'failed' : 'running' }))
  const m = model({ nodes, workloads })
  m.setFocus('workloads')
  m.move(500)
  const t = m.table('workloads')
  assert.equal(t.rows.length, 1000)
  assert.equal(t.rows[0]?.[3], 'failed')
  assert.equal(t.selected, 500)
  assert.equal(m.table('nodes').rows.length, 100)
  assert.equal(m.cpuSeries().length, GRAPH_NODES, 'a line for each of the first nodes, not one per node')
  m.setFilter('workloads', 'n42')
  assert.equal(m.table('workloads').rows.length, 10)
})

// build → (lint, test × 4 shards) → package, as a graph-aware node sends it.
function diamond (server: MeshNode): WorkflowStatus {
  const shard = (n: number, over: Partial<StepStatus>): StepStatus => step(`test[shard=${n}]`, { step: 'test', instance: { shard: String(n) }, needs: ['build'], ...over })
  return workflow('ci', {
    currentStep: 'test[shard=3]',
    steps: [
      step('build', { step: 'build', state: 'completed', node: LAPTOP.nodeId, durationMs: 1200 }),
      step('lint', { step: 'lint', state: 'running', node: server.nodeId, needs: ['build'] }),
      shard(1, { state: 'completed', node: LAPTOP.nodeId, durationMs: 4000 }),
      shard(2, { state: 'completed', node: server.nodeId, durationMs: 3000 }),
      shard(3, { state: 'running', node: server.nodeId }),
      shard(4, { state: 'pending', retryAt: T0 + 5000, attempts: 2 }),
      step('package', { step: 'package', needs: ['lint', 'test[shard=1]', 'test[shard=2]', 'test[shard=3]', 'test[shard=4]'] })
    ]
  })
}

test('workflows pane: a fan-out shows as its progress, beside a plain step running at the same time', () => {
  const server = node('server')
  const m = model({ nodes: [LAPTOP, server], workflows: [diamond(server)] })
  assert.deepEqual(m.table('workflows').rows[0]?.slice(3, 5), ['lint, test 3/4 running', 'server'])
})

test('workflow details draw the graph: indented by depth, instances under their step, live states and node names', () => {
  const server = node('server')
  const m = model({ nodes: [LAPTOP, server], workflows: [diamond(server)] })
  m.setFocus('workflows')
  const lines = m.details()
  const graph = lines.slice(lines.indexOf('steps (7)') + 1)
  assert.deepEqual(graph, [
    '  ✓ build          completed  on laptop  1.2 s',
    '    ▶ lint         running  on server',
    '    ▶ test         2/4 completed, 1 running, 1 pending  ← needs build',
    '        ✓ shard=1  completed  on laptop  4.0 s',
    '        ✓ shard=2  completed  on server  3.0 s',
    '        ▶ shard=3  running  on server',
    '        · shard=4  pending  on -  attempts 2  retry in 5s',
    '      · package    pending  on -  ← needs lint, test'
  ])
})

test('workflow details list every branch waiting for a person', () => {
  const asks = ['eu', 'us'].map((r, i) => ({ stepId: `ship-${r}`, prompt: `Ship to ${r}?`, choices: ['approve', 'reject'], reason: 'step', requestedAt: T0 + i, approvers: [], quorum: 1, approvals: [] }))
  const m = model({
    workflows: [workflow('two', {
      state: 'waiting_intervention',
      steps: asks.map(a => step(a.stepId, { step: a.stepId, state: 'waiting_intervention' })),
      intervention: asks[0] ?? null,
      interventions: asks
    })]
  })
  m.setFocus('workflows')
  const text = m.details().join('\n')
  assert.match(text, /waiting for a person at ship-eu: Ship to eu\?\n {2}choices: approve, reject\nwaiting for a person at ship-us: Ship to us\?/)
  assert.match(text, /\? ship-eu {2}waiting_intervention {2}on -\n {2}\? ship-us {2}waiting_intervention {2}on - {2}← needs nothing/)
})

test('ASCII: no character outside ASCII in the status bar, audit lines, tables or a workflow\'s graph', () => {
  const steps = [
    step('build', { state: 'completed', node: LAPTOP.nodeId }), step('test', { state: 'running', needs: ['build'] }),
    step('lint', { needs: ['build'] }), step('ship', { state: 'failed', error: 'boom', needs: ['test', 'lint'] })
  ]
  const m = model({ nodes: [LAPTOP, node('a')], workflows: [workflow('wf-1', { steps, currentStep: 'test' })], workloads: [workload('w1')] }, { ascii: true })
  m.addAudit([audit(1, 'Deploy web → laptop')])
  m.setFocus('workflows')
  const ascii = /^[\x20-\x7e]*$/
  const texts = [m.statusBar(500), m.statusBar(30), ...m.auditLines(), ...m.details(), ...m.help(), ...(['nodes', 'workloads', 'workflows'] as const).flatMap(p => m.table(p).rows.flat())]
  for (const text of texts) assert.match(text.replace('Deploy web → laptop', ''), ascii, text)
  assert.match(m.statusBar(500), /^team \| 2\/2 nodes up \| 0 pending \| tab pane {2}j\/k row/)
  assert.match(m.statusBar(30), /~$/, 'cut with an ASCII mark')
  assert.match(m.auditLines()[0] ?? '', /^##>2025-06-23T10:30:01Z \| SE_DISTRIBUTED \| step_exec_start: Deploy web → laptop$/, 'the marker changes, never the message')
  const graph = m.details().filter(l => /^ {2,}[.>?~+x-] /.test(l))
  assert.deepEqual(graph.map(l => l.trim().slice(0, 1)).sort(), ['+', '.', '>', 'x'])
  assert.match(m.details().join('\n'), /<- needs test, lint/)
  // The Unicode model is unchanged.
  const u = model({ workflows: [workflow('wf-1', { steps })] })
  u.addAudit([audit(1)])
  u.setFocus('workflows')
  assert.match(u.auditLines()[0] ?? '', /^##→/)
  assert.match(u.details().join('\n'), /✓ build[\s\S]*▶ test[\s\S]*✗ ship[\s\S]*← needs test, lint/)
  assert.equal(u.glyphs.ascii, false)
})

test('capabilities: tags first, each once (podman as engine and tool), the same list and LOAD unit as `se nodes`', async () => {
  const { renderNodes } = await import('../adapters/node/cli/render.js')
  const n = node('b', {}, 2)
  n.capabilities = { ...n.capabilities, engines: ['process', 'podman'], tools: ['podman', 'git', 'sh'], tags: ['builder', 'gpu'] }
  const m = model({ nodes: [LAPTOP, n] })
  const row = m.table('nodes').rows[1] ?? []
  assert.equal(row[9], 'tag:builder,tag:gpu,process,podman,git,sh,credential:GITHUB_TOKEN')
  assert.equal(row[4], '50%')
  const cli = renderNodes([n]).split('\n')
  assert.match(cli[0] ?? '', /LOAD/)
  assert.match(cli[1] ?? '', /\s50%\s/, 'load as a percentage of the cpus there too')
  assert.match(cli[1] ?? '', /tag:builder,tag:gpu,process,podman,git,sh,credential:GITHUB_TOKEN$/)
})

test('confirmations: the default choice is one key; reject, abort and any other choice ask first', () => {
  const m = model({ workflows: [waiting('a', T0)] })
  assert.equal(m.defaultChoice(), 'approve')
  assert.equal(m.confirmChoice('approve'), null)
  assert.match(m.confirmChoice('reject')?.question ?? '', /^reject flow-a a at step gate\? \(y\/n\)$/)
  const picks = model({ workflows: [waiting('b', T0, {}, ['deploy', 'rollback', 'abort'])] })
  assert.equal(picks.defaultChoice(), 'deploy')
  assert.equal(picks.confirmChoice(picks.choiceForKey('1') ?? ''), null)
  assert.match(picks.confirmChoice(picks.choiceForKey('2') ?? '')?.question ?? '', /^rollback /)
  assert.match(picks.confirmChoice(picks.choiceForKey('r') ?? '')?.question ?? '', /^abort /)
  const onlyAbort = model({ workflows: [waiting('c', T0, {}, ['abort', 'retry'])] })
  assert.notEqual(onlyAbort.confirmChoice('abort'), null, 'abort asks even as the first choice')
  assert.equal(model().confirmChoice('approve'), null, 'nothing pending, nothing to confirm')
})

test('ctrl-d: cancel the selected workflow or remove the selected workload, with a question; elsewhere it says why not', () => {
  const m = model({ workflows: [workflow('wf-run'), workflow('wf-done', { state: 'completed', endedAt: T0 })], workloads: [workload('web')] })
  assert.match((m.deletion() as { error: string }).error, /tab to the workflows or workloads pane/)
  m.setFocus('workflows')
  assert.deepEqual(m.deletion(), { kind: 'cancel', id: 'wf-run', question: 'cancel workflow flow-wf-run wf-run (running)? (y/n)' })
  m.move(1)
  assert.match((m.deletion() as { error: string }).error, /wf-done has already completed; nothing to cancel/)
  m.setFocus('workloads')
  assert.deepEqual(m.deletion(), { kind: 'remove', id: 'web', question: 'remove workload web on laptop (running)? (y/n)' })
  m.setFilter('workloads', 'nothing-matches')
  assert.match((m.deletion() as { error: string }).error, /no workload selected/)
  const ro = model({ workloads: [workload('web')] }, { readonly: true })
  ro.setFocus('workloads')
  assert.match((ro.deletion() as { error: string }).error, /read-only/)
})

test('an outcome leaves the status bar once its workflow has moved on; a plain message stays', () => {
  const m = model({ workflows: [waiting('a', T0)] })
  m.setMessage('a: approve → running', { workflowId: 'a', state: 'running' })
  m.update(snapshot({ workflows: [workflow('a', { state: 'running' })] }))
  assert.equal(m.message, 'a: approve → running', 'still true')
  m.update(snapshot({ workflows: [workflow('a', { state: 'completed', endedAt: T0 })] }))
  assert.equal(m.message, null)
  assert.doesNotMatch(m.statusBar(500), /approve →/)
  m.setMessage('deployed web')
  m.update(snapshot({ workflows: [] }))
  assert.equal(m.message, 'deployed web')
})

test('a message longer than the status bar does not fit (the screen opens it whole)', () => {
  const m = model()
  assert.equal(m.messageFits(80), true, 'no message')
  m.setMessage('short')
  assert.equal(m.messageFits(80), true)
  m.setMessage(`execute VERSION_TRANSITION failed: ${'x'.repeat(80)}`)
  assert.equal(m.messageFits(80), false)
  assert.equal(m.messageFits(500), true)
})

test('d with nothing selected says so and what to do', () => {
  const m = model({ nodes: [] })
  assert.deepEqual(m.details(), [])
  assert.match(m.detailsEmpty(), /^nothing selected in nodes \(there are no nodes\)/)
  const f = model({ workloads: [workload('web')] })
  f.setFocus('workloads')
  f.setFilter('workloads', 'zzz')
  assert.match(f.detailsEmpty(), /filter hides every row/)
  f.setFocus('audit')
  assert.match(f.detailsEmpty(), /audit lines are shown whole/)
})

test('l on a workflow: the output its steps kept, by step, and the step it follows', () => {
  const m = model()
  const w = workflow('wf-1', {
    currentStep: 'test',
    steps: [step('build', { state: 'completed', stdout: 'compiled\nlinked\n' }), step('test', { state: 'running', stderr: 'warn: slow\n' }), step('ship')]
  })
  assert.deepEqual(m.workflowOutput(w), ['build │ compiled', 'build │ linked', 'test │ warn: slow'])
  assert.equal(m.followedStep(w), 'test')
  assert.equal(m.followedStep(workflow('wf-2', { steps: [step('a', { state: 'completed' }), step('b')] })), 'a')
  assert.equal(model({}, { ascii: true }).outputLine('build', 'ok'), 'build | ok')
})

test('a member whose policy refuses this node something is marked, in Unicode and ASCII, and d says what', () => {
  const edge = node('edge', { allows: ['run:builder', 'read'] })
  const open = node('open', { allows: ['run', 'approve', 'session', 'deploy', 'read', 'relay'] })
  const old = node('old', { allows: null })
  const m = model({ nodes: [LAPTOP, edge, open, old] })
  assert.deepEqual(names(m, 'nodes'), ['laptop *', 'edge ⊘', 'old', 'open'])
  assert.deepEqual(names(model({ nodes: [LAPTOP, edge] }, { ascii: true }), 'nodes'), ['laptop *', 'edge (!)'])
  m.move(1)
  assert.match(m.details().join('\n'), /its policy +refuses this node: approve, session; run only builder/)
  assert.ok(m.help().some(l => /⊘ +its policy refuses this node something/.test(l)))
})

// 500 members, as a gossiping mesh lists them: the pane sorts, filters, counts and keeps its place.
const MANY = 500
const stateOrder = ['up', 'suspect', 'down', 'left']

test('500 nodes: s cycles state, name, load, age; this node stays first in every order', () => {
  const nodes = manyNodes(MANY, T0)
  const m = model({ nodes })
  const items = (): MeshNode[] => {
    const byName = new Map(nodes.map(n => [n.name, n]))
    return m.table('nodes').rows.map(r => byName.get((r[0] ?? '').replace(/ \*$/, '')) as MeshNode)
  }
  assert.equal(m.nodeSort, 'state')
  assert.equal(m.table('nodes').rows.length, MANY)
  let shown = items()
  assert.equal(shown[0]?.self, true)
  const rest = shown.slice(1)
  for (let i = 1; i < rest.length; i++) {
    const [a, b] = [rest[i - 1] as MeshNode, rest[i] as MeshNode]
    const ra = stateOrder.indexOf(a.state)
    const rb = stateOrder.indexOf(b.state)
    assert.ok(ra < rb || (ra === rb && a.name < b.name), `${a.name} ${a.state} before ${b.name} ${b.state}`)
  }
  assert.equal(rest.at(-1)?.state, 'left', 'members that left come last')

  m.cycleNodeSort()
  assert.equal(m.nodeSort, 'name')
  shown = items()
  assert.deepEqual(shown.slice(1).map(n => n.name), rest.map(n => n.name).sort())

  m.cycleNodeSort()
  assert.equal(m.nodeSort, 'load')
  const loads = m.table('nodes').rows.slice(1).map(r => Number((r[4] ?? '').replace('%', '')))
  assert.deepEqual(loads, [...loads].sort((a, b) => b - a), 'busiest first')

  m.cycleNodeSort()
  assert.equal(m.nodeSort, 'age')
  shown = items()
  const ages = shown.slice(1).map(n => T0 - (n.lastSeen ?? T0))
  assert.deepEqual(ages, [...ages].sort((a, b) => b - a), 'stalest first')
  assert.equal(m.table('nodes').rows[1]?.[2], `${Math.round(Math.max(...ages) / 60_000)}m`, 'the AGE column, short')

  m.cycleNodeSort()
  assert.equal(m.nodeSort, 'state', 'and round again')
  assert.ok(m.help().some(l => /^ {2}s +sort the nodes pane/.test(l)), '? says so')
})

test('500 nodes: the filter matches name, state and capabilities, every word', () => {
  const nodes = manyNodes(MANY, T0)
  const m = model({ nodes })
  const count = (pred: (n: MeshNode) => boolean): number => nodes.filter(pred).length
  m.setFilter('nodes', 'suspect')
  assert.equal(m.table('nodes').rows.length, count(n => n.state === 'suspect'))
  assert.ok(m.table('nodes').rows.every(r => r[1] === 'suspect'))
  m.setFilter('nodes', 'builder')
  assert.equal(m.table('nodes').rows.length, count(n => n.capabilities.tags.includes('builder')))
  m.setFilter('nodes', 'GPU down')
  assert.equal(m.table('nodes').rows.length, count(n => n.capabilities.tags.includes('gpu') && n.state === 'down'))
  m.setFilter('nodes', 'n04')
  assert.deepEqual(names(m, 'nodes').sort(), Array.from({ length: 10 }, (_, i) => `n04${i}`), 'part of a name')
  m.setFilter('nodes', 'tag:buil up')
  assert.equal(m.table('nodes').rows.length, count(n => n.capabilities.tags.includes('builder') && n.state === 'up'))
  assert.equal(m.table('nodes').total, MANY)
})

test('500 nodes: the summary line counts what the pane shows, by state and top capabilities', () => {
  const nodes = manyNodes(MANY, T0)
  const m = model({ nodes })
  const count = (pred: (n: MeshNode) => boolean): number => nodes.filter(pred).length
  const states = stateOrder.map(s => `${count(n => n.state === s)} ${s}`).join(', ')
  const podman = count(n => n.capabilities.engines.includes('podman'))
  const builder = count(n => n.capabilities.tags.includes('builder'))
  const gpu = count(n => n.capabilities.tags.includes('gpu'))
  assert.equal(m.nodeSummary(), `500 nodes: ${states} · podman ${podman}, builder ${builder}, gpu ${gpu}`)
  m.setFilter('nodes', 'gpu')
  assert.match(m.nodeSummary(), new RegExp(`^${gpu} of 500 nodes: `))
  assert.match(m.nodeSummary(), new RegExp(`gpu ${gpu}`))
  const ascii = model({ nodes }, { ascii: true })
  assert.match(ascii.nodeSummary(), /^500 nodes: [\d\w, ]+ - podman /)
  assert.ok(/^[\x20-\x7e]*$/.test(ascii.nodeSummary()))
})

test('500 nodes: the selection stays on its node while a refresh reorders the list', () => {
  const nodes = manyNodes(MANY, T0)
  const m = model({ nodes })
  m.move(123)
  const picked = m.selectedNode()
  assert.ok(picked !== null)
  // The next poll: every member heard from again, loads changed, the picked one goes suspect and others leave.
  const later = manyNodes(MANY, T0 + 1000, 99).map(n => {
    const same = nodes.find(o => o.name === n.name) as MeshNode
    return { ...same, lastSeen: n.lastSeen, sample: n.sample, state: same.nodeId === picked.nodeId ? 'suspect' : same.state }
  }).filter((n, i) => n.self || n.nodeId === picked.nodeId || i % 7 !== 0)
  m.update(snapshot({ nodes: later, at: T0 + 1000 }))
  assert.equal(m.selectedNode()?.nodeId, picked.nodeId)
  assert.equal(m.table('nodes').rows[m.table('nodes').selected]?.[1], 'suspect', 'at its new place')
  m.cycleNodeSort()
  m.cycleNodeSort()
  assert.equal(m.selectedNode()?.nodeId, picked.nodeId, 'and across a change of sort')
  m.setFilter('nodes', 'suspect')
  assert.equal(m.selectedNode()?.nodeId, picked.nodeId, 'and a filter that keeps it')
  assert.ok(m.cpuSeries().some(s => s.title === picked.name), 'the graphs draw the selected node')
  assert.ok(m.cpuSeries().length <= GRAPH_NODES)
})
