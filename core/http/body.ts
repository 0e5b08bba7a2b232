// Request bodies: JSON, checked against the same Avro schemas the CLI's requests
// use, so a field of the wrong type is refused with its path before anything runs.
import b4a from 'b4a'
import { SeError, type ErrorDetail } from '../errors.js'
import type { AvroType } from '../protocol/codec.js'

/** The body as a JSON object; BAD_INPUT names what is wrong with it. */
export function jsonBody (body: Uint8Array | null): Record<string, unknown> {
  if (body === null || body.byteLength === 0) throw SeError.badInput('the request has no body; send a JSON object')
  let value: unknown
  try {
    value = JSON.parse(b4a.toString(body, 'utf8'))
  } catch (err) {
    throw SeError.badInput(`the body is not valid JSON: ${(err as Error).message}`, undefined, err)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw SeError.badInput('the body must be a JSON object')
  return value as Record<string, unknown>
}

/** Refuses fields the endpoint does not know: a typo must not be silently ignored. */
export function onlyFields (body: Record<string, unknown>, known: string[]): void {
  const unknown = Object.keys(body).filter(k => !known.includes(k))
  if (unknown.length > 0) {
    throw SeError.validation('the request body', unknown.map(k => ({ path: k, message: `unknown field; expected one of ${known.join(', ')}` })))
  }
}

/** Checks a value against an Avro type, naming each field that does not fit. */
export function mustFit<T> (type: AvroType, value: unknown, what: string): T {
  const details: ErrorDetail[] = []
  type.isValid(value, {
    errorHook: (path, v) => { details.push({ path: path.join('.') || '(body)', message: `${JSON.stringify(v) ?? 'undefined'} is not ${describe(type, path)}` }) }
  })
  if (details.length > 0) throw SeError.validation(what, details)
  return value as T
}

function describe (type: AvroType, path: string[]): string {
  let t: any = type
  for (const p of path) {
    const field = t?.getField?.(p)
    t = field === undefined ? t?.itemsType ?? t?.valuesType : field.type
    // Unions of null and one type read as that type, optional.
    if (t?.types !== undefined) t = t.types.find((u: any) => u.typeName !== 'null') ?? t
  }
  const name = t?.typeName ?? 'the expected type'
  return name === 'record' ? 'an object' : name === 'map' ? 'an object of strings' : name === 'array' ? 'an array' : `a ${String(name)}`
}
