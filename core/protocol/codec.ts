// Builds avsc types from the protocol declarations. Only avsc's `Type` is used
// (not `Service`), so the same bytes are produced on Node and on Bare. Every
// decode goes through the bounded array and map readers of avsc-guard.
import './avsc-guard.js'
import avro from 'avsc/etc/browser/avsc-types.js'
import { NAMESPACE, PROTOCOLS, TYPES, type MessageDeclaration } from './schema.js'

export interface AvroType {
  toBuffer (value: unknown): Uint8Array
  fromBuffer (buf: Uint8Array): any
  /** Writes `value` into `buf` from `pos`: the position after it, or minus the bytes `buf` lacks. Throws if it does not fit the type. */
  encode (value: unknown, buf: Uint8Array, pos: number): number
  /** Reads a value from `pos`: `offset` after it, or -1 when `buf` ends first. */
  decode (buf: Uint8Array, pos: number): { value: any, offset: number }
  isValid (value: unknown, opts?: { errorHook?: (path: string[], value: unknown) => void }): boolean
  clone (value: unknown, opts?: unknown): any
}

export interface MessageCodec {
  name: string
  declaration: MessageDeclaration
  request: AvroType
  response: AvroType
  stream: AvroType | null
  /** Order of the request's parameters, to map a record to positional arguments. */
  params: string[]
}

const registry: Record<string, unknown> = {}

// Types are built on first use, each after the declared types it names: building all
// of them costs a CLI call more start-up time than the rest of it, and a call needs few.
const qualified = (name: string): string => name.includes('.') ? name : `${NAMESPACE}.${name}`

/** Every named type a declaration holds (itself, and records or enums declared inside it). */
function namesDeclaredIn (schema: unknown, found: string[] = []): string[] {
  if (Array.isArray(schema)) for (const s of schema) namesDeclaredIn(s, found)
  else if (schema !== null && typeof schema === 'object') {
    const o = schema as Record<string, unknown>
    if (typeof o.name === 'string' && ['record', 'error', 'enum', 'fixed'].includes(o.type as string)) found.push(qualified(o.name))
    for (const v of Object.values(o)) namesDeclaredIn(v, found)
  }
  return found
}

/** The top-level declaration that declares each name. */
const DECLARED = new Map<string, object>()
for (const schema of TYPES) for (const name of namesDeclaredIn(schema)) DECLARED.set(name, schema as object)

/** Builds the declarations `schema` names (any string in it that is a declared type's name), deepest first. */
function ensureNamedIn (schema: unknown): void {
  if (typeof schema === 'string') ensure(qualified(schema))
  else if (Array.isArray(schema)) for (const s of schema) ensureNamedIn(s)
  else if (schema !== null && typeof schema === 'object') for (const v of Object.values(schema)) ensureNamedIn(v)
}

const building = new Set<object>()

function ensure (name: string): void {
  const declaration = DECLARED.get(name)
  if (registry[name] !== undefined || declaration === undefined || building.has(declaration)) return
  building.add(declaration)
  ensureNamedIn(declaration)
  avro.Type.forSchema({ namespace: NAMESPACE, ...declaration } as never, { registry } as never)
}

export function typeOf (schema: unknown): AvroType {
  ensureNamedIn(schema)
  return avro.Type.forSchema(schema as never, { registry, namespace: NAMESPACE } as never) as unknown as AvroType
}

export function namedType (name: string): AvroType {
  ensure(qualified(name))
  const type = registry[qualified(name)]
  if (type === undefined) throw new Error(`no Avro type ${name} in the protocol`)
  return type as AvroType
}

/** A message's codec; its types are built the first time they are asked for. */
function lazyCodec (name: string, declaration: MessageDeclaration): MessageCodec {
  let request: AvroType | undefined
  let response: AvroType | undefined
  let stream: AvroType | null | undefined
  return {
    name,
    declaration,
    params: declaration.request.map(f => f.name),
    get request () { return (request ??= typeOf({ type: 'record', name: `${name}Request`, fields: declaration.request })) },
    get response () { return (response ??= typeOf(declaration.response)) },
    get stream () { return stream === undefined ? (stream = declaration.stream === undefined ? null : namedType(declaration.stream)) : stream }
  }
}

function buildMessages (): Map<string, MessageCodec> {
  const messages = new Map<string, MessageCodec>()
  for (const proto of PROTOCOLS) {
    for (const [name, declaration] of Object.entries(proto.messages)) {
      if (messages.has(name)) throw new Error(`message ${name} is declared twice`)
      messages.set(name, lazyCodec(name, declaration))
    }
  }
  return messages
}

export const MESSAGES = buildMessages()
let remoteError: AvroType | undefined
/** The type of an error reply, built the first time one is sent or read (most calls never see one). */
export function remoteErrorType (): AvroType { return (remoteError ??= namedType('RemoteError')) }
