// Workloads and container steps on Podman, through its CLI: `kube play` of the
// rewritten manifest, JSON output (`--format json`) read back, never tables.
// Everything SE creates carries its workload label, so cleanup removes exactly
// what it created and nothing a person made by hand.
import { SeError, type ErrorDetail } from '../errors.js'
import type { FileSystem, ProcessHandle, ProcessResult, ProcessRunner } from '../ports.js'
import { WORKLOAD_LABEL, planFile, renderPods } from './pod-files.js'
import type { ContainerObservation, ContainerState, ContainerStepSpec, ContainerUsage, DeployProgress, EngineAvailability, LogFollow, LogLine, WorkloadEngine, WorkloadPlan } from './types.js'

const PODMAN = 'podman'
/** Long enough for `kube play` to pull an image on a slow link. */
const DEPLOY_TIMEOUT_MS = 10 * 60_000
const QUERY_TIMEOUT_MS = 30_000
/** Seconds a container gets to stop on removal before it is killed. */
const STOP_GRACE_SEC = 3
const INSTALL_HINT = 'install podman (Debian/Ubuntu: apt-get install podman runc catatonit; Fedora: dnf install podman) and check `podman info` works'

export interface PodmanEngineOptions {
  processes: ProcessRunner
  fs: FileSystem
  /** The podman executable; tests may point at a wrapper. */
  command?: string
}

interface PsEntry { Id: string, Names: string[], Labels: Record<string, string> | null, IsInfra?: boolean, State: string, ExitCode: number, StartedAt: number }
interface InspectEntry { Id: string, Name: string, RestartCount: number, State: { Status: string, ExitCode: number, StartedAt: string } }
interface RawStats { Name: string, CPU: number, MemUsage: number, MemLimit: number, NetInput: number, NetOutput: number, PIDs: number }

export class PodmanEngine implements WorkloadEngine {
  readonly name = 'podman'
  private readonly command: string

  constructor (private readonly opts: PodmanEngineOptions) {
    this.command = opts.command ?? PODMAN
  }

  private async podman (args: string[], timeoutMs = QUERY_TIMEOUT_MS): Promise<ProcessResult & { out: string }> {
    // The runner keeps only a tail; JSON answers are read whole.
    const chunks: string[] = []
    const result = await this.opts.processes.run({ command: this.command, args, timeoutMs }, (stream, text) => { if (stream === 'stdout') chunks.push(text) }).result
    return { ...result, out: chunks.join('') }
  }

  private async json<T> (args: string[]): Promise<T> {
    const r = await this.podman(args)
    if (r.spawnError !== null) throw notInstalled(r.spawnError)
    const command = `podman ${args.slice(0, 2).join(' ')}`
    if (r.exitCode !== 0) throw SeError.engineCommandFailed(command, lastError(r.stderr) ?? `exit ${r.exitCode ?? r.signal ?? '?'}`)
    try {
      return JSON.parse(r.out === '' ? 'null' : r.out) as T
    } catch (err) {
      throw SeError.engineOutputNotJson(command, r.out, err)
    }
  }

  async availability (): Promise<EngineAvailability> {
    const r = await this.podman(['info', '--format', 'json'])
    if (r.spawnError !== null) return { available: false, reason: 'podman is not installed (not found on PATH)', install: INSTALL_HINT }
    if (r.exitCode !== 0) return { available: false, reason: `podman is installed but cannot run containers: ${lastError(r.stderr) ?? `exit ${r.exitCode ?? '?'}`}`, install: 'check `podman info`; rootless podman needs subuid/subgid entries, and some sandboxes need runtime = "runc" in containers.conf' }
    return { available: true }
  }

  check (_plan: WorkloadPlan): ErrorDetail[] {
    return []
  }

  async deploy (plan: WorkloadPlan, progress?: DeployProgress): Promise<void> {
    const file = planFile(plan)
    await this.opts.fs.mkdirp(plan.dir)
    // YAML's writer comes with the manifest module, loaded by the first deploy: a node that runs no pods loads neither.
    const { toYaml } = await import('./manifest.js')
    await this.opts.fs.writeAtomic(file, renderPods(plan, toYaml))
    const images = [...new Set(plan.pods.flatMap(p => p.containers.map(c => c.image)))]
    // Pulled one by one before `kube play`, which pulls in silence: a slow pull is then seen as one.
    for (const image of images) await this.pull(plan, image, progress)
    const containers = plan.pods.reduce((n, p) => n + p.containers.length, 0)
    progress?.('create', `creating ${plan.pods.length} pod${plan.pods.length === 1 ? '' : 's'} (${plan.pods.map(p => p.name).join(', ')}) with ${containers} container${containers === 1 ? '' : 's'}: podman kube play`)
    const r = await this.podman(['kube', 'play', file], DEPLOY_TIMEOUT_MS)
    if (r.spawnError !== null) throw notInstalled(r.spawnError)
    if (r.exitCode === 0 && !r.timedOut) {
      progress?.('start', `started ${plan.pods.map(p => p.name).join(', ')}`)
      return
    }
    await this.sweep(plan.id).catch(() => {})
    const why = r.timedOut ? `timed out after ${DEPLOY_TIMEOUT_MS / 1000} s` : kubePlayError(r.stderr) ?? `exit ${r.exitCode ?? '?'}`
    throw SeError.kubePlayFailed(plan.name, why, deployHint(why, images, file))
  }

  /** An image not on this node is pulled, its progress lines passed on; one already here is left alone. */
  private async pull (plan: WorkloadPlan, image: string, progress?: DeployProgress): Promise<void> {
    const exists = await this.podman(['image', 'exists', image])
    if (exists.spawnError !== null) throw notInstalled(exists.spawnError)
    if (exists.exitCode === 0) {
      progress?.('pull', `${image} is on this node`)
      return
    }
    progress?.('pull', `pulling ${image}`)
    const lines = new LineSplitter()
    const started = Date.now()
    const r = await this.opts.processes.run({ command: this.command, args: ['pull', image], timeoutMs: DEPLOY_TIMEOUT_MS }, (stream, text) => {
      if (stream === 'stderr') for (const line of lines.push(text)) if (line.trim() !== '') progress?.('pull', line.trim())
    }).result
    if (r.spawnError !== null) throw notInstalled(r.spawnError)
    if (r.exitCode === 0 && !r.timedOut) {
      progress?.('pull', `pulled ${image} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      return
    }
    const why = r.timedOut ? `pulling ${image} timed out after ${DEPLOY_TIMEOUT_MS / 1000} s` : `pulling ${image}: ${lastError(r.stderr) ?? `exit ${r.exitCode ?? '?'}`}`
    throw SeError.kubePlayFailed(plan.name, why, deployHint(why, [image], planFile(plan)))
  }

  async observe (plans: WorkloadPlan[]): Promise<Map<string, ContainerObservation[]>> {
    const out = new Map<string, ContainerObservation[]>()
    if (plans.length === 0) return out
    const ps = await this.json<PsEntry[] | null>(['ps', '--all', '--filter', `label=${WORKLOAD_LABEL}`, '--format', 'json']) ?? []
    const ours = ps.filter(c => c.IsInfra !== true)
    const inspected = ours.length === 0 ? [] : await this.json<InspectEntry[]>(['container', 'inspect', '--format', 'json', ...ours.map(c => c.Id)]).catch(() => [] as InspectEntry[])
    const byName = new Map<string, { ps: PsEntry, inspect?: InspectEntry }>()
    for (const c of ours) byName.set(c.Names[0] ?? c.Id, { ps: c })
    for (const i of inspected) { const e = byName.get(i.Name); if (e !== undefined) e.inspect = i }
    for (const plan of plans) {
      const list: ContainerObservation[] = []
      for (const pod of plan.pods) {
        for (const c of pod.containers) {
          const seen = byName.get(`${pod.name}-${c.name}`)
          if (seen === undefined || seen.ps.Labels?.[WORKLOAD_LABEL] !== plan.id) {
            list.push({ pod: pod.name, name: c.name, state: 'missing', exitCode: null, restarts: 0, startedAt: null })
            continue
          }
          const state = toState(seen.ps.State)
          list.push({
            pod: pod.name,
            name: c.name,
            state,
            exitCode: state === 'exited' || state === 'stopped' ? seen.ps.ExitCode : null,
            restarts: seen.inspect?.RestartCount ?? 0,
            startedAt: seen.ps.StartedAt > 0 ? seen.ps.StartedAt * 1000 : null
          })
        }
      }
      out.set(plan.id, list)
    }
    return out
  }

  logs (plan: WorkloadPlan, opts: { follow: boolean, tail: number }, onLine: (line: LogLine) => void): LogFollow {
    const handles: ProcessHandle[] = []
    for (const pod of plan.pods) {
      for (const c of pod.containers) {
        const container = `${pod.name}/${c.name}`
        const split = { stdout: new LineSplitter(), stderr: new LineSplitter() }
        const args = ['logs', ...(opts.follow ? ['--follow'] : []), '--tail', String(opts.tail), `${pod.name}-${c.name}`]
        const handle = this.opts.processes.run({ command: this.command, args }, (stream, text) => {
          for (const line of split[stream].push(text)) onLine({ container, stream, text: line })
        })
        void handle.result.then(() => {
          for (const stream of ['stdout', 'stderr'] as const) for (const line of split[stream].end()) onLine({ container, stream, text: line })
        })
        handles.push(handle)
      }
    }
    return {
      done: Promise.all(handles.map(async h => await h.result)).then(() => {}),
      stop: () => { for (const h of handles) h.kill() }
    }
  }

  async stats (plans: WorkloadPlan[]): Promise<ContainerUsage[]> {
    const observed = await this.observe(plans)
    const running = new Map<string, { workloadId: string, pod: string, name: string, limited: boolean }>()
    for (const plan of plans) {
      for (const pod of plan.pods) {
        for (const c of pod.containers) {
          const seen = observed.get(plan.id)?.find(o => o.pod === pod.name && o.name === c.name)
          if (seen?.state === 'running') running.set(`${pod.name}-${c.name}`, { workloadId: plan.id, pod: pod.name, name: c.name, limited: c.memoryBytes !== null })
        }
      }
    }
    if (running.size === 0) return []
    // `--format json` prints rounded, human strings; the raw record has the numbers.
    const r = await this.podman(['stats', '--no-stream', '--format', '{{json .ContainerStats}}', ...running.keys()])
    if (r.exitCode !== 0) throw SeError.engineCommandFailed('podman stats', lastError(r.stderr) ?? `exit ${r.exitCode ?? '?'}`)
    const usage: ContainerUsage[] = []
    for (const line of r.out.split('\n')) {
      if (line.trim() === '') continue
      const s = JSON.parse(line) as RawStats
      const who = running.get(s.Name)
      if (who === undefined) continue
      usage.push({
        workloadId: who.workloadId,
        pod: who.pod,
        name: who.name,
        cpuPercent: s.CPU,
        memoryBytes: s.MemUsage,
        // Podman reports the host's memory as the limit of an unlimited container.
        memoryLimitBytes: who.limited ? s.MemLimit : null,
        netInBytes: s.NetInput,
        netOutBytes: s.NetOutput,
        pids: s.PIDs
      })
    }
    return usage
  }

  async remove (plan: WorkloadPlan): Promise<void> {
    const pods = await this.labelled('pod', plan.id)
    // `pod stop` stops the containers side by side within the grace; `kube down` alone stops them one after another.
    if (pods.length > 0) await this.podman(['pod', 'stop', '--ignore', '--time', String(STOP_GRACE_SEC), ...pods])
    const file = planFile(plan)
    if (await this.opts.fs.read(file) !== null) await this.podman(['kube', 'down', file])
    // Whatever kube down did not take (a pod renamed by hand, a container left over) still carries the label.
    await this.sweep(plan.id)
  }

  /** Ids of the pods (or containers) carrying the workload's label. */
  private async labelled (kind: 'pod' | 'container', workloadId: string): Promise<string[]> {
    const args = kind === 'pod' ? ['pod', 'ps'] : ['ps', '--all']
    const found = await this.json<Array<{ Id: string }> | null>([...args, '--filter', `label=${WORKLOAD_LABEL}=${workloadId}`, '--format', 'json']) ?? []
    return found.map(f => f.Id)
  }

  /** Force-removes every pod and container carrying the workload's label. */
  private async sweep (workloadId: string): Promise<void> {
    const pods = await this.labelled('pod', workloadId)
    if (pods.length > 0) {
      const r = await this.podman(['pod', 'rm', '--force', '--ignore', ...pods])
      if (r.exitCode !== 0) throw SeError.engineCommandFailed('podman pod rm', lastError(r.stderr) ?? `exit ${r.exitCode ?? '?'}`)
    }
    const left = await this.labelled('container', workloadId)
    if (left.length > 0) await this.podman(['rm', '--force', '--ignore', '--time', '0', ...left])
  }

  runContainer (spec: ContainerStepSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle {
    const c = spec.container
    const name = `se-step-${Math.random().toString(36).slice(2, 10)}`
    const workspace = '/workspace'
    const args = ['run', '--rm', '--name', name, '--label', `${WORKLOAD_LABEL}=step`]
    if (spec.cwd !== undefined) args.push('--volume', `${spec.cwd}:${workspace}`)
    for (const m of c.mounts) args.push('--volume', `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`)
    args.push('--workdir', c.workdir ?? workspace)
    if (c.memory !== null) args.push('--memory', c.memory)
    if (c.cpus !== null) args.push('--cpus', String(c.cpus))
    for (const [k, v] of Object.entries(spec.env ?? {})) args.push('--env', `${k}=${v}`)
    if (spec.command !== '') args.push('--entrypoint', spec.command)
    args.push(c.image, ...spec.args)
    const run: { command: string, args: string[], timeoutMs?: number } = { command: this.command, args }
    if (spec.timeoutMs !== undefined) run.timeoutMs = spec.timeoutMs
    const handle = this.opts.processes.run(run, onOutput)
    const result = handle.result.then(async r => {
      if (r.spawnError !== null) return { ...r, spawnError: `container step needs podman: ${r.spawnError}` }
      // Killing the client (timeout, cancel) may leave the container behind.
      if (r.signal !== null || r.timedOut) await this.podman(['rm', '--force', '--ignore', '--time', '0', name]).catch(() => {})
      // Exit 125-127 are podman's own: the container never ran the command.
      if (r.exitCode !== null && r.exitCode >= 125 && r.exitCode <= 127 && /^Error: /m.test(r.stderr)) return { ...r, spawnError: `podman run of ${c.image} failed: ${lastError(r.stderr) ?? ''}` }
      return r
    })
    return { result, kill: signal => handle.kill(signal), ...(handle.pid === undefined ? {} : { pid: handle.pid }) }
  }
}

function toState (s: string): ContainerState {
  switch (s) {
    case 'running': return 'running'
    case 'paused': return 'paused'
    case 'created': case 'configured': case 'initialized': return 'created'
    case 'stopped': case 'stopping': return 'stopped'
    default: return 'exited'
  }
}

function notInstalled (why: string): SeError {
  return SeError.podmanUnavailable(why, INSTALL_HINT)
}

/** `kube play` ends with "failed to start N containers"; the reason is on the first container's own line. */
function deployHint (why: string, images: string[], file: string): string {
  if (/pull|registry|manifest unknown|image not known|initializing source/i.test(why)) return `is ${images.join(', ')} built or pulled on this node? \`podman images\` lists what is there; nothing was left behind`
  if (/rlimit/i.test(why)) return 'this host does not let containers raise their resource limits: set default_ulimits in the [containers] section of containers.conf (see the README); nothing was left behind'
  return 'nothing was left behind; the rendered manifest is in ' + file
}

function kubePlayError (stderr: string): string | null {
  const summary = lastError(stderr)
  const first = /^starting container [0-9a-f]+: (.+)$/m.exec(stderr)?.[1]
  return first === undefined || summary === null ? summary : `${summary}: ${first.slice(0, 300)}`
}

/** Podman's own error line, without its log-level noise. */
function lastError (stderr: string): string | null {
  const lines = stderr.split('\n').map(l => l.trim()).filter(l => l !== '')
  const error = [...lines].reverse().find(l => l.startsWith('Error: ')) ?? lines[lines.length - 1]
  return error === undefined ? null : error.replace(/^Error: /, '').slice(0, 400)
}

class LineSplitter {
  private rest = ''
  push (text: string): string[] {
    const lines = (this.rest + text).split('\n')
    this.rest = lines.pop() ?? ''
    return lines
  }

  end (): string[] {
    const rest = this.rest
    this.rest = ''
    return rest === '' ? [] : [rest]
  }
}
