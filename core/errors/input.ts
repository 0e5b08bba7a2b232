// Errors in what a person or a client gave: a file, a flag, a request.
import { SeError, messageOf, options, type ErrorDetail } from './se-error.js'

export const inputErrors = {
  /** `what` (a file, a request) breaks the rules; each detail names where and why. */
  validation (what: string, details: ErrorDetail[]): SeError {
    return new SeError('VALIDATION_FAILED', `${what} is invalid (${details.length} problem${details.length === 1 ? '' : 's'})`, { details })
  },

  /** A value that cannot be used as given; the message names it, the hint says what would do. */
  badInput (message: string, hint?: string, cause?: unknown): SeError {
    return new SeError('BAD_INPUT', message, options(hint, cause))
  },

  /** A file the node needs could not be read; `what` names it ("allowlist /etc/se/allow"). */
  cannotRead (what: string, cause: unknown): SeError {
    const why = (cause as { code?: string } | undefined)?.code === 'ENOENT' ? 'no such file' : messageOf(cause)
    return new SeError('BAD_INPUT', `cannot read ${what}: ${why}`, { cause })
  },

  /** A listener's address (`--http`, `--avro-tcp`) is taken by something else. */
  addressInUse (flag: string, host: string, port: number, cause: unknown, hint?: string): SeError {
    return new SeError('BAD_INPUT', `${flag} ${host}:${port}: that address is already in use`, options(hint, cause))
  },

  /** A listener's host is not an address of this machine. */
  noSuchAddress (flag: string, host: string, port: number, cause: unknown): SeError {
    return new SeError('BAD_INPUT', `${flag} ${host}:${port}: this machine has no such address`, { cause })
  },

  /** A flag's value is not what the flag takes: `--limit abc`. `expects` says what would do ("a whole number, 1 or more"). */
  badFlag (flag: string, value: string, expects: string): SeError {
    return new SeError('BAD_INPUT', `${flag} '${value}': expected ${expects}`, { hint: `give ${flag} ${expects}` })
  },

  /**
   * A step's command is found on no PATH that could run it: refused before the first step
   * starts. `where` names the nodes looked at, when a node did the looking (not `se validate`).
   */
  commandNotFound (file: string, missing: Array<{ step: string, command: string, where?: string[] }>): SeError {
    const on = (where: string[] | undefined): string => where === undefined ? 'on PATH' : `on the PATH of ${where.join(', ')}`
    return new SeError('VALIDATION_FAILED', `${file}: ${missing.length} command${missing.length === 1 ? '' : 's'} not found ${missing.every(m => m.where === undefined) ? 'on PATH' : 'where the steps would run'}`, {
      details: missing.map(m => ({ file, path: `${m.step}.run.command`, message: `command '${m.command}' not found ${on(m.where)}` })),
      hint: 'install it there, fix its name, give a path to it (a tool an earlier step installs), or give the step requires: {tools: [...]} to run it on a member that has it'
    })
  },

  /** `se node stop` sent SIGTERM and the node still holds its data dir after the wait. */
  nodeStopTimedOut (dataDir: string, pid: number, waitedSec: number): SeError {
    return new SeError('TIMEOUT', `the node on ${dataDir} (pid ${pid}) is still stopping after ${waitedSec} s`, { hint: 'running steps get a grace period (SE_SHUTDOWN_GRACE_SEC); wait longer with --timeout, or look at its log' })
  }
}
