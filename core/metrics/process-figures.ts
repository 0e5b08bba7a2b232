// The series Prometheus's own client libraries report for every process
// (process_cpu_seconds_total and the rest, same names and meanings), so fleet
// dashboards built for them work on SE nodes, Node and Bare alike; plus
// se_build_info, to tell which version each node of a fleet runs.
import type { ProcessStats } from '../ports.js'
import type { MetricsRegistry } from './registry.js'

/** Reads the figures once per scrape, however many series show them. */
export function registerProcessFigures (registry: MetricsRegistry, stats: () => Promise<ProcessStats>, build: { version: string, runtime: string }): void {
  let scrape: Promise<ProcessStats> | null = null
  const read = async (pick: (s: ProcessStats) => number | null): Promise<Array<{ labels: Record<string, string>, value: number }>> => {
    scrape ??= stats().finally(() => { setTimeout(() => { scrape = null }, 0) })
    const value = pick(await scrape)
    return value === null ? [] : [{ labels: {}, value }]
  }
  registry.collected('counter', 'process_cpu_seconds_total', 'user and system CPU time this process has spent, in seconds', async () => await read(s => s.cpuSeconds))
  registry.collected('gauge', 'process_resident_memory_bytes', 'resident memory of this process, in bytes', async () => await read(s => s.residentBytes))
  registry.collected('gauge', 'process_start_time_seconds', 'when this process started, in seconds since the Unix epoch', async () => await read(s => s.startTimeSeconds))
  registry.collected('gauge', 'process_open_fds', 'file descriptors this process holds open', async () => await read(s => s.openFds))
  registry.collected('gauge', 'process_max_fds', 'the most file descriptors this process may open', async () => await read(s => s.maxFds))
  registry.collected('gauge', 'se_build_info', 'always 1; the labels say which SE Mesh version and runtime this node runs', () => [{ labels: { version: build.version, runtime: build.runtime }, value: 1 }])
}

/** The soft limit on open files from a Linux /proc/PID/limits text; null when unlimited or absent. */
export function parseMaxOpenFiles (limits: string): number | null {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1]
  return soft === undefined || soft === 'unlimited' ? null : Number(soft)
}
