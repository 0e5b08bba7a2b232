// One error class for the whole node: every error carries a stable `code` that
// tests and scripts match, a message that says what happened, and where it can,
// what to do next. The CLI maps codes to exit codes (see EXIT_CODES).

export type SeErrorCode =
  | 'VALIDATION_FAILED'
  | 'BAD_INPUT'
  | 'UNKNOWN_WORKFLOW'
  | 'UNKNOWN_MESSAGE'
  | 'BAD_FRAME'
  | 'FRAME_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'NOT_WAITING'
  | 'INVALID_CHOICE'
  | 'ALREADY_FINISHED'
  | 'NO_CAPABLE_NODE'
  | 'NO_NODE'
  | 'NODE_RUNNING'
  | 'NODE_STARTING'
  | 'NO_SPACE'
  | 'WRITE_FAILED'
  | 'NO_CONTAINER_ENGINE'
  | 'COMMAND_NOT_ALLOWED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'CONNECTION_CLOSED'
  | 'STORE_CORRUPT'
  | 'SHUTTING_DOWN'
  | 'PEER_REJECTED'
  | 'NOT_ALLOWED'
  | 'NOT_IN_MESH'
  | 'UNKNOWN_WORKLOAD'
  | 'DEPLOY_FAILED'
  | 'OVER_BUDGET'
  | 'ENGINE_FAILED'
  | 'SESSION_NOT_FOUND'
  | 'SESSION_CLOSED'
  | 'INTERNAL'

export interface ErrorDetail {
  file?: string
  path?: string
  line?: number
  message: string
}

export class SeError extends Error {
  readonly code: SeErrorCode
  readonly details: ErrorDetail[]
  readonly hint: string | undefined

  constructor (code: SeErrorCode, message: string, opts: { details?: ErrorDetail[], hint?: string, cause?: unknown } = {}) {
    super(`${code}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'SeError'
    this.code = code
    this.details = opts.details ?? []
    this.hint = opts.hint
  }

  /** The message without the code prefix, for people. */
  get reason (): string {
    return this.message.slice(this.code.length + 2)
  }

  static validation (what: string, details: ErrorDetail[]): SeError {
    return new SeError('VALIDATION_FAILED', `${what} is invalid (${details.length} problem${details.length === 1 ? '' : 's'})`, { details })
  }

  static badInput (message: string, hint?: string): SeError {
    return new SeError('BAD_INPUT', message, hint === undefined ? {} : { hint })
  }

  static unknownWorkflow (id: string): SeError {
    return new SeError('UNKNOWN_WORKFLOW', `no workflow with id or name '${id}' on this node`, { hint: 'list workflows with `se status`, the catalogue with `se catalogue`' })
  }

  static notWaiting (id: string, state: string): SeError {
    return new SeError('NOT_WAITING', `workflow ${id} is ${state}, not waiting for an intervention`)
  }

  /** Another node holds the data dir's lock: it is running, or starting. */
  static nodeRunning (dataDir: string, pid: number | null): SeError {
    return new SeError('NODE_RUNNING', `a node already runs on data dir ${dataDir}${pid === null ? '' : ` (pid ${pid})`}`, { hint: 'use that node (the CLI talks to it), stop it first, or give this one another --data-dir' })
  }

  /** The data dir's node holds its lock but does not answer yet. */
  static nodeStarting (dataDir: string, pid: number | null, waitedMs: number): SeError {
    return new SeError('NODE_STARTING', `the node on data dir ${dataDir}${pid === null ? '' : ` (pid ${pid})`} is starting and did not answer within ${(waitedMs / 1000).toFixed(0)} s`, { hint: 'try again in a moment; its log says what it is doing' })
  }

  /**
   * A write under the data dir failed because its file system is full: nothing was
   * recorded, and the node carries on once there is room.
   */
  static noSpace (dir: string, freeBytes: number | null, cause: unknown): SeError {
    const free = freeBytes === null ? '' : ` (${formatBytes(freeBytes)} free)`
    return new SeError('NO_SPACE', `no space left for the data dir ${dir}${free}: nothing was recorded`, { hint: 'free space on that file system; the node carries on by itself once writes succeed again', cause })
  }

  /** A write under the data dir failed for another reason (permissions, I/O error). */
  static writeFailed (file: string, cause: unknown): SeError {
    return new SeError('WRITE_FAILED', `could not write ${file}: ${(cause as Error)?.message ?? String(cause)}`, { hint: 'check the data dir\'s file system and permissions', cause })
  }

  static noContainerEngine (image: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `step needs container image '${image}' but no container engine is available on this node`, { hint: 'install podman, or run the workflow on a node that advertises the podman capability' })
  }
}

export function isSeError (err: unknown): err is SeError {
  return err instanceof SeError
}

/** Turns anything thrown into an SeError without losing its code when it has one. */
function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`
}

export function toSeError (err: unknown): SeError {
  if (err instanceof SeError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new SeError('INTERNAL', message, { cause: err })
}

export const EXIT_CODES = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  WAITING: 3,
  NO_NODE: 4,
  /** Reserved for refusals by a member's policy. */
  NOT_ALLOWED: 5,
  NO_SPACE: 6
} as const

export function exitCodeFor (code: SeErrorCode): number {
  switch (code) {
    case 'VALIDATION_FAILED':
    case 'BAD_INPUT':
    case 'UNKNOWN_WORKFLOW':
    case 'NOT_WAITING':
    case 'INVALID_CHOICE':
    case 'ALREADY_FINISHED':
    case 'NO_CAPABLE_NODE':
    case 'COMMAND_NOT_ALLOWED':
    case 'NOT_IN_MESH':
    case 'UNKNOWN_WORKLOAD':
    case 'OVER_BUDGET':
    case 'NO_CONTAINER_ENGINE':
    case 'SESSION_NOT_FOUND':
    case 'SESSION_CLOSED':
    case 'NODE_RUNNING':
      return EXIT_CODES.USAGE
    case 'NO_NODE':
    case 'CONNECTION_CLOSED':
    case 'NODE_STARTING':
      return EXIT_CODES.NO_NODE
    case 'NO_SPACE':
      return EXIT_CODES.NO_SPACE
    default:
      return EXIT_CODES.FAILED
  }
}
