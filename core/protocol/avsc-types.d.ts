declare module 'avsc/etc/browser/avsc-types.js' {
  const avro: { Type: { forSchema (schema: unknown, opts?: unknown): unknown }, types: Record<string, unknown> }
  export default avro
}
