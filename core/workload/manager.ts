// The node's workloads: deploys them within the node's budgets, keeps one
// record per workload on disk (written atomically), watches their health, and
// tells the audit trail and the event stream when a workload is deployed,
// starts, exits, fails or is removed.
import b4a from 'b4a'
import { SeError, toSeError } from '../errors.js'
import { join } from '../paths.js'
import type { Clock, Crypto, FileSystem, Logger } from '../ports.js'
import type { AuditInput } from '../audit/log.js'
import { toHex } from '../hex.js'
import type { ContainerStats, DeployRequest, WorkloadContainer, WorkloadEvent, WorkloadLogLine, WorkloadStatus } from '../protocol/types.js'
import type { Manifest } from './manifest.js'
import { NODE_LABEL } from './pod-files.js'
import { formatBytes, parsePodmanSize } from './quantity.js'
import type { EngineSelector } from './select.js'
import type { ContainerObservation, LogFollow, WorkloadEngine, WorkloadPlan } from './types.js'

export const MAX_WORKLOADS = 10
export const HEALTH_INTERVAL_MS = 2000
/** Lines of each container `se logs` shows unless asked for more. */
export const DEFAULT_LOG_TAIL = 100

/** States in which a workload holds a slot and its memory. */
const ACTIVE = new Set(['deploying', 'starting', 'running', 'exited', 'failed', 'removing'])

interface WorkloadRecord {
  status: WorkloadStatus
  plan: WorkloadPlan
  /** For a queued workload: the engine it asked for. */
  requestedEngine: string | null
}

export interface WorkloadManagerOptions {
  fs: FileSystem
  clock: Clock
  crypto: Crypto
  log: Logger
  engines: EngineSelector
  dataDir: string
  nodeId: string
  nodeName: string
  memoryBudgetBytes: number
  maxWorkloads?: number
  healthIntervalMs?: number
  audit: (input: AuditInput) => Promise<void>
  /** Provider records on the mesh, where the node is in one. */
  provide?: (name: string) => void
  withdraw?: (name: string) => void
}

export class WorkloadManager {
  private readonly records = new Map<string, WorkloadRecord>()
  private readonly listeners = new Set<(event: WorkloadEvent) => void>()
  private readonly follows = new Set<LogFollow>()
  private readonly dir: string
  private timer: ReturnType<typeof setInterval> | null = null
  private checking: Promise<void> | null = null
  /** Deploys and removals one at a time, so budgets are counted against settled numbers. */
  private lock: Promise<unknown> = Promise.resolve()
  /** Deploys and removals queued or under way, for a deploy to say what it waits for. */
  private deploying = 0
  /** Ids given to deploys still waiting their turn. */
  private readonly reserved = new Set<string>()
  private stopped = false

  constructor (private readonly o: WorkloadManagerOptions) {
    this.dir = join(o.dataDir, 'workloads')
  }

  get maxWorkloads (): number { return this.o.maxWorkloads ?? MAX_WORKLOADS }

  onEvent (listener: (event: WorkloadEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async open (): Promise<void> {
    const { fs, log } = this.o
    await fs.mkdirp(this.dir)
    for (const name of (await fs.list(this.dir)).sort()) {
      if (!name.endsWith('.json')) continue
      const file = join(this.dir, name)
      try {
        const record = JSON.parse(b4a.toString(await fs.read(file) ?? b4a.from('null'), 'utf8')) as WorkloadRecord
        if (typeof record?.status?.id !== 'string' || !Array.isArray(record.plan?.pods)) throw new Error('not a workload record')
        this.records.set(record.status.id, record)
      } catch (err) {
        log.warn(`workload file ${file} is unreadable and was left in place: ${(err as Error).message}`)
      }
    }
    // Processes die with the node that started them; containers outlive it.
    for (const r of this.records.values()) {
      if (r.status.engine === 'process' && ['starting', 'running', 'deploying'].includes(r.status.state)) {
        await this.runWith(r, this.o.engines.engine('process'), 'restarted with the node').catch(() => {})
      }
      if (r.status.state === 'removing') await this.remove(r.status.id).catch(() => {})
    }
    for (const r of this.active()) this.o.provide?.(r.status.name)
    // Slots may have come free while the node was down (or the limit was raised).
    void this.dequeue()
    this.timer = setInterval(() => { void this.check() }, this.o.healthIntervalMs ?? HEALTH_INTERVAL_MS)
    void this.check()
  }

  async close (): Promise<void> {
    this.stopped = true
    if (this.timer !== null) clearInterval(this.timer)
    for (const f of this.follows) f.stop()
    await this.checking
  }

  list (): WorkloadStatus[] {
    return [...this.records.values()].map(r => r.status).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
  }

  count (): number {
    return this.active().filter(r => r.status.state === 'running').length
  }

  find (idOrName: string): WorkloadRecord {
    const exact = this.records.get(idOrName)
    if (exact !== undefined) return exact
    const all = [...this.records.values()]
    const byName = all.filter(r => r.status.name === idOrName)
    const matches = byName.length > 0 ? byName : all.filter(r => r.status.id.startsWith(idOrName))
    if (matches.length === 1) return matches[0] as WorkloadRecord
    if (matches.length > 1) throw SeError.badInput(`'${idOrName}' matches ${matches.length} workloads: ${matches.map(r => r.status.id).join(', ')}`)
    throw SeError.unknownWorkload(idOrName)
  }

  /**
   * Deploys a manifest. `onProgress` is told every event of this workload until the
   * call returns: waiting behind another deploy, pulls, creation, start, the first
   * health look. A caller that stops listening does not stop the deploy.
   */
  async deploy (req: DeployRequest, onProgress?: (event: WorkloadEvent) => void): Promise<WorkloadStatus> {
    // The manifest's parser (and YAML) loads with the first deploy, not with every node.
    const { parseManifest } = await import('./manifest.js')
    if (this.stopped) throw SeError.shuttingDown()
    const manifest = parseManifest(req.manifest, req.source)
    const memoryBytes = req.memory === null ? undefined : parsePodmanSize(req.memory)
    if (memoryBytes === null) throw SeError.badInput(`--memory '${req.memory ?? ''}' is not a size (expected e.g. 512m, 1g)`)
    if (req.cpus !== null && !(req.cpus > 0)) throw SeError.badInput(`--cpus ${req.cpus} is not a number of CPUs greater than 0`)
    if (req.replicas !== null && !(Number.isInteger(req.replicas) && req.replicas >= 1)) throw SeError.badInput(`--replicas ${req.replicas} is not a whole number of 1 or more`)
    // Named now, so the caller hears of it while it waits its turn.
    const id = this.newId(manifest.name)
    this.reserved.add(id)
    const off = onProgress === undefined ? null : this.onEvent(e => { if (e.workloadId === id) onProgress(e) })
    try {
      const ahead = this.deploying
      this.tell(id, manifest.name, 'accepted', 'deploying', `${manifest.kind} ${manifest.name} accepted as ${id}${ahead === 0 ? '' : `; waiting for ${ahead} other deploy${ahead === 1 ? '' : 's'} or removal${ahead === 1 ? '' : 's'} on this node to finish`}`)
      return await this.serial(async () => await this.deployNow(id, manifest, req, memoryBytes))
    } finally {
      off?.()
      this.reserved.delete(id)
    }
  }

  private async deployNow (id: string, manifest: Manifest, req: DeployRequest, memoryBytes: number | undefined): Promise<WorkloadStatus> {
    const { planWorkload } = await import('./manifest.js')
    const plan = planWorkload(manifest, {
      id,
      dir: join(this.dir, id),
      labels: { [NODE_LABEL]: this.o.nodeId.slice(0, 16) },
      env: req.env,
      ...(req.replicas === null ? {} : { replicas: req.replicas }),
      ...(memoryBytes === undefined ? {} : { memoryBytes }),
      ...(req.cpus === null ? {} : { cpus: req.cpus })
    })
    this.checkNames(plan)
    this.checkMemory(plan)
    const record: WorkloadRecord = { status: this.newStatus(plan), plan, requestedEngine: req.engine }
    if (this.active().length >= this.maxWorkloads) {
      // Check the engine now, so a manifest no engine can run is refused rather than queued.
      await this.o.engines.choose(plan, req.engine)
      record.status.state = 'queued'
      record.status.reason = `queued: ${this.active().length} of ${this.maxWorkloads} workloads deployed on this node (SE_MAX_WORKLOADS); it deploys when one is removed`
      await this.save(record)
      this.records.set(id, record)
      await this.event(record, 'queued', `${plan.name} ${id} queued: ${record.status.reason}`)
      return record.status
    }
    const { engine, note } = await this.o.engines.choose(plan, req.engine)
    await this.runWith(record, engine, note)
    return record.status
  }

  /** Deploys a record with an engine; on failure nothing of it is left, on disk or in the engine. */
  private async runWith (record: WorkloadRecord, engine: WorkloadEngine | undefined, note: string | null): Promise<void> {
    const { plan, status } = record
    if (engine === undefined) throw SeError.engineNotOnNode(status.engine)
    status.engine = engine.name
    status.state = 'deploying'
    status.reason = note
    this.records.set(plan.id, record)
    await this.save(record)
    try {
      await engine.deploy(plan, (phase, text) => { this.emit(record, phase, text) })
    } catch (err) {
      const e = toSeError(err)
      status.state = 'failed'
      status.reason = e.reason
      this.records.delete(plan.id)
      await this.forget(plan)
      await this.o.audit({ event: 'workload_failed', message: `${plan.name} ${plan.id} failed to deploy on ${engine.name}: ${e.reason}`, domains: ['workload'], files: [plan.source] })
      this.emit(record, 'failed', `${plan.name} failed to deploy: ${e.reason}`)
      throw e
    }
    status.state = 'starting'
    status.startedAt = this.o.clock.now()
    await this.save(record)
    await this.event(record, 'deployed', `${plan.name} ${plan.id} deployed on ${engine.name}: ${plan.pods.length} pod(s), ${plan.pods.reduce((n, p) => n + p.containers.length, 0)} container(s)${plan.memoryBytes > 0 ? `, ${formatBytes(plan.memoryBytes)} memory limit` : ''}${status.ports.length > 0 ? `, ports ${status.ports.join(' ')}` : ''}${note === null ? '' : ` (${note})`}`)
    this.o.provide?.(plan.name)
    // A look already under way began before this workload started: the first look at it is the next one.
    await this.checking
    await this.check()
    this.emit(record, 'health', firstLook(status))
  }

  async remove (idOrName: string): Promise<WorkloadStatus> {
    return await this.serial(async () => {
      const record = this.find(idOrName)
      const { status, plan } = record
      if (status.state !== 'queued') {
        status.state = 'removing'
        await this.save(record)
        const engine = this.o.engines.engine(status.engine)
        if (engine !== undefined) await engine.remove(plan)
      }
      status.state = 'removed'
      this.records.delete(plan.id)
      await this.forget(plan)
      await this.event(record, 'removed', `${plan.name} ${plan.id} removed`)
      if (!this.active().some(r => r.status.name === plan.name)) this.o.withdraw?.(plan.name)
      void this.dequeue()
      return status
    })
  }

  /** Fills free slots from the queue, oldest first; one that cannot deploy is dropped (and audited) so the rest move on. */
  private async dequeue (): Promise<void> {
    await this.serial(async () => {
      const queued = [...this.records.values()].filter(r => r.status.state === 'queued').sort((a, b) => a.status.createdAt - b.status.createdAt)
      for (const next of queued) {
        if (this.stopped || this.active().length >= this.maxWorkloads) return
        try {
          const { engine, note } = await this.o.engines.choose(next.plan, next.requestedEngine)
          await this.runWith(next, engine, note)
        } catch (err) {
          this.o.log.warn(`queued workload ${next.plan.id}: ${(err as Error).message}`)
          if (this.records.get(next.plan.id) === next) {
            this.records.delete(next.plan.id)
            await this.forget(next.plan)
            await this.event(next, 'failed', `${next.plan.name} ${next.plan.id} left the queue: ${(err as Error).message}`)
          }
        }
      }
    }).catch(() => {})
  }

  logs (idOrName: string, follow: boolean, tail: number, onLine: (line: WorkloadLogLine) => void, onCancel: (stop: () => void) => void): Promise<boolean> {
    const record = this.find(idOrName)
    const engine = this.o.engines.engine(record.status.engine)
    if (record.status.state === 'queued' || engine === undefined) return Promise.reject(SeError.badInput(`workload ${record.status.id} is ${record.status.state} and has no logs yet`))
    const stream = engine.logs(record.plan, { follow, tail }, line => onLine({ workloadId: record.status.id, ...line }))
    this.follows.add(stream)
    onCancel(() => stream.stop())
    return stream.done.then(() => true).finally(() => this.follows.delete(stream))
  }

  async stats (idOrName: string | null): Promise<ContainerStats[]> {
    const records = idOrName === null ? this.active() : [this.find(idOrName)]
    const out: ContainerStats[] = []
    for (const [engine, plans] of this.byEngine(records.filter(r => r.status.state !== 'queued'))) out.push(...await engine.stats(plans))
    return out
  }

  /** One health look at every workload; overlapping ticks share it. */
  check (): Promise<void> {
    this.checking ??= this.look().catch(err => this.o.log.warn(`workload health check: ${(err as Error).message}`)).finally(() => { this.checking = null })
    return this.checking
  }

  private async look (): Promise<void> {
    const records = this.active().filter(r => r.status.state !== 'deploying' && r.status.state !== 'removing')
    for (const [engine, plans] of this.byEngine(records)) {
      const seen = await engine.observe(plans)
      for (const plan of plans) {
        const record = this.records.get(plan.id)
        const containers = seen.get(plan.id)
        if (record === undefined || containers === undefined || !ACTIVE.has(record.status.state) || record.status.state === 'removing') continue
        await this.update(record, containers)
      }
    }
  }

  private async update (record: WorkloadRecord, seen: ContainerObservation[]): Promise<void> {
    const status = record.status
    const before = status.state
    const restartsBefore = status.restarts
    status.containers = status.containers.map(c => {
      const o = seen.find(s => s.pod === c.pod && s.name === c.name)
      return o === undefined ? c : { ...c, state: o.state, exitCode: o.exitCode, restarts: o.restarts }
    })
    status.restarts = seen.reduce((n, c) => n + c.restarts, 0)
    const missing = seen.filter(c => c.state === 'missing')
    const failed = seen.filter(c => (c.state === 'exited' || c.state === 'stopped') && c.exitCode !== 0)
    let state: string
    let reason: string | null = null
    if (missing.length > 0) { state = 'failed'; reason = `${missing.map(c => `${c.pod}/${c.name}`).join(', ')} no longer exist${missing.length === 1 ? 's' : ''} in ${status.engine}` } else if (failed.length > 0) { state = 'failed'; reason = failed.map(c => `${c.pod}/${c.name} exited with code ${c.exitCode ?? '?'}`).join(', ') } else if (seen.every(c => c.state === 'running')) state = 'running'
    else if (seen.every(c => c.state === 'exited' || c.state === 'stopped')) { state = 'exited'; reason = 'every container exited with code 0' } else state = 'starting'
    status.reason = reason
    if (state === before && status.restarts === restartsBefore) return
    status.state = state
    await this.save(record)
    if (state !== before) {
      const event = state === 'running' ? 'started' : state
      if (['started', 'exited', 'failed'].includes(event)) await this.event(record, event, `${status.name} ${status.id} ${event === 'started' ? 'is running' : state}${reason === null ? '' : `: ${reason}`}`)
    } else {
      await this.event(record, 'restarted', `${status.name} ${status.id}: ${status.restarts - restartsBefore} container restart(s), ${status.restarts} in all`)
    }
  }

  private byEngine (records: WorkloadRecord[]): Map<WorkloadEngine, WorkloadPlan[]> {
    const out = new Map<WorkloadEngine, WorkloadPlan[]>()
    for (const r of records) {
      const engine = this.o.engines.engine(r.status.engine)
      if (engine === undefined) continue
      out.set(engine, [...(out.get(engine) ?? []), r.plan])
    }
    return out
  }

  private active (): WorkloadRecord[] {
    return [...this.records.values()].filter(r => ACTIVE.has(r.status.state))
  }

  private checkNames (plan: WorkloadPlan): void {
    const taken = new Map<string, string>()
    for (const r of this.records.values()) for (const p of r.plan.pods) taken.set(p.name, r.status.id)
    const clash = plan.pods.find(p => taken.has(p.name))
    if (clash !== undefined) throw SeError.badInput(`a pod named ${clash.name} already runs here as workload ${taken.get(clash.name) ?? '?'}`, `remove it first (se remove ${taken.get(clash.name) ?? ''}) or give the manifest another metadata.name`)
  }

  private checkMemory (plan: WorkloadPlan): void {
    const used = [...this.records.values()].reduce((n, r) => n + r.plan.memoryBytes, 0)
    const budget = this.o.memoryBudgetBytes
    if (used + plan.memoryBytes > budget) {
      throw SeError.overBudget(plan.name, { needed: formatBytes(plan.memoryBytes), used: formatBytes(used), budget: formatBytes(budget), left: formatBytes(Math.max(0, budget - used)) })
    }
  }

  private newStatus (plan: WorkloadPlan): WorkloadStatus {
    const containers: WorkloadContainer[] = plan.pods.flatMap(p => p.containers.map(c => ({ pod: p.name, name: c.name, image: c.image, state: 'created', exitCode: null, restarts: 0 })))
    const first = plan.pods[0]
    const ports = (first?.containers ?? []).flatMap(c => c.ports.map(p => p.hostPort === null ? `${p.containerPort}/${p.protocol.toLowerCase()}` : `${p.hostPort}->${p.containerPort}/${p.protocol.toLowerCase()}`))
    const cpus = plan.pods.reduce((n, p) => n + p.containers.reduce((m, c) => m + (c.cpus ?? 0), 0), 0)
    return {
      id: plan.id,
      name: plan.name,
      kind: plan.kind,
      source: plan.source,
      engine: '',
      node: this.o.nodeId,
      nodeName: this.o.nodeName,
      state: 'deploying',
      reason: null,
      replicas: plan.pods.length,
      pods: plan.pods.map(p => p.name),
      ports,
      restarts: 0,
      createdAt: this.o.clock.now(),
      startedAt: null,
      memoryLimitBytes: plan.memoryBytes > 0 ? plan.memoryBytes : null,
      cpus: cpus > 0 ? cpus : null,
      containers
    }
  }

  private newId (name: string): string {
    for (;;) {
      const id = `${name}-${toHex(this.o.crypto.randomBytes(2))}`
      if (!this.records.has(id) && !this.reserved.has(id)) return id
    }
  }

  private async save (record: WorkloadRecord): Promise<void> {
    await this.o.fs.writeAtomic(join(this.dir, `${record.plan.id}.json`), JSON.stringify(record))
  }

  private async forget (plan: WorkloadPlan): Promise<void> {
    await this.o.fs.remove(join(this.dir, `${plan.id}.json`))
    await this.o.fs.remove(plan.dir).catch(() => {})
  }

  private async event (record: WorkloadRecord, event: string, text: string): Promise<void> {
    const names: Record<string, AuditInput['event']> = { queued: 'workload_queued', deployed: 'workload_deployed', started: 'workload_started', exited: 'workload_exited', failed: 'workload_failed', removed: 'workload_removed', restarted: 'workload_restarted' }
    const auditEvent = names[event]
    if (auditEvent !== undefined) await this.o.audit({ event: auditEvent, message: text, domains: ['workload'], ...(event === 'deployed' ? { files: [record.plan.source] } : {}) })
    this.emit(record, event, text)
  }

  private emit (record: WorkloadRecord, event: string, text: string): void {
    this.tell(record.status.id, record.status.name, event, record.status.state, text)
  }

  private tell (workloadId: string, name: string, event: string, state: string, text: string): void {
    const e: WorkloadEvent = { workloadId, name, event, state, text, at: this.o.clock.now() }
    for (const l of this.listeners) l(e)
  }

  private serial<T> (fn: () => Promise<T>): Promise<T> {
    this.deploying++
    const next = this.lock.catch(() => {}).then(fn).finally(() => { this.deploying-- })
    this.lock = next
    return next
  }
}

/** What the first health look after a deploy saw, in a person's words. */
function firstLook (status: WorkloadStatus): string {
  const running = status.containers.filter(c => c.state === 'running').length
  const others = status.containers.filter(c => c.state !== 'running').map(c => `${c.pod}/${c.name} ${c.state}${c.exitCode === null ? '' : ` (exit ${c.exitCode})`}`)
  return `first health look: ${status.state}, ${running} of ${status.containers.length} container${status.containers.length === 1 ? '' : 's'} running${others.length === 0 ? '' : `; ${others.join(', ')}`}${status.reason === null ? '' : ` — ${status.reason}`}`
}
