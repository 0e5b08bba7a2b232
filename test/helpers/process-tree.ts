// A power cut, for tests: SIGKILL a process and everything it started, found
// through /proc, since steps and workloads run in process groups of their own.
import { readdirSync, readFileSync } from 'node:fs'
import { parseStat } from '../../adapters/shared/leftover-processes.js'

function parents (): Map<number, number[]> {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let stat: string
    try { stat = readFileSync(`/proc/${name}/stat`, 'utf8') } catch { continue }
    const { ppid } = parseStat(stat)
    const list = children.get(ppid) ?? []
    list.push(Number(name))
    children.set(ppid, list)
  }
  return children
}

export function descendants (pid: number): number[] {
  const children = parents()
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      out.push(child)
      queue.push(child)
    }
  }
  return out
}

/** Collected before any dies: a killed parent's children are re-parented and could no longer be found. */
/**
 * Whether a child has ended, by exit code or by signal. A child killed by a signal keeps
 * exitCode null: taking that for "still running" would SIGKILL its pid (and its group) later,
 * when the system may have given that pid to another test's process.
 */
export function ended (child: { exitCode: number | null, signalCode: string | null }): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** Whether `pid` is still the process started with `text` in its command line (pids are reused). */
export function runsWith (pid: number, text: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some(arg => arg.includes(text))
  } catch {
    return false
  }
}

export function killTree (pid: number): void {
  const all = [pid, ...descendants(pid)]
  try { process.kill(-pid, 'SIGKILL') } catch {}
  for (const p of all) try { process.kill(p, 'SIGKILL') } catch {}
}

/** Alive and not a zombie waiting for a parent that will never reap it. */
export function running (pid: number): boolean {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).state !== 'Z'
  } catch {
    return false
  }
}
