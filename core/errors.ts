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

  constructor (code: SeErrorCode, message: string, opts: { details?: ErrorDetail[], hint?: string } = {}) {
    super(`${code}: ${message}`)
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

  static noContainerEngine (image: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `step needs container image '${image}' but no container engine is available on this node`, { hint: 'install podman, or run the workflow on a node that advertises the podman capability' })
  }
}

export function isSeError (err: unknown): err is SeError {
  return err instanceof SeError
}

/** Turns anything thrown into an SeError without losing its code when it has one. */
export function toSeError (err: unknown): SeError {
  if (err instanceof SeError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new SeError('INTERNAL', message)
}

export const EXIT_CODES = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  WAITING: 3,
  NO_NODE: 4
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
      return EXIT_CODES.USAGE
    case 'NO_NODE':
    case 'CONNECTION_CLOSED':
      return EXIT_CODES.NO_NODE
    default:
      return EXIT_CODES.FAILED
  }
}
