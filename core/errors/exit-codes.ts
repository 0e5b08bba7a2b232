// How the CLI ends for each error code: scripts branch on these numbers.
import type { SeErrorCode } from './se-error.js'

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
    case 'NOT_ALLOWED':
      return EXIT_CODES.NOT_ALLOWED
    default:
      return EXIT_CODES.FAILED
  }
}
