// SeErrors as the protocol's declared error (SENodeError): code, message, hint
// and details as our own RPC carries them, and never a stack.
import { SeError, toSeError } from '../../../core/errors.js'
import type { Logger } from '../../../core/ports.js'

export interface ErrorValue {
  code: string
  message: string
  hint: string | null
  details: Array<{ file: string | null, path: string | null, line: number | null, message: string }>
}

export function errorValue (thrown: unknown, log: Logger, where: string): ErrorValue {
  if (!(thrown instanceof SeError)) {
    // Unexpected: the node's log gets the whole story, the client only the fact.
    log.error(`avro ipc ${where} failed: ${toSeError(thrown).reason}${thrown instanceof Error && thrown.stack !== undefined ? `\n${thrown.stack}` : ''}`)
    return { code: 'INTERNAL', message: `the node could not answer ${where}; its log says why`, hint: null, details: [] }
  }
  return {
    code: thrown.code,
    message: thrown.reason,
    hint: thrown.hint ?? null,
    details: thrown.details.map(d => ({ file: d.file ?? null, path: d.path ?? null, line: d.line ?? null, message: d.message }))
  }
}

export function unauthenticated (header: Buffer | undefined): ErrorValue {
  return {
    code: 'UNAUTHENTICATED',
    message: header === undefined ? 'a bearer token is required in the call metadata under `authorization`' : 'the bearer token in the call metadata is not valid for this node',
    hint: 'send call metadata authorization = "Bearer TOKEN", with a token from the node\'s token file',
    details: []
  }
}
