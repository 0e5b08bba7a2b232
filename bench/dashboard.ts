// Benchmark 6: one `se dashboard` refresh for a large mesh (500 nodes, 1,000 workloads,
// 200 workflows, 200 audit lines) against decoding the same snapshot, which the client
// pays on every poll anyway, and against the 1 s tick it must fit in with CPU to spare.
import type { AuditRecord, MeshNode, MemberState, WorkflowStatus, WorkloadStatus } from '../core/protocol/types.js'
import { tableLines } from '../tui/screen.js'
import { REFRESH_MS } from '../tui/source.js'
import { DashboardModel, type Snapshot } from '../tui/view-model.js'
import { median, ms, now, type Result } from './lib.js'

const NODES = 500
const WORKLOADS = 1000
const WORKFLOWS = 200
const AUDIT = 200
const WIDTH = 120
// The graphs keep 5 minutes at one point a second: warm up past that, so the timed
// refreshes draw full-length series as a dashboard left open does.
const WARMUP = 320
const ROUNDS = 200
const T0 = Date.UTC(2025, 5, 23, 10, 0, 0)

// A fixed-seed generator: the same mesh on every run, so runs compare.
function random (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function fakeData (): { snapshot: Snapshot, audit: AuditRecord[] } {
  const r = random(42)
  const pick = <T>(items: T[]): T => items[Math.floor(r() * items.length)] as T
  const some = (items: string[]): string[] => items.filter(() => r() < 0.5)
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('')
  const nodes: MeshNode[] = Array.from({ length: NODES }, (_, i) => {
    const nodeId = hex(64)
    const state: MemberState = i === 0 ? 'up' : i % 17 === 0 ? 'down' : i % 11 === 0 ? 'suspect' : 'up'
    const cpus = pick([2, 4, 8, 16, 32])
    const memoryTotalMb = pick([4096, 8192, 16384, 65536])
    const name = `${pick(['build', 'edge', 'gpu', 'db', 'lab', 'ci'])}-${String(i).padStart(3, '0')}`
    const capabilities = {
      nodeId, name, runtime: 'node', version: '0.9.0', platform: pick(['linux', 'linux', 'darwin']), arch: pick(['x64', 'arm64']),
      engines: some(['podman', 'docker']), tools: some(['git', 'node', 'python3', 'make', 'go', 'rsync', 'ssh']),
      credentials: some(['github', 'registry']), tags: some(['gpu', 'ssd', 'eu', 'us', 'edge']),
      cpus, memoryTotalMb, memoryFreeMb: Math.round(memoryTotalMb * r()), loadAverage: r() * cpus
    }
    // A down member has no fresh sample: the model then leaves it out of the graphs.
    const sample = state === 'down'
      ? null
      : { nodeId, loadAverage: r() * cpus * 1.2, cpus, memoryUsedMb: Math.round(memoryTotalMb * (0.2 + 0.7 * r())), memoryTotalMb, workflowsRunning: Math.floor(r() * 4), workloadsRunning: Math.floor(r() * 15), sentAt: T0 }
    return { nodeId, name, self: i === 0, state, lastSeen: T0 - Math.floor(r() * 5000), capabilities, sample, latencyMs: i === 0 || r() < 0.05 ? null : 0.3 + r() * 80, allows: null, learned: i === 0 ? null : r() < 0.2 ? 'direct' : 'gossip', link: i === 0 ? null : r() < 0.1 ? 'neighbour' : null }
  })
  const workloads: WorkloadStatus[] = Array.from({ length: WORKLOADS }, (_, i) => {
    const node = nodes[i % NODES] as MeshNode
    const name = `${pick(['web', 'api', 'cache', 'worker', 'db', 'queue'])}-${i}`
    const state = pick(['running', 'running', 'running', 'running', 'running', 'exited', 'failed', 'starting', 'deploying'])
    const pods = Array.from({ length: 1 + (i % 2) }, (_, p) => `${name}-pod-${p}`)
    const containers = pods.flatMap(pod => Array.from({ length: 1 + Math.floor(r() * 3) }, (_, c) => ({
      pod, name: `${name}-c${c}`, image: `registry.example/${name.split('-')[0] ?? ''}:1.${c}`, state: state === 'running' ? 'running' : 'exited', exitCode: state === 'failed' ? 1 : null, restarts: Math.floor(r() * 3)
    })))
    const ports = i % 4 === 0 ? [] : i % 4 === 1 ? [`${8000 + i}->80/tcp`, `${9000 + i}->443/tcp`] : ['8080/tcp']
    const createdAt = T0 - Math.floor(r() * 86_400_000)
    return {
      id: `wl-${hex(12)}`, name, kind: pick(['Pod', 'Deployment']), source: `/srv/manifests/${name}.yaml`, engine: 'podman', node: node.nodeId, nodeName: node.name,
      state, reason: state === 'failed' ? 'container exited with 1' : null, replicas: pods.length, pods, ports, restarts: Math.floor(r() * 3),
      createdAt, startedAt: state === 'running' ? createdAt + 2000 : null, memoryLimitBytes: r() < 0.5 ? null : 512 * 1024 ** 2, cpus: r() < 0.5 ? null : 1, containers
    }
  })
  const workflows: WorkflowStatus[] = Array.from({ length: WORKFLOWS }, (_, i) => {
    const node = nodes[(i * 7) % NODES] as MeshNode
    // One in ten waits for a person: enough for the intervention queue to matter.
    const state = i % 10 === 0 ? 'waiting_intervention' : pick(['running', 'pending', 'waiting_node', 'completed', 'completed', 'failed', 'cancelled'])
    const finished = ['completed', 'failed', 'cancelled'].includes(state)
    const createdAt = T0 - Math.floor(r() * 3_600_000)
    const steps = Array.from({ length: 3 + (i % 4) }, (_, s) => ({
      id: `step-${s}`, kind: 'run', state: s === 0 || finished ? 'completed' : s === 1 ? (state === 'waiting_intervention' ? 'waiting_intervention' : 'running') : 'pending',
      attempts: 1, exitCode: s === 0 ? 0 : null, node: pick(nodes).nodeId, startedAt: createdAt, endedAt: s === 0 ? createdAt + 1500 : null, durationMs: s === 0 ? 1500 : null,
      stdout: '', stderr: '', error: null, choice: null, comment: null, step: '', needs: [], instance: {}, outputs: {}, artifacts: [], uses: [], retryAt: null
    }))
    return {
      id: `wf-${hex(16)}`, name: pick(['release', 'backup', 'deploy-site', 'rotate-keys', 'nightly-tests']), state, source: 'catalogue', node: node.nodeId, requestedBy: 'alice',
      createdAt, startedAt: createdAt + 100, endedAt: finished ? createdAt + 60_000 : null, currentStep: finished ? null : 'step-1', error: state === 'failed' ? 'step-1 exited with 2' : null,
      inputs: { env: pick(['staging', 'production']) }, steps,
      intervention: state === 'waiting_intervention' ? { stepId: 'step-1', prompt: `Deploy build ${i} to production?`, choices: ['approve', 'reject'], reason: 'approval', requestedAt: createdAt + 5000, approvers: [], quorum: 1, approvals: [] } : null,
      interventions: state === 'waiting_intervention' ? [{ stepId: 'step-1', prompt: `Deploy build ${i} to production?`, choices: ['approve', 'reject'], reason: 'approval', requestedAt: createdAt + 5000, approvers: [], quorum: 1, approvals: [] }] : []
    }
  })
  const audit: AuditRecord[] = Array.from({ length: AUDIT }, (_, seq) => ({
    seq, prevHash: hex(64), hash: hex(64), signature: hex(128), originSignature: null,
    entry: {
      timestamp: T0 - (AUDIT - seq) * 1000, sourceNodeId: pick(nodes).nodeId, workflowId: pick(workflows).id, workflowStep: 'step-1', executionContext: 'SE_DISTRIBUTED',
      domains: ['workflow'], files: [], interventionRequired: false, performanceMetrics: {}, event: pick(['step_exec_start', 'workflow_start', 'node_join', 'workload_deployed']), message: `step ${seq} of a workflow on ${pick(nodes).name}`, decision: null
    }
  }))
  return { snapshot: { nodes, workloads, workflows, meshName: 'bench-mesh', at: T0 }, audit }
}

export async function benchDashboard (): Promise<Result[]> {
  const { snapshot, audit } = fakeData()
  let at = T0
  // The model's clock follows the snapshots, so ages and uptimes move as they would live.
  const model = new DashboardModel({ now: () => at })
  model.addAudit(audit)
  const json = JSON.stringify(snapshot)
  // Every result feeds this, so the engine cannot drop work whose result looks unused.
  let sink = 0
  // What source.ts and screen.ts do per tick: update, then compute everything drawn.
  const refresh = (): number => {
    const start = now()
    at += REFRESH_MS
    model.update({ ...snapshot, at })
    for (const pane of ['nodes', 'workloads', 'workflows'] as const) {
      const t = model.table(pane)
      sink += tableLines(t.header, t.rows, WIDTH).length
    }
    sink += model.nodeSummary().length + model.auditLines().length + model.cpuSeries().length + model.memorySeries().length + model.gauges().length
    sink += model.interventions().length + (model.current() === null ? 0 : 1) + model.statusBar(WIDTH).length
    return now() - start
  }
  const decode = (): number => {
    const start = now()
    sink += (JSON.parse(json) as Snapshot).workloads.length
    return now() - start
  }
  for (let i = 0; i < WARMUP; i++) { refresh(); decode() }
  const refreshes: number[] = []
  const decodes: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    refreshes.push(refresh())
    decodes.push(decode())
  }
  if (sink === 0) throw new Error('the dashboard computed nothing')
  const r = median(refreshes)
  const d = median(decodes)
  const share = `${ms(r)} ms per refresh = ${(r / REFRESH_MS * 100).toFixed(1)}% of a ${REFRESH_MS / 1000} s tick`
  return [{
    name: 'dashboard refresh',
    subject: `${ms(r)} ms/refresh`,
    baseline: `${ms(d)} ms/JSON decode`,
    ratio: r / d,
    goal: null,
    note: `${share}; median of ${ROUNDS} after ${WARMUP} warm-up (graphs at their 5 min window); snapshot ${Math.round(json.length / 1024)} KiB as JSON, ${model.interventions().length} interventions pending`
  }, {
    name: 'dashboard refresh per 1s tick',
    subject: `${ms(r)} ms/refresh`,
    baseline: `${REFRESH_MS} ms tick`,
    ratio: r / REFRESH_MS,
    goal: { kind: 'lt', limit: 0.02 },
    note: `${share}; the issue's idle budget is under 2% of one core`
  }]
}
