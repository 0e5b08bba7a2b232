// The node's workloads and its container steps: both run on the engines the
// node was started with; a node started without any answers that it runs none.
import { DEFAULT_MEMORY_BUDGET_SHARE } from '../constants.js'
import { SeError } from '../errors.js'
import type { ProcessHandle, Runtime } from '../ports.js'
import type { ContainerStats, DeployRequest, WorkloadEvent, WorkloadLogLine, WorkloadStatus } from '../protocol/types.js'
import { CONTAINER_CAPABILITY, stepKind } from '../workflow/step-kind.js'
import type { StepExecutor } from '../workflow/engine.js'
import { WorkloadManager } from '../workload/manager.js'
import { EngineSelector } from '../workload/select.js'
import type { WorkloadConfig } from '../workload/settings.js'
import type { ContainerStepSpec, WorkloadEngine } from '../workload/types.js'
import type { AuditInput } from '../audit/log.js'

type OnOutput = (stream: 'stdout' | 'stderr', text: string) => void

export interface WorkloadServiceOptions {
  runtime: Runtime
  config: WorkloadConfig | undefined
  dataDir: string
  nodeId: string
  nodeName: string
  /** Whether this node advertises the container engine (capabilities decide, not the config alone). */
  advertisesContainers: boolean
  audit: (input: AuditInput) => Promise<void>
  /** Announces and withdraws a workload's name to the mesh; nothing without one. */
  provide: (name: string) => void
  withdraw: (name: string) => void
}

export class WorkloadService {
  private manager: WorkloadManager | null = null

  constructor (private readonly o: WorkloadServiceOptions) {}

  async open (): Promise<void> {
    const config = this.o.config
    if (config === undefined) return
    const { fs, clock, crypto, log, system } = this.o.runtime
    const manager = new WorkloadManager({
      fs,
      clock,
      crypto,
      log,
      engines: new EngineSelector(config.engines, config.preferred, () => clock.now()),
      dataDir: this.o.dataDir,
      nodeId: this.o.nodeId,
      nodeName: this.o.nodeName,
      memoryBudgetBytes: config.memoryBudgetBytes ?? Math.floor(system.memoryTotalMb * 2 ** 20 * DEFAULT_MEMORY_BUDGET_SHARE),
      ...(config.maxWorkloads === undefined ? {} : { maxWorkloads: config.maxWorkloads }),
      ...(config.healthIntervalMs === undefined ? {} : { healthIntervalMs: config.healthIntervalMs }),
      audit: this.o.audit,
      provide: this.o.provide,
      withdraw: this.o.withdraw
    })
    await manager.open()
    this.manager = manager
  }

  async close (): Promise<void> {
    await this.manager?.close()
  }

  /** How many workloads run here now (for the node's load sample). */
  count (): number {
    return this.manager?.count() ?? 0
  }

  async deploy (request: DeployRequest, onEvent?: (event: WorkloadEvent) => boolean | void): Promise<WorkloadStatus> {
    if (onEvent === undefined) return await this.must().deploy(request)
    let listening = true
    return await this.must().deploy(request, e => { if (listening && onEvent(e) === false) listening = false })
  }
  list (): WorkloadStatus[] { return this.manager?.list() ?? [] }
  async remove (id: string): Promise<WorkloadStatus> { return await this.must().remove(id) }
  async stats (id: string | null): Promise<ContainerStats[]> { return await this.must().stats(id) }

  async logs (id: string, follow: boolean, tail: number, onLine: (line: WorkloadLogLine) => boolean | void, onCancel?: (listener: () => void) => void): Promise<boolean> {
    let stop: (() => void) | null = null
    return await this.must().logs(id, follow, tail, line => { if (onLine(line) === false) stop?.() }, s => { stop = s; onCancel?.(s) })
  }

  watch (onEvent: (event: WorkloadEvent) => boolean | void, onCancel?: (listener: () => void) => void): Promise<boolean> {
    const manager = this.must()
    return new Promise(resolve => {
      const off = manager.onEvent(e => { if (onEvent(e) === false) { off(); resolve(true) } })
      onCancel?.(() => { off(); resolve(true) })
    })
  }

  /** Container steps of workflows, run by the engine that runs container workloads. */
  stepExecutor (): StepExecutor {
    return {
      canRun: (_run, step) => stepKind(step) === 'container' && this.containerRunner() !== null,
      run: (_run, _step, spec, onOutput) => this.runContainer(spec as ContainerStepSpec, onOutput)
    }
  }

  runContainer (spec: ContainerStepSpec, onOutput: OnOutput): ProcessHandle {
    const engine = this.containerRunner()
    if (engine?.runContainer === undefined) throw SeError.noContainerEngine(spec.container.image)
    return engine.runContainer(spec, onOutput)
  }

  /** The engine that runs container steps here: podman when this node advertises it. */
  private containerRunner (): WorkloadEngine | null {
    if (!this.o.advertisesContainers) return null
    const engine = this.o.config?.engines.find(e => e.name === CONTAINER_CAPABILITY)
    return engine?.runContainer === undefined ? null : engine
  }

  private must (): WorkloadManager {
    if (this.manager === null) throw SeError.runsNoWorkloads(this.o.nodeName)
    return this.manager
  }
}
