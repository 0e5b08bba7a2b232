// Workloads as plain host processes, for machines without a container runtime:
// each container's command runs on the host in the workload's directory, kept
// alive by the pod's restart policy, its output kept in memory for `se logs`
// and appended to a file beside the plan. Nothing is isolated or limited, and
// nothing survives the node: after a restart every container reads as missing.
import { SeError, type ErrorDetail } from '../errors.js'
import { join } from '../paths.js'
import type { AppendFile, ProcessHandle, ProcessResult, Runtime } from '../ports.js'
import type { ContainerObservation, ContainerPlan, ContainerUsage, DeployProgress, EngineAvailability, LogFollow, LogLine, PodPlan, WorkloadEngine, WorkloadPlan } from './types.js'

const DEFAULT_RESTART_BACKOFF_MS = 1000
const MAX_RESTART_BACKOFF_MS = 30_000
/** A run shorter than this counts as a crash loop and doubles the next backoff. */
const STABLE_RUN_MS = 10_000
/** How long deploy watches for commands that cannot start at all (not found, bad cwd). */
const SPAWN_SETTLE_MS = 300
/** The runner force-kills after 5 s; past this a grandchild still holds the output pipes. */
const REMOVE_WAIT_MS = 8000
const LOG_LINES_KEPT = 1000
/** Output without a newline is cut into lines of this length rather than held forever. */
const MAX_LINE_CHARS = 64 * 1024
const PERCENT = 100

type Stream = 'stdout' | 'stderr'
type Timer = ReturnType<typeof setTimeout>

export interface ProcessEngineOptions {
  /** The first wait before a restart; doubled per consecutive quick failure. */
  restartBackoffMs?: number
}

/** One container of a deployed pod and everything that happened to it. */
interface Run {
  /** `<pod>/<container>`, as log lines name it. */
  key: string
  pod: PodPlan
  container: ContainerPlan
  handle: ProcessHandle | null
  state: 'running' | 'exited'
  exitCode: number | null
  spawnError: string | null
  restarts: number
  startedAt: number | null
  quickFailures: number
  restartTimer: Timer | null
  lines: Ring<{ stream: Stream, text: string }>
  split: Record<Stream, LineSplitter>
  file: AppendFile | null
  /** Appends in order; the file is closed only after the last one. */
  writes: Promise<void>
  fileFailed: boolean
  sample: { pid: number, cpuMs: number, at: number } | null
}

interface Follower { onLine: (line: LogLine) => void, end: () => void }

interface Workload {
  plan: WorkloadPlan
  runs: Run[]
  followers: Set<Follower>
  /** True while deploy watches for spawn failures, which fail the deploy instead of restarting. */
  settling: boolean
  removed: boolean
  removing: Promise<void> | null
}

export class ProcessEngine implements WorkloadEngine {
  readonly name = 'process'
  private readonly workloads = new Map<string, Workload>()
  private readonly backoffMs: number

  constructor (private readonly runtime: Pick<Runtime, 'processes' | 'fs' | 'clock' | 'system' | 'log'>, opts: ProcessEngineOptions = {}) {
    this.backoffMs = opts.restartBackoffMs ?? DEFAULT_RESTART_BACKOFF_MS
  }

  async availability (): Promise<EngineAvailability> {
    return { available: true }
  }

  check (plan: WorkloadPlan): ErrorDetail[] {
    // Every pod is a replica of one spec: naming the first pod's containers names them all.
    const first = plan.pods[0]
    if (first === undefined) return []
    const at = plan.kind === 'Deployment' ? 'spec.template.spec' : 'spec'
    const details: ErrorDetail[] = []
    first.containers.forEach((c, i) => {
      if (c.command !== null && c.command.length > 0) return
      details.push({
        file: plan.source,
        path: `${at}.containers[${i}].command`,
        message: "the process engine runs the container's command on the host and cannot use the image's entrypoint: give a command (or install podman)"
      })
    })
    return details
  }

  async deploy (plan: WorkloadPlan, progress?: DeployProgress): Promise<void> {
    const problems = this.check(plan)
    if (problems.length > 0) throw SeError.validation(`manifest ${plan.source} for the process engine`, problems)
    // A second deploy of the same id replaces the first rather than orphaning it.
    if (this.workloads.has(plan.id)) await this.remove(plan)
    await this.runtime.fs.mkdirp(plan.dir)
    const workload: Workload = { plan, runs: [], followers: new Set(), settling: true, removed: false, removing: null }
    this.workloads.set(plan.id, workload)
    try {
      for (const pod of plan.pods) {
        for (const container of pod.containers) workload.runs.push(await this.newRun(plan, pod, container))
      }
    } catch (err) {
      await this.remove(plan)
      throw SeError.workloadLogsUnopenable(plan.name, plan.dir, err)
    }
    progress?.('start', `starting ${workload.runs.length} process${workload.runs.length === 1 ? '' : 'es'}: ${workload.runs.map(r => r.key).join(', ')}`)
    const settled = await new Promise<Run | null>(resolve => {
      const timer = setTimeout(() => resolve(null), SPAWN_SETTLE_MS)
      for (const run of workload.runs) {
        const handle = this.start(workload, run)
        void handle?.result.then(r => {
          if (r.spawnError === null) return
          clearTimeout(timer)
          resolve(run)
        })
      }
    })
    workload.settling = false
    // A failure that landed just as the window closed was not restarted either: it fails the deploy too.
    const failed = settled ?? workload.runs.find(r => r.spawnError !== null) ?? null
    if (failed !== null) {
      await this.remove(plan)
      throw SeError.containerDidNotStart(plan.name, failed.key, failed.spawnError)
    }
    if (workload.removed) throw SeError.removedWhileStarting(plan.name)
  }

  async observe (plans: WorkloadPlan[]): Promise<Map<string, ContainerObservation[]>> {
    const out = new Map<string, ContainerObservation[]>()
    for (const plan of plans) {
      const workload = this.workloads.get(plan.id)
      out.set(plan.id, plan.pods.flatMap(pod => pod.containers.map(c => {
        const run = workload?.runs.find(r => r.pod.name === pod.name && r.container.name === c.name)
        if (run === undefined) return { pod: pod.name, name: c.name, state: 'missing' as const, exitCode: null, restarts: 0, startedAt: null }
        return { pod: pod.name, name: c.name, state: run.state, exitCode: run.exitCode, restarts: run.restarts, startedAt: run.startedAt }
      })))
    }
    return out
  }

  logs (plan: WorkloadPlan, opts: { follow: boolean, tail: number }, onLine: (line: LogLine) => void): LogFollow {
    const workload = this.workloads.get(plan.id)
    for (const run of workload?.runs ?? []) {
      const kept = run.lines.items()
      const lines = opts.tail < 0 ? kept : kept.slice(kept.length - Math.min(opts.tail, kept.length))
      for (const l of lines) onLine({ container: run.key, stream: l.stream, text: l.text })
    }
    if (!opts.follow || workload === undefined || workload.removed) return { done: Promise.resolve(), stop: () => {} }
    let follower: Follower | undefined
    const done = new Promise<void>(resolve => {
      follower = { onLine, end: () => { workload.followers.delete(follower as Follower); resolve() } }
      workload.followers.add(follower)
    })
    return { done, stop: () => follower?.end() }
  }

  async stats (plans: WorkloadPlan[]): Promise<ContainerUsage[]> {
    const usage: ContainerUsage[] = []
    for (const plan of plans) {
      for (const run of this.workloads.get(plan.id)?.runs ?? []) {
        const pid = run.handle?.pid
        if (run.state !== 'running' || pid === undefined) continue
        const now = this.runtime.clock.now()
        const used = await this.runtime.system.processUsage(pid)
        if (used === null) continue
        // Since the last look at the same process, else over its whole life.
        const last = run.sample?.pid === pid ? run.sample : { pid, cpuMs: 0, at: run.startedAt ?? now }
        const wallMs = now - last.at
        run.sample = { pid, cpuMs: used.cpuMs, at: now }
        usage.push({
          workloadId: plan.id,
          pod: run.pod.name,
          name: run.container.name,
          cpuPercent: wallMs > 0 ? Math.max(0, (used.cpuMs - last.cpuMs) / wallMs * PERCENT) : 0,
          memoryBytes: used.rssBytes,
          memoryLimitBytes: null,
          netInBytes: 0,
          netOutBytes: 0,
          pids: 1
        })
      }
    }
    return usage
  }

  async remove (plan: WorkloadPlan): Promise<void> {
    const workload = this.workloads.get(plan.id)
    if (workload === undefined) return
    workload.removing ??= this.teardown(workload)
    await workload.removing
  }

  private async teardown (workload: Workload): Promise<void> {
    workload.removed = true
    for (const run of workload.runs) {
      if (run.restartTimer !== null) clearTimeout(run.restartTimer)
      run.restartTimer = null
      if (run.state === 'running') run.handle?.kill('SIGTERM')
    }
    const ended = Promise.all(workload.runs.map(async r => { await r.handle?.result }))
    let timer: Timer | undefined
    const gaveUp = await Promise.race([
      ended.then(() => false),
      new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(true), REMOVE_WAIT_MS) })
    ])
    clearTimeout(timer)
    if (gaveUp) this.runtime.log.warn(`workload ${workload.plan.id}: output still open ${REMOVE_WAIT_MS / 1000} s after the kill; a child of its command may have outlived it`)
    for (const run of workload.runs) {
      for (const stream of ['stdout', 'stderr'] as const) for (const text of run.split[stream].end()) this.line(workload, run, stream, text)
      const file = run.file
      run.file = null
      await run.writes
      await file?.close().catch(() => {})
    }
    for (const f of [...workload.followers]) f.end()
    if (this.workloads.get(workload.plan.id) === workload) this.workloads.delete(workload.plan.id)
  }

  private async newRun (plan: WorkloadPlan, pod: PodPlan, container: ContainerPlan): Promise<Run> {
    return {
      key: `${pod.name}/${container.name}`,
      pod,
      container,
      handle: null,
      state: 'exited',
      exitCode: null,
      spawnError: null,
      restarts: 0,
      startedAt: null,
      quickFailures: 0,
      restartTimer: null,
      lines: new Ring(LOG_LINES_KEPT),
      split: { stdout: new LineSplitter(), stderr: new LineSplitter() },
      file: await this.runtime.fs.openAppend(join(plan.dir, `${pod.name}-${container.name}.log`)),
      writes: Promise.resolve(),
      fileFailed: false,
      sample: null
    }
  }

  private start (workload: Workload, run: Run): ProcessHandle | null {
    if (workload.removed) return null
    const [command, ...rest] = run.container.command ?? []
    if (command === undefined) return null
    const handle = this.runtime.processes.run({
      command,
      args: [...rest, ...run.container.args],
      cwd: run.container.workingDir ?? workload.plan.dir,
      env: run.container.env,
      // A shell's children (`sh -c 'a; b'`) must stop with it, as they would with their container.
      processGroup: true
    }, (stream, text) => {
      for (const line of run.split[stream].push(text)) this.line(workload, run, stream, line)
    })
    run.handle = handle
    run.state = 'running'
    run.exitCode = null
    run.spawnError = null
    run.startedAt = this.runtime.clock.now()
    run.sample = null
    void handle.result.then(r => this.exited(workload, run, handle, r))
    return handle
  }

  private exited (workload: Workload, run: Run, handle: ProcessHandle, r: ProcessResult): void {
    if (run.handle !== handle) return
    for (const stream of ['stdout', 'stderr'] as const) for (const text of run.split[stream].end()) this.line(workload, run, stream, text)
    run.state = 'exited'
    run.exitCode = r.exitCode
    run.spawnError = r.spawnError
    if (workload.removed || (workload.settling && r.spawnError !== null)) return
    const policy = run.pod.restartPolicy
    const failed = r.exitCode !== 0
    if (policy === 'Never' || (policy === 'OnFailure' && !failed)) return
    const ranMs = this.runtime.clock.now() - (run.startedAt ?? 0)
    run.quickFailures = ranMs < STABLE_RUN_MS ? run.quickFailures + 1 : 0
    const waitMs = Math.min(this.backoffMs * 2 ** Math.max(0, run.quickFailures - 1), MAX_RESTART_BACKOFF_MS)
    const why = r.spawnError ?? (r.exitCode === null ? `was killed by ${r.signal ?? 'a signal'}` : `exited with code ${r.exitCode}`)
    this.runtime.log.warn(`workload ${workload.plan.id}: ${run.key} ${r.spawnError === null ? why : `could not start: ${why}`}; restarting in ${waitMs} ms (${policy})`)
    run.restartTimer = setTimeout(() => {
      run.restartTimer = null
      if (workload.removed) return
      run.restarts++
      this.start(workload, run)
    }, waitMs)
  }

  private line (workload: Workload, run: Run, stream: Stream, text: string): void {
    run.lines.push({ stream, text })
    const file = run.file
    if (file !== null && !run.fileFailed) {
      run.writes = run.writes.then(() => file.append(`${text}\n`)).catch(err => {
        // Once is enough: a full disk would otherwise warn on every line.
        if (!run.fileFailed) this.runtime.log.warn(`workload ${workload.plan.id}: cannot write the log of ${run.key}: ${(err as Error).message}`)
        run.fileFailed = true
      })
    }
    for (const f of workload.followers) {
      try {
        f.onLine({ container: run.key, stream, text })
      } catch (err) {
        // A broken reader must not take the process's output handling down with it.
        this.runtime.log.warn(`workload ${workload.plan.id}: a log follower failed and was dropped: ${(err as Error).message}`)
        f.end()
      }
    }
  }
}

/** The newest `limit` items pushed. */
class Ring<T> {
  private readonly buffer: T[] = []
  private next = 0

  constructor (private readonly limit: number) {}

  push (item: T): void {
    if (this.buffer.length < this.limit) this.buffer.push(item)
    else this.buffer[this.next] = item
    this.next = (this.next + 1) % this.limit
  }

  /** Oldest first. */
  items (): T[] {
    return this.buffer.length < this.limit ? [...this.buffer] : [...this.buffer.slice(this.next), ...this.buffer.slice(0, this.next)]
  }
}

/** Whole lines out of output chunks; the unfinished tail waits for the next chunk. */
class LineSplitter {
  private rest = ''

  push (text: string): string[] {
    const parts = (this.rest + text).split('\n')
    this.rest = parts.pop() ?? ''
    const lines = parts.map(stripCr)
    while (this.rest.length > MAX_LINE_CHARS) {
      lines.push(this.rest.slice(0, MAX_LINE_CHARS))
      this.rest = this.rest.slice(MAX_LINE_CHARS)
    }
    return lines
  }

  end (): string[] {
    const rest = this.rest
    this.rest = ''
    return rest === '' ? [] : [stripCr(rest)]
  }
}

function stripCr (line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}
