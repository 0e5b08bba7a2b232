// The protocol's Avro records as JSON Schema (2020-12, the dialect of OpenAPI
// 3.1): what a record looks like once the HTTP API has written it as JSON. Derived
// from core/protocol/schema.ts, so the published document cannot drift from the
// types that validate requests and shape answers.
import { TYPES } from '../protocol/schema.js'

export type JsonSchema = Record<string, unknown>

export const COMPONENT_PREFIX = '#/components/schemas/'

const PRIMITIVES: Record<string, JsonSchema> = {
  null: { type: 'null' },
  boolean: { type: 'boolean' },
  int: { type: 'integer', format: 'int32' },
  long: { type: 'integer', format: 'int64' },
  float: { type: 'number' },
  double: { type: 'number' },
  string: { type: 'string' },
  // Bytes travel only between nodes, never over this API; were they to, JSON would carry them as text.
  bytes: { type: 'string' }
}

interface AvroField { name: string, type: unknown, default?: unknown, doc?: string }

export const ref = (name: string): JsonSchema => ({ $ref: COMPONENT_PREFIX + name })

/** Every named type of the protocol (records nested in others too), by name. */
export function componentSchemas (): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {}
  for (const t of TYPES) convert(t, out)
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)))
}

/** One field of a record as a body property; `out` collects any named type declared inline. */
export function fieldSchema (field: AvroField, out: Record<string, JsonSchema> = {}): JsonSchema {
  const schema = convert(field.type, out)
  return field.doc === undefined ? schema : { ...schema, description: field.doc }
}

/** The declared fields of a protocol record, by name. */
export function recordFields (name: string): AvroField[] {
  const found = (TYPES as readonly unknown[]).find(t => (t as { name?: string }).name === name) as { fields?: AvroField[] } | undefined
  if (found?.fields === undefined) throw new Error(`no record ${name} in the protocol`)
  return found.fields
}

function convert (type: unknown, out: Record<string, JsonSchema>): JsonSchema {
  if (typeof type === 'string') return PRIMITIVES[type] ?? ref(type)
  if (Array.isArray(type)) {
    const branches = type.map(t => convert(t, out))
    // ['null', 'string'] reads best as one type list; a union with a record needs anyOf.
    if (branches.every(b => typeof b.type === 'string' && Object.keys(b).length === 1)) return { type: branches.map(b => b.type) }
    return { anyOf: branches }
  }
  const t = type as { type: string, name?: string, doc?: string, fields?: AvroField[], symbols?: string[], items?: unknown, values?: unknown }
  switch (t.type) {
    case 'record':
    case 'error': {
      const properties: Record<string, JsonSchema> = {}
      for (const f of t.fields ?? []) properties[f.name] = fieldSchema(f, out)
      // The node writes every field of a record it answers with, defaults included.
      out[t.name as string] = { type: 'object', ...(t.doc === undefined ? {} : { description: t.doc }), properties, required: (t.fields ?? []).map(f => f.name), additionalProperties: false }
      return ref(t.name as string)
    }
    case 'enum':
      out[t.name as string] = { type: 'string', enum: t.symbols }
      return ref(t.name as string)
    case 'array':
      return { type: 'array', items: convert(t.items, out) }
    case 'map':
      return { type: 'object', additionalProperties: convert(t.values, out) }
    default:
      return convert(t.type, out)
  }
}
