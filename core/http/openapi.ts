// The OpenAPI 3.1 document of the HTTP API, generated from the routes table and
// the protocol's records: served at /api/v1/openapi.json and kept in the
// repository as docs/openapi.json (a test holds the file to this code).
import { VERSION } from '../constants.js'
import { MESSAGES } from '../protocol/codec.js'
import { COMPONENT_PREFIX, componentSchemas, fieldSchema, recordFields, ref, type JsonSchema } from './json-schema.js'
import { PROBLEM_TYPE_PREFIX } from './problem.js'
import { ROUTES, type BodySpec, type RouteSpec } from './routes.js'

const PROBLEM: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is what a client decides on',
  properties: {
    type: { type: 'string', description: `${PROBLEM_TYPE_PREFIX}CODE` },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', description: 'the SE Mesh error code, as the CLI prints it' },
    hint: { type: 'string', description: 'what to do next' },
    details: { type: 'array', items: ref('ErrorDetail') }
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
  additionalProperties: false
}
const ERROR_DETAIL: JsonSchema = {
  type: 'object',
  properties: { path: { type: 'string', description: 'where in the request, e.g. `steps[2].run.timeoutSec`' }, message: { type: 'string' } },
  required: ['path', 'message']
}

/** A message's fields by name, as `BodySpec.from` names them. */
function fieldsOf (from: BodySpec['from']): Array<{ name: string, type: unknown, default?: unknown, doc?: string }> {
  if ('record' in from) return recordFields(from.record)
  const message = MESSAGES.get(from.message)
  if (message === undefined) throw new Error(`no message ${from.message} in the protocol`)
  return message.declaration.request as Array<{ name: string, type: unknown }>
}

/** The JSON Schema of a route's body: the record's fields it takes, no others. */
export function bodySchema (body: BodySpec): JsonSchema {
  const declared = fieldsOf(body.from)
  const properties: Record<string, JsonSchema> = {}
  for (const name of body.fields) {
    const field = declared.find(f => f.name === name)
    if (field === undefined) throw new Error(`${name} is not a field of ${JSON.stringify(body.from)}`)
    properties[name] = fieldSchema(field)
  }
  Object.assign(properties, body.extra)
  return { type: 'object', properties, ...(body.required.length > 0 ? { required: body.required } : {}), additionalProperties: false }
}

/** The names a body may carry: its record's fields and the API's own. */
export function bodyFields (body: BodySpec): string[] {
  return [...body.fields, ...Object.keys(body.extra ?? {})]
}

function messageResponse (name: string): JsonSchema {
  const message = MESSAGES.get(name)
  if (message === undefined) throw new Error(`no message ${name} in the protocol`)
  return fieldSchema({ name, type: message.declaration.response })
}

function operation (r: RouteSpec): JsonSchema {
  const parameters: JsonSchema[] = []
  for (const name of r.pattern.split('/').filter(s => s.startsWith(':'))) parameters.push({ name: name.slice(1), in: 'path', required: true, schema: { type: 'string' } })
  for (const q of r.query ?? []) parameters.push({ name: q.name, in: 'query', description: q.description, schema: q.schema, ...(q.repeat === true ? { explode: true } : {}) })
  if (r.queryRecord !== undefined) {
    const fields = recordFields(r.queryRecord.record)
    for (const [name, field] of Object.entries(r.queryRecord.names)) {
      const f = fields.find(x => x.name === field)
      if (f === undefined) throw new Error(`${field} is not a field of ${r.queryRecord.record}`)
      const schema = fieldSchema(f)
      // A query parameter is absent rather than null.
      if (Array.isArray(schema.type)) schema.type = (schema.type as string[]).find(t => t !== 'null')
      parameters.push({ name, in: 'query', schema: f.default === undefined ? schema : { ...schema, default: f.default } })
    }
  }
  const responses: Record<string, JsonSchema> = {}
  for (const [status, spec] of Object.entries(r.responses)) {
    const content = spec.events === true
      ? { 'text/event-stream': { schema: { type: 'string' } } }
      : spec.text !== undefined
        ? { [spec.text.split(';')[0] as string]: { schema: { type: 'string' } } }
        : { 'application/json': { schema: spec.message !== undefined ? messageResponse(spec.message) : spec.schema } }
    responses[status] = { description: spec.description, content }
  }
  if (r.open !== true) responses['401'] = { $ref: '#/components/responses/Unauthenticated' }
  responses.default = { $ref: '#/components/responses/Problem' }
  return {
    operationId: r.id,
    summary: r.summary,
    ...(r.open === true ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(r.body === undefined ? {} : { requestBody: { required: r.body.optional !== true, content: { 'application/json': { schema: bodySchema(r.body) } } } }),
    responses
  }
}

export function openApiDocument (): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  for (const r of ROUTES) {
    const path = r.pattern.replace(/:(\w+)/g, '{$1}')
    ;(paths[path] ??= {})[r.method.toLowerCase()] = operation(r)
  }
  const problem = (description: string): JsonSchema => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } })
  const responses = { Problem: problem('an error'), Unauthenticated: problem('no token, or one the node does not know') }
  return {
    openapi: '3.1.0',
    info: { title: 'SE Mesh node HTTP API', version: VERSION, description: 'Served by `se node start --http`. Errors are RFC 9457 problem details.', license: { name: 'MIT', identifier: 'MIT' } },
    // Relative: each node serves its own document, at whatever address it was opened on.
    servers: [{ url: '/', description: 'the node serving this document' }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from the node\'s token file (USER:TOKEN lines)' } },
      responses,
      schemas: reachable({ ...componentSchemas(), Problem: PROBLEM, ErrorDetail: ERROR_DETAIL }, [paths, responses])
    }
  }
}

/** Only the schemas the API's answers and bodies refer to: the mesh's own records stay out. */
function reachable (schemas: Record<string, JsonSchema>, roots: unknown[]): Record<string, JsonSchema> {
  const kept = new Set<string>()
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object') return
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(COMPONENT_PREFIX)) {
        const name = v.slice(COMPONENT_PREFIX.length)
        if (!kept.has(name)) { kept.add(name); walk(schemas[name]) }
      } else walk(v)
    }
  }
  for (const root of roots) walk(root)
  return Object.fromEntries(Object.entries(schemas).filter(([name]) => kept.has(name)))
}
