// Step processes through execa: no shell, arguments as an array, a timeout that
// escalates to SIGKILL, and only the tail of the output kept.
import { execa } from 'execa'
import { readdirSync, readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { OUTPUT_TAIL_BYTES } from '../../core/constants.js'
import { OutputTail } from '../../core/output-tail.js'
import type { ProcessHandle, ProcessResult, ProcessRunner, ProcessSpec } from '../../core/ports.js'
import { endLeftoverProcesses } from '../shared/leftover-processes.js'

const FORCE_KILL_AFTER_MS = 5000

export class ExecaProcessRunner implements ProcessRunner {
  constructor (private readonly tailBytes = OUTPUT_TAIL_BYTES) {}

  async endLeftovers (nodeId: string): Promise<number> {
    return endLeftoverProcesses(procTable, nodeId)
  }

  run (spec: ProcessSpec, onOutput?: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle {
    const started = performance.now()
    const child = execa(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      extendEnv: true,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      encoding: 'utf8',
      stripFinalNewline: false,
      forceKillAfterDelay: FORCE_KILL_AFTER_MS,
      detached: spec.processGroup === true,
      ...(spec.timeoutMs === undefined ? {} : { timeout: spec.timeoutMs })
    })
    const group = spec.processGroup === true && child.pid !== undefined ? child.pid : null
    let forceTimer: ReturnType<typeof setTimeout> | null = null
    // With a group of its own the child's children get the signal too; the group is killed for good if it lingers.
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (group === null) return
      try { process.kill(-group, signal) } catch {}
      if (signal !== 'SIGKILL' && forceTimer === null) {
        forceTimer = setTimeout(() => { try { process.kill(-group, 'SIGKILL') } catch {} }, FORCE_KILL_AFTER_MS)
        forceTimer.unref()
      }
    }
    if (group !== null && spec.timeoutMs !== undefined) {
      const timer = setTimeout(() => signalGroup('SIGTERM'), spec.timeoutMs)
      timer.unref()
      void child.finally(() => clearTimeout(timer))
    }
    // The leader is gone: whatever it left in its group goes with it, now rather than
    // when the last of them closes the output pipes it inherited.
    if (group !== null) child.once('exit', () => { try { process.kill(-group, 'SIGKILL') } catch {} })
    const tails = { stdout: new OutputTail(this.tailBytes), stderr: new OutputTail(this.tailBytes) }
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream]
      source?.setEncoding('utf8')
      source?.on('data', (text: string) => {
        tails[stream].push(text)
        onOutput?.(stream, text)
      })
    }
    const result = child.then(async (r): Promise<ProcessResult> => {
      if (forceTimer !== null) clearTimeout(forceTimer)
      const durationMs = Math.round(performance.now() - started)
      let spawnError: string | null = null
      if (r.exitCode === undefined && r.signal === undefined && !r.timedOut) {
        spawnError = await explainSpawnFailure(spec, r.code, r.message ?? '')
      }
      return {
        exitCode: r.exitCode ?? null,
        signal: r.signal ?? null,
        stdout: tails.stdout.text(),
        stderr: tails.stderr.text(),
        durationMs,
        timedOut: r.timedOut,
        spawnError
      }
    })
    return {
      result,
      ...(child.pid === undefined ? {} : { pid: child.pid }),
      kill: signal => {
        if (group !== null) signalGroup((signal ?? 'SIGTERM') as NodeJS.Signals)
        else child.kill((signal ?? 'SIGTERM') as NodeJS.Signals)
      }
    }
  }
}

const procTable = {
  list: () => { try { return readdirSync('/proc') } catch { return [] } },
  read: (file: string) => { try { return readFileSync(file, 'utf8') } catch { return null } },
  kill: (pid: number) => { process.kill(pid, 'SIGKILL') },
  self: process.pid
}

// Node reports a missing cwd and a missing command alike as `spawn X ENOENT`.
async function explainSpawnFailure (spec: ProcessSpec, code: string | undefined, message: string): Promise<string> {
  if (spec.cwd !== undefined) {
    const dir = await stat(spec.cwd).catch(() => null)
    if (dir === null) return `working directory ${spec.cwd} does not exist`
    if (!dir.isDirectory()) return `working directory ${spec.cwd} is not a directory`
  }
  if (code === 'ENOENT') return `command '${spec.command}' not found on PATH`
  if (code === 'EACCES') return `command '${spec.command}' is not executable`
  return message.split('\n')[0] ?? message
}
