// Step processes through execa: no shell, arguments as an array, a timeout that
// escalates to SIGKILL, and only the tail of the output kept.
//
// This is every step's hot path, so execa is asked for as little as it can do:
// output is not buffered (we read the pipes into bounded tails ourselves), the
// environment is merged here in one pass, and a run in a process group of its own
// (every workflow step) has its timeout, kill and force-kill done here, on the group,
// with no execa timers and no signal-exit cleanup (a group outlives us by design; a
// node that died ends it with endLeftovers). Such a run is over when its process has
// exited and its pipes have closed: the result is given then, from the subprocess's
// own `close` event, while execa's promise settles behind it. Whatever went wrong
// (a command that could not start, an error on the subprocess) is read from execa's
// result as before.
import { execa, type Options } from 'execa'
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
    const grouped = spec.processGroup === true
    const child = execa(spec.command, spec.args, grouped ? groupOptions(spec) : soloOptions(spec))
    const group = grouped && child.pid !== undefined ? child.pid : null
    let forceTimer: ReturnType<typeof setTimeout> | null = null
    let timeoutTimer: ReturnType<typeof setTimeout> | null = null
    let timedOut = false
    // Once the leader has exited (and its group was killed with it, below) its pid may be given to
    // any new process, and so may the group's id: a kill after that could hit a stranger.
    let over = false
    // With a group of its own the child's children get the signal too; the group is killed for good if it lingers.
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (group === null || over) return
      try { process.kill(-group, signal) } catch {}
      if (signal !== 'SIGKILL' && forceTimer === null) {
        forceTimer = setTimeout(() => { if (!over) try { process.kill(-group, 'SIGKILL') } catch {} }, FORCE_KILL_AFTER_MS)
        forceTimer.unref()
      }
    }
    if (group !== null && spec.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => { timedOut = true; signalGroup('SIGTERM') }, spec.timeoutMs)
      timeoutTimer.unref()
    }
    // The leader is gone: whatever it left in its group goes with it, now rather than
    // when the last of them closes the output pipes it inherited.
    child.once('exit', () => {
      if (group !== null) try { process.kill(-group, 'SIGKILL') } catch {}
      over = true
    })
    const tails = { stdout: new OutputTail(this.tailBytes), stderr: new OutputTail(this.tailBytes) }
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream]
      source?.setEncoding('utf8')
      source?.on('data', (text: string) => {
        tails[stream].push(text)
        onOutput?.(stream, text)
      })
    }
    const settle = (exitCode: number | null, signal: string | null, spawnError: string | null, execaTimedOut: boolean): ProcessResult => {
      if (forceTimer !== null) clearTimeout(forceTimer)
      if (timeoutTimer !== null) clearTimeout(timeoutTimer)
      return {
        exitCode,
        signal,
        stdout: tails.stdout.text(),
        stderr: tails.stderr.text(),
        durationMs: Math.round(performance.now() - started),
        timedOut: timedOut || execaTimedOut,
        spawnError
      }
    }
    // What execa makes of it: the answer whenever something went wrong, or a solo run has a timeout of execa's.
    const fromExeca = (): Promise<ProcessResult> => child.then(async r => {
      let spawnError: string | null = null
      if (r.exitCode === undefined && r.signal === undefined && !r.timedOut) {
        spawnError = await explainSpawnFailure(spec, r.code, r.message ?? '')
      }
      return settle(r.exitCode ?? null, r.signal ?? null, spawnError, r.timedOut)
    })
    let result: Promise<ProcessResult>
    if (child.pid === undefined || (!grouped && spec.timeoutMs !== undefined)) {
      result = fromExeca()
    } else {
      // Started: the subprocess says when it is over. Should it report an error, execa's result is waited for instead.
      let failed = false
      child.once('error', () => { failed = true })
      result = new Promise<ProcessResult>((resolve, reject) => {
        child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
          if (failed) fromExeca().then(resolve, reject)
          else resolve(settle(code, signal, null, false))
        })
      })
      // Settled behind the result; with reject: false it does not reject, and nothing is left unhandled if it did.
      child.catch(() => {})
    }
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

/** A run in a group of its own: timeout, kill and force-kill are done here, on the group. */
function groupOptions (spec: ProcessSpec): Options {
  return { ...BASE_OPTIONS, cwd: spec.cwd, env: stepEnv(spec.env, spec.withhold), detached: true, cleanup: false, forceKillAfterDelay: false }
}

/** A run without a group: execa times it out, force-kills it and ends it if this process exits. */
function soloOptions (spec: ProcessSpec): Options {
  return {
    ...BASE_OPTIONS,
    cwd: spec.cwd,
    env: stepEnv(spec.env, spec.withhold),
    forceKillAfterDelay: FORCE_KILL_AFTER_MS,
    ...(spec.timeoutMs === undefined ? {} : { timeout: spec.timeoutMs })
  }
}

// No buffering (our tails read the pipes), no encoding or newline work on a buffer there is not, no throwing.
const BASE_OPTIONS = { stdin: 'ignore', buffer: false, reject: false, extendEnv: false } as const satisfies Options

/** This process's environment with the step's on top, read now (it may have changed since the last step). */
function stepEnv (extra: Record<string, string> | undefined, withhold: string[] | undefined): Record<string, string | undefined> {
  // Object.assign reads process.env once per variable; execa's extendEnv spreads it, which costs about half again.
  const env: Record<string, string | undefined> = Object.assign({}, process.env, extra)
  for (const name of withhold ?? []) delete env[name]
  return env
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
