// The one error class for the whole node: a stable `code` that tests and scripts
// match, a message that says what happened, and where it can, what to do next.
// Errors are built by the named factories in this folder, gathered on SeError by
// ../errors.ts; import SeError from there, not from here.

export const SE_ERROR_CODES = [
  'VALIDATION_FAILED',
  'BAD_INPUT',
  'UNKNOWN_WORKFLOW',
  'UNKNOWN_MESSAGE',
  'BAD_FRAME',
  'FRAME_TOO_LARGE',
  'BAD_REQUEST',
  'NOT_WAITING',
  'INVALID_CHOICE',
  'ALREADY_FINISHED',
  'NO_CAPABLE_NODE',
  'NO_NODE',
  'NODE_RUNNING',
  'NODE_STARTING',
  'NO_SPACE',
  'WRITE_FAILED',
  'NO_CONTAINER_ENGINE',
  'COMMAND_NOT_ALLOWED',
  'TIMEOUT',
  'CANCELLED',
  'CONNECTION_CLOSED',
  'STORE_CORRUPT',
  'SHUTTING_DOWN',
  'PEER_REJECTED',
  'NOT_ALLOWED',
  'NOT_IN_MESH',
  'UNKNOWN_WORKLOAD',
  'DEPLOY_FAILED',
  'OVER_BUDGET',
  'ENGINE_FAILED',
  'SESSION_NOT_FOUND',
  'SESSION_CLOSED',
  'STEP_NOT_HERE',
  'INTERNAL'
] as const

export type SeErrorCode = typeof SE_ERROR_CODES[number]

export interface ErrorDetail {
  file?: string
  path?: string
  line?: number
  message: string
}

export interface SeErrorOptions {
  details?: ErrorDetail[]
  hint?: string
  /** The error this one wraps: kept, so a log or a debugger can follow the chain. */
  cause?: unknown
}

export class SeError extends Error {
  readonly code: SeErrorCode
  readonly details: ErrorDetail[]
  readonly hint: string | undefined

  constructor (code: SeErrorCode, message: string, opts: SeErrorOptions = {}) {
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
}

/** The options with only what is set, so an absent hint or cause stays absent. */
export function options (hint: string | undefined, cause?: unknown, details?: ErrorDetail[]): SeErrorOptions {
  return {
    ...(hint === undefined ? {} : { hint }),
    ...(cause === undefined ? {} : { cause }),
    ...(details === undefined ? {} : { details })
  }
}

/** What a thrown value says, for messages that quote the error they wrap. */
export function messageOf (cause: unknown): string {
  return (cause as Error | undefined)?.message ?? String(cause)
}

export function isSeError (err: unknown): err is SeError {
  return err instanceof SeError
}

/** Turns anything thrown into an SeError without losing its code when it has one. */
export function toSeError (err: unknown): SeError {
  if (err instanceof SeError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new SeError('INTERNAL', message, { cause: err })
}
