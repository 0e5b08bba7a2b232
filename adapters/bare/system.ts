// The machine as core sees it, on Bare: CPUs, memory, load, tools on PATH, and
// whether podman really runs here (an edge box seldom has it).
import env from 'bare-env'
import fs from 'bare-fs'
import os from 'bare-os'
import path from 'bare-path'
import process from 'bare-process'
import type { ProcessRunner, ProcessStats, SystemInfo } from '../../core/ports.js'
import { parseMaxOpenFiles } from '../../core/metrics/process-figures.js'
import { parseProcUsage } from '../../core/node/proc-usage.js'
import { OncePerKey } from '../../core/node/once-per-key.js'

const PODMAN_PROBE_TIMEOUT_MS = 15_000

export class BareSystemInfo implements SystemInfo {
  readonly platform = os.platform()
  readonly arch = os.arch()
  readonly hostname = os.hostname()
  private readonly startTimeSeconds = (Date.now() - process.uptime() * 1000) / 1000
  private readonly tools = new OncePerKey(onPath, found => found)
  private podmanProbe: Promise<boolean> | null = null

  constructor (readonly runtime: string, private readonly processes: ProcessRunner) {}

  get cpus (): number { return os.availableParallelism() }
  // Read once: heartbeats ask for it every beat, and it does not change while the node runs.
  readonly memoryTotalMb = Math.round(os.totalmem() / 2 ** 20)
  get memoryFreeMb (): number { return Math.round(os.freemem() / 2 ** 20) }
  get loadAverage (): number { return os.loadavg()[0] ?? 0 }

  env (name: string): string | undefined {
    return env[name]
  }

  hasTool (name: string): Promise<boolean> {
    return this.tools.get(name)
  }

  podmanWorks (): Promise<boolean> {
    this.podmanProbe ??= (async () => {
      if (!(await this.hasTool('podman'))) return false
      const probe = await this.processes.run({ command: 'podman', args: ['info', '--format', 'json'], timeoutMs: PODMAN_PROBE_TIMEOUT_MS }).result
      return probe.exitCode === 0
    })()
    return this.podmanProbe
  }

  async processUsage (pid: number): Promise<{ rssBytes: number, cpuMs: number } | null> {
    try {
      const [stat, status] = await Promise.all([fs.promises.readFile(`/proc/${pid}/stat`, 'utf8'), fs.promises.readFile(`/proc/${pid}/status`, 'utf8')])
      return parseProcUsage(String(stat), String(status))
    } catch {
      return null
    }
  }

  async processStats (): Promise<ProcessStats> {
    const cpu = os.cpuUsage()
    // /proc is Linux's; elsewhere the descriptor figures are left out.
    const [openFds, maxFds] = await Promise.all([
      fs.promises.readdir('/proc/self/fd').then(fds => fds.length, () => null),
      fs.promises.readFile('/proc/self/limits', 'utf8').then(text => parseMaxOpenFiles(String(text)), () => null)
    ])
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: os.memoryUsage().rss, startTimeSeconds: this.startTimeSeconds, openFds, maxFds }
  }
}

async function onPath (name: string): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir === '') continue
    try {
      await fs.promises.access(path.join(dir, name), fs.constants.X_OK)
      return true
    } catch {}
  }
  return false
}
