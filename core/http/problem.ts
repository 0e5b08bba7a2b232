// Errors as HTTP answers: a status a client can act on, and an RFC 9457 problem
// details body (application/problem+json) that keeps SE Mesh's `code`, `hint` and
// `details` as extension members, so clients decide on the code as the CLI does.
// Never a stack trace: an unexpected error says only that it happened.
import { toSeError, type SeErrorCode } from '../errors.js'
import type { HttpResponse } from './types.js'

const STATUS: Partial<Record<SeErrorCode, number>> = {
  BAD_INPUT: 400,
  BAD_REQUEST: 400,
  INVALID_CHOICE: 400,
  VALIDATION_FAILED: 422,
  NO_CAPABLE_NODE: 422,
  NO_CONTAINER_ENGINE: 422,
  // The container engine failed at what was asked of it: the node stands between the client and it.
  ENGINE_FAILED: 502,
  DEPLOY_FAILED: 502,
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

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'
/** One problem type per code: a URN names it without promising a page to fetch. */
export const PROBLEM_TYPE_PREFIX = 'urn:se-mesh:problem:'

/** RFC 9457 asks a title that does not change from one occurrence to the next: the status's own phrase. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage'
}

export interface ProblemExtra { hint?: string, details?: unknown[], headers?: Record<string, string>, instance?: string }

/** The problem details body alone, for adapters that write a raw answer themselves. */
export function problemBody (status: number, code: string, message: string, extra: ProblemExtra = {}): Record<string, unknown> {
  const body: Record<string, unknown> = { type: PROBLEM_TYPE_PREFIX + code, title: TITLES[status] ?? 'Error', status, detail: message, code }
  if (extra.instance !== undefined) body.instance = extra.instance
  if (extra.hint !== undefined) body.hint = extra.hint
  if (extra.details !== undefined && extra.details.length > 0) body.details = extra.details
  return body
}

export function problem (status: number, code: HttpErrorCode, message: string, extra: ProblemExtra = {}): HttpResponse {
  return { status, headers: { ...extra.headers, 'content-type': PROBLEM_CONTENT_TYPE }, json: problemBody(status, code, message, extra) }
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
