declare module 'avsc/etc/browser/avsc-types.js' {
  const avro: { Type: { forSchema (schema: unknown, opts?: unknown): unknown } }
  export default avro
}
