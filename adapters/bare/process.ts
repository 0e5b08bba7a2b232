// Step processes on Bare through bare-subprocess: no shell, arguments as an
// array, a timeout that escalates to SIGKILL, and only the tail of the output kept.
import env from 'bare-env'
import fs from 'bare-fs'
import os from 'bare-os'
import { spawn, type Subprocess } from 'bare-subprocess'
import { TextDecoder } from 'bare-encoding'
import { OUTPUT_TAIL_BYTES } from '../../core/constants.js'
import { OutputTail } from '../../core/output-tail.js'
import type { ProcessHandle, ProcessResult, ProcessRunner, ProcessSpec } from '../../core/ports.js'
import { endLeftoverProcesses } from '../shared/leftover-processes.js'

const FORCE_KILL_AFTER_MS = 5000

export class BareProcessRunner implements ProcessRunner {
  constructor (private readonly tailBytes = OUTPUT_TAIL_BYTES) {}

  async endLeftovers (nodeId: string): Promise<number> {
    return endLeftoverProcesses(procTable, nodeId)
  }

  run (spec: ProcessSpec, onOutput?: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle {
    const started = Date.now()
    let child: Subprocess
    try {
      child = spawn(spec.command, spec.args, {
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
        env: withheld({ ...env, ...spec.env } as Record<string, string>, spec.withhold),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: spec.processGroup === true
      })
    } catch (err) {
      // bare-subprocess throws at once where Node would emit an error: a missing command or cwd.
      const failed: ProcessResult = { exitCode: null, signal: null, stdout: '', stderr: '', durationMs: Date.now() - started, timedOut: false, spawnError: explainSpawnFailure(spec, err as Error) }
      return { result: Promise.resolve(failed), kill: () => {} }
    }
    const group = spec.processGroup === true ? child.pid : null
    let timedOut = false
    let forceTimer: ReturnType<typeof setTimeout> | null = null
    // Once the leader has exited (and its group was killed with it, below) its pid may be given to
    // any new process, and so may the group's id: a kill after that could hit a stranger.
    let over = false
    const signal = (name: string): void => {
      if (over) return
      try {
        if (group !== null) os.kill(-group, name)
        else child.kill(name as unknown as number)
      } catch {}
      // A step that ignores SIGTERM is killed for good after the grace period.
      if (name !== 'SIGKILL' && forceTimer === null) {
        forceTimer = setTimeout(() => signal('SIGKILL'), FORCE_KILL_AFTER_MS)
      }
    }
    const timeout = spec.timeoutMs === undefined ? null : setTimeout(() => { timedOut = true; signal('SIGTERM') }, spec.timeoutMs)
    const tails = { stdout: new OutputTail(this.tailBytes), stderr: new OutputTail(this.tailBytes) }
    const drained: Array<Promise<void>> = []
    for (const stream of ['stdout', 'stderr'] as const) {
      const pipe = child[stream]
      if (pipe === null) continue
      const decoder = new TextDecoder('utf-8')
      pipe.on('data', (chunk: unknown) => {
        const text = decoder.decode(chunk as Uint8Array, { stream: true })
        if (text === '') return
        tails[stream].push(text)
        onOutput?.(stream, text)
      })
      drained.push(new Promise(resolve => { pipe.once('close', () => resolve()) }))
    }
    const exited = new Promise<{ code: number | null, signal: string | null }>(resolve => {
      child.once('exit', (code, signalCode) => resolve({ code, signal: signalCode }))
    })
    const result = exited.then(async (exit): Promise<ProcessResult> => {
      // The leader is gone: whatever it left in its group goes with it, now rather
      // than when the last of them closes the output pipes it inherited.
      if (group !== null) try { os.kill(-group, 'SIGKILL') } catch {}
      over = true
      await Promise.all(drained)
      if (timeout !== null) clearTimeout(timeout)
      if (forceTimer !== null) clearTimeout(forceTimer)
      return {
        exitCode: exit.code,
        signal: exit.signal,
        stdout: tails.stdout.text(),
        stderr: tails.stderr.text(),
        durationMs: Date.now() - started,
        timedOut,
        spawnError: null
      }
    })
    return {
      result,
      pid: child.pid,
      kill: name => signal(name ?? 'SIGTERM')
    }
  }
}

const procTable = {
  list: () => { try { return fs.readdirSync('/proc') as string[] } catch { return [] } },
  read: (file: string) => { try { return (fs.readFileSync(file) as { toString: (encoding: string) => string }).toString('utf8') } catch { return null } },
  kill: (pid: number) => { os.kill(pid, 'SIGKILL') },
  self: os.pid()
}

function explainSpawnFailure (spec: ProcessSpec, err: Error): string {
  if (spec.cwd !== undefined) {
    let isDir: boolean | null = null
    try { isDir = fs.statSync(spec.cwd).isDirectory() } catch {}
    if (isDir === null) return `working directory ${spec.cwd} does not exist`
    if (!isDir) return `working directory ${spec.cwd} is not a directory`
  }
  const code = (err as { code?: string }).code
  if (code === 'ENOENT') return `command '${spec.command}' not found on PATH`
  if (code === 'EACCES') return `command '${spec.command}' is not executable`
  return err.message.split('\n')[0] ?? err.message
}

/** The environment without the variables the step was not granted. */
function withheld (all: Record<string, string>, names: string[] | undefined): Record<string, string> {
  for (const name of names ?? []) delete all[name]
  return all
}
