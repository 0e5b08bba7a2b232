// An engine that runs nothing, for unit tests of the logic around engines and
// for demos: it records every plan and call, and fails, delays, crashes or
// remaps ports when told to.
import { SeError, type ErrorDetail } from '../errors.js'
import type { ProcessHandle } from '../ports.js'
import type { ContainerObservation, ContainerStepSpec, ContainerUsage, EngineAvailability, LogFollow, LogLine, WorkloadEngine, WorkloadPlan } from './types.js'

type Operation = 'deploy' | 'observe' | 'stats' | 'remove' | 'runContainer'

interface MockContainer { state: ContainerObservation['state'], exitCode: number | null, restarts: number, startedAt: number, logs: LogLine[] }

export interface MockEngineOptions {
  name?: string
  available?: boolean
  /** What check() reports for every plan. */
  problems?: ErrorDetail[]
  now?: () => number
}

export class MockEngine implements WorkloadEngine {
  readonly name: string
  /** Every plan deploy() was given, in order (the verification API). */
  readonly deployed: WorkloadPlan[] = []
  readonly removed: string[] = []
  readonly calls: Array<{ op: Operation, workloadIds: string[] }> = []
  readonly containerRuns: ContainerStepSpec[] = []
  /** Host ports as the engine "mapped" them, when a test asks for remapping. */
  readonly portMappings = new Map<string, Array<{ containerPort: number, hostPort: number }>>()
  available: boolean
  problems: ErrorDetail[]
  private readonly failures = new Map<Operation, SeError[]>()
  private readonly delays = new Map<Operation, number>()
  private readonly running = new Map<string, Map<string, MockContainer>>()
  private readonly now: () => number
  private nextHostPort = 0

  constructor (opts: MockEngineOptions = {}) {
    this.name = opts.name ?? 'mock'
    this.available = opts.available ?? true
    this.problems = opts.problems ?? []
    this.now = opts.now ?? (() => Date.now())
  }

  /** The next call of `op` fails with this error. */
  failNext (op: Operation, error: SeError = SeError.mockEngineFailed(op)): void {
    this.failures.set(op, [...(this.failures.get(op) ?? []), error])
  }

  delay (op: Operation, ms: number): void {
    this.delays.set(op, ms)
  }

  /** Host ports assigned from `first` upwards for ports without one. */
  assignPortsFrom (first: number): void {
    this.nextHostPort = first
  }

  /** A container of a deployed workload exits, as if it crashed. */
  exit (workloadId: string, container: string, exitCode: number): void {
    const c = this.running.get(workloadId)?.get(container)
    if (c === undefined) throw new Error(`mock: no container ${container} in ${workloadId}`)
    c.state = 'exited'
    c.exitCode = exitCode
  }

  restart (workloadId: string, container: string): void {
    const c = this.running.get(workloadId)?.get(container)
    if (c === undefined) throw new Error(`mock: no container ${container} in ${workloadId}`)
    c.state = 'running'
    c.exitCode = null
    c.restarts++
    c.startedAt = this.now()
  }

  /** The engine loses a workload's containers (a person ran `podman rm`). */
  lose (workloadId: string): void {
    this.running.delete(workloadId)
  }

  log (workloadId: string, container: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.running.get(workloadId)?.get(container)?.logs.push({ container, stream, text })
  }

  isRunning (workloadId: string): boolean {
    return this.running.has(workloadId)
  }

  private async step (op: Operation, ids: string[]): Promise<void> {
    this.calls.push({ op, workloadIds: ids })
    const ms = this.delays.get(op)
    if (ms !== undefined) await new Promise(resolve => setTimeout(resolve, ms))
    const queued = this.failures.get(op)
    const failure = queued?.shift()
    if (failure !== undefined) throw failure
  }

  async availability (): Promise<EngineAvailability> {
    return this.available ? { available: true } : { available: false, reason: `${this.name} is switched off`, install: `turn ${this.name} on` }
  }

  check (_plan: WorkloadPlan): ErrorDetail[] {
    return this.problems
  }

  async deploy (plan: WorkloadPlan): Promise<void> {
    await this.step('deploy', [plan.id])
    this.deployed.push(structuredClone(plan))
    const containers = new Map<string, MockContainer>()
    const mapped: Array<{ containerPort: number, hostPort: number }> = []
    for (const pod of plan.pods) {
      for (const c of pod.containers) {
        containers.set(`${pod.name}/${c.name}`, { state: 'running', exitCode: null, restarts: 0, startedAt: this.now(), logs: [] })
        for (const p of c.ports) mapped.push({ containerPort: p.containerPort, hostPort: p.hostPort ?? (this.nextHostPort > 0 ? this.nextHostPort++ : 0) })
      }
    }
    this.running.set(plan.id, containers)
    this.portMappings.set(plan.id, mapped)
  }

  async observe (plans: WorkloadPlan[]): Promise<Map<string, ContainerObservation[]>> {
    await this.step('observe', plans.map(p => p.id))
    const out = new Map<string, ContainerObservation[]>()
    for (const plan of plans) {
      const running = this.running.get(plan.id)
      out.set(plan.id, plan.pods.flatMap(pod => pod.containers.map(c => {
        const m = running?.get(`${pod.name}/${c.name}`)
        return m === undefined
          ? { pod: pod.name, name: c.name, state: 'missing' as const, exitCode: null, restarts: 0, startedAt: null }
          : { pod: pod.name, name: c.name, state: m.state, exitCode: m.exitCode, restarts: m.restarts, startedAt: m.startedAt }
      })))
    }
    return out
  }

  logs (plan: WorkloadPlan, opts: { follow: boolean, tail: number }, onLine: (line: LogLine) => void): LogFollow {
    for (const c of this.running.get(plan.id)?.values() ?? []) {
      const lines = opts.tail < 0 ? c.logs : c.logs.slice(-opts.tail)
      for (const l of lines) onLine(l)
    }
    let stop = (): void => {}
    const done = opts.follow ? new Promise<void>(resolve => { stop = resolve }) : Promise.resolve()
    return { done, stop: () => stop() }
  }

  async stats (plans: WorkloadPlan[]): Promise<ContainerUsage[]> {
    await this.step('stats', plans.map(p => p.id))
    return plans.flatMap(plan => plan.pods.flatMap(pod => pod.containers
      .filter(c => this.running.get(plan.id)?.get(`${pod.name}/${c.name}`)?.state === 'running')
      .map(c => ({ workloadId: plan.id, pod: pod.name, name: c.name, cpuPercent: 0, memoryBytes: 1024 * 1024, memoryLimitBytes: c.memoryBytes, netInBytes: 0, netOutBytes: 0, pids: 1 }))))
  }

  async remove (plan: WorkloadPlan): Promise<void> {
    await this.step('remove', [plan.id])
    this.running.delete(plan.id)
    this.removed.push(plan.id)
  }

  runContainer (spec: ContainerStepSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle {
    this.containerRuns.push(structuredClone(spec))
    const started = this.now()
    const result = this.step('runContainer', []).then(() => {
      const text = `${spec.container.image} ${[spec.command, ...spec.args].join(' ')}\n`
      onOutput('stdout', text)
      return { exitCode: 0, signal: null, stdout: text, stderr: '', durationMs: this.now() - started, timedOut: false, spawnError: null }
    }, (err: SeError) => ({ exitCode: 125, signal: null, stdout: '', stderr: err.reason, durationMs: this.now() - started, timedOut: false, spawnError: err.reason }))
    return { result, kill: () => {} }
  }
}
