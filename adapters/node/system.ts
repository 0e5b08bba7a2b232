// The machine as core sees it: CPUs, memory, load, tools on PATH, and whether
// podman really runs here.
import { execa } from 'execa'
import { constants } from 'node:fs'
import { access, readdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ProcessStats, SystemInfo } from '../../core/ports.js'
import { parseMaxOpenFiles } from '../../core/metrics/process-figures.js'
import { parseProcUsage } from '../../core/node/proc-usage.js'
import { OncePerKey } from '../../core/node/once-per-key.js'

const PODMAN_PROBE_TIMEOUT_MS = 15_000
let podmanProbe: Promise<boolean> | null = null

export class NodeSystemInfo implements SystemInfo {
  readonly runtime = `node ${process.version}`
  readonly platform = process.platform
  readonly arch = process.arch
  readonly hostname = os.hostname()
  private readonly startTimeSeconds = (Date.now() - process.uptime() * 1000) / 1000
  private readonly tools = new OncePerKey(onPath, found => found)

  get cpus (): number { return os.availableParallelism() }
  // Read once: each os.totalmem() reads /proc/meminfo, and heartbeats ask for it every beat.
  readonly memoryTotalMb = Math.round(os.totalmem() / 2 ** 20)
  get memoryFreeMb (): number { return Math.round(os.freemem() / 2 ** 20) }
  get loadAverage (): number { return os.loadavg()[0] ?? 0 }

  env (name: string): string | undefined {
    return process.env[name]
  }

  hasTool (name: string): Promise<boolean> {
    return this.tools.get(name)
  }

  podmanWorks (): Promise<boolean> {
    // A fact of the machine, asked once per process: `podman info` takes a tenth of a second or more.
    podmanProbe ??= (async () => {
      if (!(await this.hasTool('podman'))) return false
      const probe = await execa('podman', ['info', '--format', 'json'], { reject: false, timeout: PODMAN_PROBE_TIMEOUT_MS, stdin: 'ignore' })
      return probe.exitCode === 0
    })()
    return podmanProbe
  }

  async processUsage (pid: number): Promise<{ rssBytes: number, cpuMs: number } | null> {
    try {
      const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')])
      return parseProcUsage(stat, status)
    } catch {
      return null
    }
  }

  async processStats (): Promise<ProcessStats> {
    const cpu = process.cpuUsage()
    // /proc is Linux's; elsewhere the descriptor figures are left out.
    const [openFds, maxFds] = await Promise.all([
      readdir('/proc/self/fd').then(fds => fds.length, () => null),
      readFile('/proc/self/limits', 'utf8').then(parseMaxOpenFiles, () => null)
    ])
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: process.memoryUsage.rss(), startTimeSeconds: this.startTimeSeconds, openFds, maxFds }
  }
}

async function onPath (name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue
    try {
      await access(path.join(dir, name), constants.X_OK)
      return true
    } catch {}
  }
  return false
}
