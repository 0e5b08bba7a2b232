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
for (const schema of TYPES) avro.Type.forSchema({ namespace: NAMESPACE, ...(schema as object) } as never, { registry } as never)

export function typeOf (schema: unknown): AvroType {
  return avro.Type.forSchema(schema as never, { registry, namespace: NAMESPACE } as never) as unknown as AvroType
}

export function namedType (name: string): AvroType {
  const type = registry[`${NAMESPACE}.${name}`]
  if (type === undefined) throw new Error(`no Avro type ${name} in the protocol`)
  return type as AvroType
}

function buildMessages (): Map<string, MessageCodec> {
  const messages = new Map<string, MessageCodec>()
  for (const proto of PROTOCOLS) {
    for (const [name, declaration] of Object.entries(proto.messages)) {
      if (messages.has(name)) throw new Error(`message ${name} is declared twice`)
      messages.set(name, {
        name,
        declaration,
        request: typeOf({ type: 'record', name: `${name}Request`, fields: declaration.request }),
        response: typeOf(declaration.response),
        stream: declaration.stream === undefined ? null : namedType(declaration.stream),
        params: declaration.request.map(f => f.name)
      })
    }
  }
  return messages
}

export const MESSAGES = buildMessages()
export const REMOTE_ERROR = namedType('RemoteError')
