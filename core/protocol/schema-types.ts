// Reads Avro schemas written as `as const` data at the type level: the TypeScript
// type of the value avsc produces for a schema, so each record is declared once
// (in schema.ts) and its TypeScript shape follows. Types only; nothing runs.
//
// The mapping is avsc's (5.7, no logical types registered; test/protocol.test.ts
// checks decoded values against it): null → null, boolean → boolean,
// int/long/float/double → number, string → string, bytes/fixed → Uint8Array
// (avsc decodes to a Buffer, which is one, but encodes only a Buffer: build the
// value with b4a.from, as handshake.ts does), enum → the union of its symbols,
// array → T[], map → Record<string, T>, a union → the union of its branches
// (['null', T] → T | null), a record → an object with every field required (a
// default only fills in a field a writer's schema lacks; decoded values always
// carry it), a name → the named type it refers to, in the registry R.

/** The names avsc resolves without a registry. */
type Primitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string'

/** Every named type (record, error, enum, fixed) a schema declares, nested ones included. */
export type NamedIn<S> =
  S extends readonly unknown[] ? NamedIn<S[number]>
    : S extends { readonly type: 'record' | 'error', readonly fields: ReadonlyArray<infer F> } ? S | (F extends { readonly type: infer T } ? NamedIn<T> : never)
      : S extends { readonly type: 'enum' | 'fixed', readonly name: string } ? S
        : S extends { readonly type: 'array', readonly items: infer I } ? NamedIn<I>
          : S extends { readonly type: 'map', readonly values: infer V } ? NamedIn<V>
            : S extends { readonly type: infer T } ? (T extends string ? never : NamedIn<T>)
              : never

/** Named types by name: how a reference such as `'StepStatus'` is resolved. */
export type RegistryOf<S> = { [N in NamedIn<S> as N extends { readonly name: infer K extends string } ? K : never]: N }

/** The value of schema S, named types looked up in R. A name R lacks gives `never` (avsc refuses it at load anyway). */
export type AvroValue<S, R> =
  S extends Primitive ? PrimitiveValue[S]
    : S extends string ? (S extends keyof R ? AvroValue<R[S], R> : never)
      : S extends readonly unknown[] ? AvroValue<S[number], R>
        : S extends { readonly type: 'record' | 'error', readonly fields: readonly unknown[] } ? RecordValue<S['fields'], R>
          : S extends { readonly type: 'enum', readonly symbols: ReadonlyArray<infer E> } ? E
            : S extends { readonly type: 'fixed' } ? Uint8Array
              : S extends { readonly type: 'array', readonly items: infer I } ? Array<AvroValue<I, R>>
                : S extends { readonly type: 'map', readonly values: infer V } ? Record<string, AvroValue<V, R>>
                  // { type: 'long', logicalType: … } and other wrapped names.
                  : S extends { readonly type: infer T } ? AvroValue<T, R>
                    : never

interface PrimitiveValue {
  null: null
  boolean: boolean
  int: number
  long: number
  float: number
  double: number
  bytes: Uint8Array
  string: string
}

type RecordValue<F extends readonly unknown[], R> = {
  -readonly [Field in F[number] as Field extends { readonly name: infer N extends string } ? N : never]: Field extends { readonly type: infer T } ? AvroValue<T, R> : never
}

/** A message's declaration as schema.ts writes it. */
export interface MessageShape {
  readonly request: ReadonlyArray<{ readonly name: string, readonly type: unknown }>
  readonly response: unknown
  readonly stream?: string
}

/** A message's request parameters, as a tuple of values in declaration order. */
export type RequestArgs<M extends MessageShape, R> = ParamValues<M['request'], R>

/** Mapped over a type parameter, so a tuple maps to a tuple. */
type ParamValues<P, R> = { -readonly [I in keyof P]: P[I] extends { readonly type: infer T } ? AvroValue<T, R> : never }

/** What a message answers. */
export type ResponseOf<M extends MessageShape, R> = AvroValue<M['response'], R>

/** The events a streaming message sends before its response; never for one that does not stream. */
export type StreamOf<M extends MessageShape, R> = M extends { readonly stream: infer S } ? AvroValue<S, R> : never
