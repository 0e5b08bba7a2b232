// `se deploy`, `se workloads`, `se logs`, `se stats`, `se remove`: workloads on the local node.
import type { Command } from 'commander'
import path from 'node:path'
import { parseKeyValues } from '../../../core/config/key-values.js'
import { shortDuration } from '../../../core/duration.js'
import { formatBytes } from '../../../core/workload/quantity.js'
import type { ContainerStats, WorkloadStatus } from '../../../core/protocol/types.js'
import { askAndPrint, collect, withNode, type CliIO, type CliState } from './context.js'
import { table } from './render.js'
import { deployRequest } from './requests.js'
import { positiveDecimal, wholeNumber } from './flags.js'

export function addWorkloadCommands (program: Command, io: CliIO, state: CliState): void {
  program.command('deploy')
    .description('run a Kubernetes Pod or Deployment manifest on this node (podman kube play)')
    .argument('<manifest>', 'a Pod or Deployment YAML file')
    .option('--replicas <n>', 'run n uniquely named pods', wholeNumber('--replicas'))
    .option('--memory <size>', 'memory limit per container (512m, 1g)')
    .option('--cpus <n>', 'CPU limit per container', positiveDecimal('--cpus'))
    .option('-e, --env <key=value>', 'set an environment variable in every container (repeatable)', collect)
    .option('--engine <name>', 'podman or process (default: the node\'s preferred, else the best available)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se deploy web.yaml\n  se deploy web.yaml --replicas 3 --memory 256m --cpus 0.5 --env MODE=prod --json')
    .action(async (file: string, opts: { replicas?: number, memory?: string, cpus?: number, env?: string[], engine?: string, json?: boolean }, cmd: Command) => {
      const env = parseKeyValues(opts.env ?? [], '--env')
      const request = await deployRequest(file, process.cwd(), { ...opts, env })
      await askAndPrint(io, cmd, opts, async api => await api.deployWorkload(request), s => `${s.id}: ${s.state} on ${s.engine === '' ? 'no engine yet' : s.engine}${s.reason === null ? '' : ` — ${s.reason}`}\n${renderWorkloads([s])}`)
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
  void state
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
