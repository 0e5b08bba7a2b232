// `se deploy`, `se workloads`, `se logs`, `se stats`, `se remove`: workloads on the local node.
import type { Command } from 'commander'
import path from 'node:path'
import { parseKeyValues } from '../../../core/config/key-values.js'
import { shortDuration } from '../../../core/duration.js'
import { formatBytes } from '../../../core/workload/quantity.js'
import { EXIT_CODES } from '../../../core/errors.js'
import type { ContainerStats, DeployRequest, NodeApi, WorkloadEvent, WorkloadStatus } from '../../../core/protocol/types.js'
import { askAndPrint, collect, print, withNode, type CliIO, type CliState } from './context.js'
import { table } from './render.js'
import { deployRequest } from './requests.js'
import { positiveDecimal, wholeNumber } from './flags.js'

export function addWorkloadCommands (program: Command, io: CliIO, state: CliState): void {
  program.command('deploy')
    .description('run a Kubernetes Pod or Deployment manifest on this node (podman kube play), showing its progress')
    .argument('<manifest>', 'a Pod or Deployment YAML file')
    .option('--replicas <n>', 'run n uniquely named pods', wholeNumber('--replicas'))
    .option('--memory <size>', 'memory limit per container (512m, 1g)')
    .option('--cpus <n>', 'CPU limit per container', positiveDecimal('--cpus'))
    .option('-e, --env <key=value>', 'set an environment variable in every container (repeatable)', collect)
    .option('--engine <name>', 'podman or process (default: the node\'s preferred, else the best available)')
    .option('--wait', 'after the deploy, wait until every container runs (exit 0) or the workload fails or exits (exit 1)')
    .option('--timeout <sec>', 'stop waiting after this many seconds (exit 3); the deploy goes on, on the node', wholeNumber('--timeout'))
    .option('--json', 'print JSON (progress lines are left out)')
    .addHelpText('after', '\nProgress (image pulls, pods created and started, the first health look) goes to stderr as it happens.\nExamples:\n  se deploy web.yaml\n  se deploy web.yaml --wait --timeout 120\n  se deploy web.yaml --replicas 3 --memory 256m --cpus 0.5 --env MODE=prod --json')
    .action(async (file: string, opts: DeployOptions, cmd: Command) => {
      const env = parseKeyValues(opts.env ?? [], '--env')
      const request = await deployRequest(file, process.cwd(), { ...opts, env })
      await withNode(cmd, async api => {
        const outcome = await deployAndWait(api, request, opts, e => { if (opts.json !== true && opts.quiet !== true) io.err(progressLine(e)) })
        if (outcome.status !== null) print(io, opts, outcome.status, s => `${s.id}: ${s.state} on ${s.engine === '' ? 'no engine yet' : s.engine}${s.reason === null ? '' : ` — ${s.reason}`}\n${renderWorkloads([s])}`)
        if (outcome.timedOut) {
          io.err(`se deploy: stopped waiting after ${opts.timeout ?? 0} s; ${outcome.id ?? 'the workload'} goes on ${outcome.status?.state ?? 'deploying'} on the node (see \`se workloads\`, \`se logs ${outcome.id ?? 'ID'}\`)`)
          state.exitCode = EXIT_CODES.WAITING
        } else if (opts.wait === true && outcome.status !== null && outcome.status.state !== 'running') {
          state.exitCode = EXIT_CODES.FAILED
        }
      })
    })

  program.command('workloads')
    .description('list the workloads on this node: state, ports, restarts, uptime')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se workloads\n  se workloads --json | jq \'.[] | select(.state != "running") | .id\'')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await askAndPrint(io, cmd, opts, async api => await api.listWorkloads(), list => list.length === 0 ? 'no workloads on this node (deploy one with `se deploy MANIFEST.yaml`)' : renderWorkloads(list))
    })

  program.command('logs')
    .description("print a workload's container logs, each line prefixed by pod/container")
    .argument('<id>', 'workload id or name (a unique prefix will do)')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    // The default is the node's (core/workload/manager.ts): loading it here would load the manifest schema into every `se` call.
    .option('--tail <n>', 'lines per container (default: the newest 100; -1 for all)', wholeNumber('--tail', { min: 0, also: -1 }))
    .addHelpText('after', '\nExample:\n  se logs web -f\n  se logs web-3f2a --tail 20')
    .action(async (id: string, opts: { follow?: boolean, tail?: number }, cmd: Command) => {
      const tail = opts.tail ?? (await import('../../../core/workload/manager.js')).DEFAULT_LOG_TAIL
      await withNode(cmd, async api => {
        await api.workloadLogs(id, opts.follow === true, tail, line => {
          const text = `${line.container} │ ${line.text}`
          if (line.stream === 'stderr') io.err(text)
          else io.out(text)
        })
      })
    })

  program.command('stats')
    .description('CPU, memory against its limit, network and processes, per container')
    .argument('[id]', 'one workload (default: all)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se stats\n  se stats web --json')
    .action(async (id: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await askAndPrint(io, cmd, opts, async api => await api.workloadStats(id ?? null), stats => stats.length === 0 ? 'no running containers' : renderStats(stats))
    })

  program.command('remove')
    .description('stop and delete a workload (podman kube down) and everything it created')
    .argument('<id>', 'workload id or name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se remove web-3f2a')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await askAndPrint(io, cmd, opts, async api => await api.removeWorkload(id), s => `${s.id}: removed (${s.pods.join(', ')})`)
    })
}

export interface DeployOptions { replicas?: number, memory?: string, cpus?: number, env?: string[], engine?: string, wait?: boolean, timeout?: number, json?: boolean, quiet?: boolean }

interface DeployOutcome { id: string | null, status: WorkloadStatus | null, timedOut: boolean }

/** States a workload waited for with --wait ends in. */
const SETTLED = new Set(['running', 'failed', 'exited', 'removed'])

/**
 * Deploys, passing progress on as it comes; with --wait, goes on until the workload
 * runs or fails. --timeout ends the waiting, never the work: the node carries on.
 */
export async function deployAndWait (api: NodeApi, request: DeployRequest, opts: DeployOptions, onEvent: (e: WorkloadEvent) => void): Promise<DeployOutcome> {
  let id: string | null = null
  let listening = true
  const listen = (e: WorkloadEvent): boolean => { id ??= e.workloadId; if (listening) onEvent(e); return listening }
  const work = (async (): Promise<WorkloadStatus> => {
    const deployed = await api.deployWorkloadWatch(request, listen)
    id = deployed.id
    if (opts.wait !== true || SETTLED.has(deployed.state) || deployed.state === 'queued') return deployed
    // Events from now on, then the state as it is, so a change in between is not missed.
    let settled: (s: WorkloadStatus) => void = () => {}
    let lost: (err: unknown) => void = () => {}
    const done = new Promise<WorkloadStatus>((resolve, reject) => { settled = resolve; lost = reject })
    // A workload removed meanwhile is no longer listed: the event that said so settles it.
    const current = async (seen?: WorkloadEvent): Promise<void> => {
      const s = (await api.listWorkloads()).find(w => w.id === deployed.id)
      if (s !== undefined && SETTLED.has(s.state)) settled(s)
      else if (seen !== undefined) settled({ ...(s ?? deployed), state: seen.state, reason: seen.text })
    }
    void api.watchWorkloads(e => {
      if (!listening) return false
      if (e.workloadId !== deployed.id) return
      onEvent(e)
      if (SETTLED.has(e.state)) { void current(e); return false }
    // Ending the stream ourselves cancels the call; anything else (the node gone) ends the waiting with its error.
    }).catch((err: unknown) => { if ((err as { code?: string }).code !== 'CANCELLED') lost(err); return true })
    await current()
    const final = await done
    // The watch may have nothing more to say: it ends with the connection, not awaited here.
    listening = false
    return final
  })()
  if (opts.timeout === undefined) return { id, status: await work, timedOut: false }
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<null>(resolve => { timer = setTimeout(() => resolve(null), (opts.timeout as number) * 1000) })
  const first = await Promise.race([work, late]).finally(() => clearTimeout(timer))
  if (first !== null) return { id, status: first, timedOut: false }
  listening = false
  work.catch(() => {})
  const known = id
  const status = known === null ? null : (await api.listWorkloads()).find(w => w.id === known) ?? null
  return { id: known, status, timedOut: true }
}

function progressLine (e: WorkloadEvent): string {
  return `${e.workloadId}  ${e.event.padEnd(8)} ${e.text}`
}

export function renderWorkloads (list: WorkloadStatus[]): string {
  const now = Date.now()
  return table(['ID', 'MANIFEST', 'ENGINE', 'NODE', 'STATE', 'PODS', 'PORTS', 'RESTARTS', 'MEMORY', 'UPTIME', 'NOTE'], list.map(w => [
    w.id,
    path.basename(w.source),
    w.engine === '' ? '-' : w.engine,
    w.nodeName,
    w.state,
    String(w.replicas),
    w.ports.join(',') || '-',
    String(w.restarts),
    formatBytes(w.memoryLimitBytes),
    w.startedAt === null || w.state !== 'running' ? '-' : shortDuration(now - w.startedAt),
    w.reason ?? ''
  ]))
}

export function renderStats (stats: ContainerStats[]): string {
  return table(['WORKLOAD', 'CONTAINER', 'CPU', 'MEMORY', 'LIMIT', 'MEM %', 'NET IN/OUT', 'PIDS'], stats.map(s => [
    s.workloadId,
    `${s.pod}/${s.name}`,
    `${s.cpuPercent.toFixed(1)}%`,
    formatBytes(s.memoryBytes),
    formatBytes(s.memoryLimitBytes),
    s.memoryLimitBytes === null ? '-' : `${(100 * s.memoryBytes / s.memoryLimitBytes).toFixed(1)}%`,
    `${formatBytes(s.netInBytes)} / ${formatBytes(s.netOutBytes)}`,
    String(s.pids)
  ]))
}
