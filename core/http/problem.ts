// Errors as HTTP answers: a status a client can act on, and a JSON body naming
// the problem. Never a stack trace: an unexpected error says only that it happened.
import { toSeError, type SeErrorCode } from '../errors.js'
import type { HttpResponse } from './types.js'

const STATUS: Partial<Record<SeErrorCode, number>> = {
  BAD_INPUT: 400,
  BAD_REQUEST: 400,
  INVALID_CHOICE: 400,
  VALIDATION_FAILED: 422,
  NO_CAPABLE_NODE: 422,
  COMMAND_NOT_ALLOWED: 403,
  NOT_ALLOWED: 403,
  UNKNOWN_WORKFLOW: 404,
  UNKNOWN_WORKLOAD: 404,
  SESSION_NOT_FOUND: 404,
  NOT_WAITING: 409,
  ALREADY_FINISHED: 409,
  OVER_BUDGET: 409,
  TIMEOUT: 504,
  SHUTTING_DOWN: 503,
  NO_NODE: 503,
  NO_SPACE: 507,
  WRITE_FAILED: 503
}

export type HttpErrorCode = SeErrorCode | 'UNAUTHENTICATED' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'NOT_READY'

export function problem (status: number, code: HttpErrorCode, message: string, extra: { hint?: string, details?: unknown[], headers?: Record<string, string> } = {}): HttpResponse {
  const error: Record<string, unknown> = { code, message }
  if (extra.hint !== undefined) error.hint = extra.hint
  if (extra.details !== undefined && extra.details.length > 0) error.details = extra.details
  return { status, json: { error }, ...(extra.headers === undefined ? {} : { headers: extra.headers }) }
}

export function problemFrom (err: unknown, log?: (message: string) => void): HttpResponse {
  const e = toSeError(err)
  const status = STATUS[e.code]
  if (status === undefined) {
    // Unexpected: the node's log gets the whole story, the client only the fact.
    log?.(`HTTP request failed: ${e.message}${err instanceof Error && err.stack !== undefined ? `\n${err.stack}` : ''}`)
    return problem(500, 'INTERNAL', 'the node could not answer this request; its log says why')
  }
  const extra: { hint?: string, details?: unknown[] } = {}
  if (e.hint !== undefined) extra.hint = e.hint
  if (e.details.length > 0) extra.details = e.details
  return problem(status, e.code, e.reason, extra)
}
