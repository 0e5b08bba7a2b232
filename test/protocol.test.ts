// The protocol held together. Every record of every protocol round-trips through
// its codec, and a cut-short buffer is refused; the values the codec produces are
// what the TypeScript types derived from the schema say; the hand-written API
// interfaces (NodeApi, MeshPeerApi, SessionApi) match the schema's messages in
// names, arity and types, both ways; and a change to the schema or to types.ts
// made alone fails here. The compile-time half, core/protocol/conformance.ts, is
// type-checked by the last tests, so `tsx --test`, which only strips types, runs
// it too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { MESSAGES, namedType, type AvroType } from '../core/protocol/codec.js'
import { NODE_PROTOCOLS, PROTOCOLS, TYPES, SEMeshPeer, type MessageDeclaration, type ProtocolDeclaration } from '../core/protocol/schema.js'

const REPO = path.resolve(import.meta.dirname, '..')
const TYPES_FILE = path.join(REPO, 'core/protocol/types.ts')
const SCHEMA_FILE = path.join(REPO, 'core/protocol/schema.ts')
const CONFORMANCE_FILE = path.join(REPO, 'core/protocol/conformance.ts')

// ---------------------------------------------------------------------------
// Run time: a mirror of schema-types.ts over the schema data, to check the codec.

type Schema = unknown
interface Field { name: string, type: Schema }
interface NamedSchema { type: string, name: string, fields?: Field[], symbols?: string[], size?: number }

/** Every named type declared in the schema, nested ones included (as NamedIn does). */
function namedSchemas (): Map<string, NamedSchema> {
  const found = new Map<string, NamedSchema>()
  const visit = (s: Schema): void => {
    if (Array.isArray(s)) { s.forEach(visit); return }
    if (s === null || typeof s !== 'object') return
    const o = s as Record<string, unknown>
    if (typeof o.name === 'string' && ['record', 'error', 'enum', 'fixed'].includes(o.type as string)) found.set(o.name, o as unknown as NamedSchema)
    if (Array.isArray(o.fields)) (o.fields as Field[]).forEach(f => visit(f.type))
    if (o.items !== undefined) visit(o.items)
    if (o.values !== undefined) visit(o.values)
    if (typeof o.type === 'object') visit(o.type)
  }
  TYPES.forEach(visit)
  return found
}
const NAMED = namedSchemas()

function resolve (s: Schema): Schema {
  if (typeof s === 'string' && NAMED.has(s)) return NAMED.get(s)
  // { type: 'long', logicalType } and the like read as their type.
  if (s !== null && typeof s === 'object' && !Array.isArray(s) && !['record', 'error', 'enum', 'fixed', 'array', 'map'].includes((s as { type: string }).type)) return resolve((s as { type: Schema }).type)
  return s
}

/** Where `value` differs from what the derived type of `schema` promises; empty when it conforms. */
function misfits (schema: Schema, value: unknown, at = '$'): string[] {
  const s = resolve(schema)
  const no = (what: string): string[] => [`${at}: ${what}, got ${typeof value} ${String(value).slice(0, 40)}`]
  if (Array.isArray(s)) return s.some(branch => misfits(branch, value, at).length === 0) ? [] : no(`none of ${JSON.stringify(s)}`)
  switch (typeof s === 'string' ? s : (s as { type: string }).type) {
    case 'null': return value === null ? [] : no('null')
    case 'boolean': return typeof value === 'boolean' ? [] : no('a boolean')
    case 'int': case 'long': return Number.isSafeInteger(value) ? [] : no('an integer number')
    case 'float': case 'double': return typeof value === 'number' ? [] : no('a number')
    case 'string': return typeof value === 'string' ? [] : no('a string')
    case 'bytes': case 'fixed': return value instanceof Uint8Array ? [] : no('a Uint8Array')
    case 'enum': return (s as NamedSchema).symbols?.includes(value as string) === true ? [] : no('a symbol')
    case 'array': return Array.isArray(value) ? value.flatMap((v, i) => misfits((s as { items: Schema }).items, v, `${at}[${i}]`)) : no('an array')
    case 'map':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return no('an object')
      return Object.entries(value).flatMap(([k, v]) => misfits((s as { values: Schema }).values, v, `${at}.${k}`))
    case 'record': case 'error': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return no('an object')
      const fields = (s as NamedSchema).fields ?? []
      const keys = Object.keys(value)
      const extra = keys.filter(k => !fields.some(f => f.name === k)).map(k => `${at}.${k}: a key the record lacks`)
      return [...extra, ...fields.flatMap(f => f.name in value ? misfits(f.type, (value as Record<string, unknown>)[f.name], `${at}.${f.name}`) : [`${at}.${f.name}: missing`])]
    }
    default: return no(`a value of ${JSON.stringify(s)}`)
  }
}

const LONG_TEXT = 'ünïcødé ✓ 𝄞 "quoted" \\ \u0000 ' + 'x'.repeat(300)

/** A value at the edges of every type: 'low' takes null, empty and minimal branches, 'high' the largest non-null ones. */
function edgeValue (schema: Schema, end: 'low' | 'high', depth = 0): unknown {
  const s = resolve(schema)
  const high = end === 'high'
  if (Array.isArray(s)) {
    const branches = s as Schema[]
    const pick = high && depth < 6 ? branches.find(b => b !== 'null') ?? branches[0] : branches.includes('null') ? 'null' : branches[0]
    return edgeValue(pick, end, depth + 1)
  }
  switch (typeof s === 'string' ? s : (s as { type: string }).type) {
    case 'null': return null
    case 'boolean': return high
    case 'int': return high ? 2 ** 31 - 1 : -(2 ** 31)
    // avsc encodes longs up to 2^52 either way: past that a double may have lost the low bits.
    case 'long': return high ? 2 ** 52 : -(2 ** 52)
    case 'float': return high ? 3.5 : -0.25
    case 'double': return high ? Number.MAX_VALUE : -Number.MIN_VALUE
    case 'string': return high ? LONG_TEXT : ''
    case 'bytes': return high ? Buffer.from(Array.from({ length: 256 }, (_, i) => i)) : Buffer.alloc(0)
    case 'fixed': return Buffer.alloc((s as NamedSchema).size ?? 0, high ? 0xff : 0)
    case 'enum': { const symbols = (s as NamedSchema).symbols ?? []; return high ? symbols[symbols.length - 1] : symbols[0] }
    case 'array': return high && depth < 6 ? [0, 1, 2].map(() => edgeValue((s as { items: Schema }).items, end, depth + 1)) : []
    case 'map': return high && depth < 6 ? { '': edgeValue((s as { values: Schema }).values, end, depth + 1), [LONG_TEXT]: edgeValue((s as { values: Schema }).values, end, depth + 1) } : {}
    case 'record': case 'error': return Object.fromEntries(((s as NamedSchema).fields ?? []).map(f => [f.name, edgeValue(f.type, end, depth + 1)]))
    default: throw new Error(`no edge value for ${JSON.stringify(s)}`)
  }
}

/** Decoded records are instances of avsc's generated classes; compare them as plain data. */
function plain (v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v)
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

interface Case { label: string, schema: Schema, type: AvroType }

/** The named types every protocol declares (nested ones too): the protocols share one list. */
const namedCases = (): Case[] => [...NAMED.keys()].map(name => ({ label: name, schema: name, type: namedType(name) }))

/** A protocol's messages: each one's request record, response and events. */
function messageCases (proto: ProtocolDeclaration): Case[] {
  const cases: Case[] = []
  for (const [name, m] of Object.entries(proto.messages)) {
    const codec = MESSAGES.get(name)
    assert.ok(codec !== undefined, `${proto.protocol}.${name} has a codec`)
    cases.push({ label: `${name} request`, schema: { type: 'record', name: `${name}Request`, fields: m.request }, type: codec.request })
    cases.push({ label: `${name} response`, schema: m.response, type: codec.response })
    if (m.stream !== undefined && codec.stream !== null) cases.push({ label: `${name} event`, schema: m.stream, type: codec.stream })
  }
  return cases
}

const RANDOM_ROUNDS = 25

function roundTrip (c: Case, value: unknown): void {
  const show = (): string => `${c.label}: ${JSON.stringify(value)}`.slice(0, 600)
  assert.ok(c.type.isValid(value), `a valid value: ${show()}`)
  const bytes = c.type.toBuffer(value)
  const back = c.type.fromBuffer(bytes)
  assert.deepStrictEqual(plain(back), plain(value), `decodes to what was encoded: ${show()}`)
  assert.deepEqual(misfits(c.schema, back), [], `decodes to the derived type: ${show()}`)
  assert.deepEqual(Buffer.from(c.type.toBuffer(back)), Buffer.from(bytes), `encodes again to the same bytes: ${show()}`)
  // Every proper prefix of one value's encoding is refused, with an Error, at once.
  for (const cut of new Set([0, 1, bytes.length >> 1, bytes.length - 1].filter(n => n >= 0 && n < bytes.length))) {
    assert.throws(() => c.type.fromBuffer(bytes.subarray(0, cut)), (err: unknown) => err instanceof Error, `${bytes.length} bytes cut to ${cut}: ${show()}`)
    // At once: the best of three, so a pause of a loaded machine (GC, another process) is not taken for a slow decoder.
    let ms = Infinity
    for (let tries = 0; tries < 3 && ms >= 100; tries++) {
      const began = performance.now()
      try { c.type.fromBuffer(bytes.subarray(0, cut)) } catch {}
      ms = Math.min(ms, performance.now() - began)
    }
    assert.ok(ms < 100, `refused at once: ${show()}`)
  }
}

test('every record of every protocol round-trips: random values and edge values, and a cut-short buffer is refused', async t => {
  const run = (cases: Case[]): void => {
    for (const c of cases) {
      for (let i = 0; i < RANDOM_ROUNDS; i++) roundTrip(c, (c.type as unknown as { random (): unknown }).random())
      roundTrip(c, edgeValue(c.schema, 'low'))
      roundTrip(c, edgeValue(c.schema, 'high'))
    }
  }
  assert.equal(PROTOCOLS.every(p => p.types === TYPES), true, 'the protocols share one list of types')
  await t.test(`the named types (${NAMED.size})`, () => run(namedCases()))
  for (const proto of PROTOCOLS) await t.test(`${proto.protocol} messages`, () => run(messageCases(proto)))
})

test('the mirror of the derived types refuses what they refuse', () => {
  assert.deepEqual(misfits('WorkflowEvent', { workflowId: 'w', kind: 'STEP', state: '', stepId: null, text: '', at: 1 }), [])
  assert.notDeepEqual(misfits('WorkflowEvent', { workflowId: 'w', kind: 'NOPE', state: '', stepId: null, text: '', at: 1 }), [])
  assert.notDeepEqual(misfits('WorkflowEvent', { workflowId: 'w', kind: 'STEP', state: '', text: '', at: 1 }), [], 'a field left out')
  assert.notDeepEqual(misfits('WorkflowEvent', { workflowId: 'w', kind: 'STEP', state: '', stepId: null, text: '', at: 1, more: 1 }), [], 'a key too many')
  assert.notDeepEqual(misfits('MeshHello', { version: 1, nodeId: 'n', name: 'x', proof: 'AAEC' }), [], 'bytes as text')
  assert.notDeepEqual(misfits('NodeSample', { ...(edgeValue('NodeSample', 'low') as object), sentAt: 2n }), [], 'a bigint long')
})

test('the protocols declare each message once, and the NodeApi protocols are all but SEMeshPeer', () => {
  const names = PROTOCOLS.flatMap(p => Object.keys(p.messages))
  assert.equal(new Set(names).size, names.length)
  assert.deepEqual([...MESSAGES.keys()].sort(), [...names].sort())
  assert.deepEqual(PROTOCOLS.filter(p => !NODE_PROTOCOLS.includes(p)), [SEMeshPeer])
  for (const gone of ['requestWorkflowHandoff', 'notifyWorkflowComplete']) assert.equal(MESSAGES.has(gone), false, `${gone} has no callers`)
})

// ---------------------------------------------------------------------------
// The API interfaces' parameter names, which no type can carry, read from types.ts.

type ApiMethods = Map<string, string[]>

/** The methods of an interface declared in `source`, with those of the interfaces it extends there. */
function methodsOf (source: ts.SourceFile, name: string): ApiMethods {
  const decl = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name)
  assert.ok(decl !== undefined, `interface ${name} in ${source.fileName}`)
  const methods: ApiMethods = new Map()
  for (const clause of decl.heritageClauses ?? []) {
    for (const base of clause.types) for (const [k, v] of methodsOf(source, base.expression.getText(source))) methods.set(k, v)
  }
  for (const member of decl.members) {
    if (ts.isMethodSignature(member)) methods.set(member.name.getText(source), member.parameters.map(p => p.name.getText(source)))
  }
  return methods
}

/** Where an API's methods and the messages it must answer part ways: missing either side, or other parameters. */
function nameMismatches (api: string, methods: ApiMethods, messages: Map<string, MessageDeclaration>, required: Iterable<string>): string[] {
  const problems: string[] = []
  for (const name of required) if (!methods.has(name)) problems.push(`${api} has no method for message ${name}`)
  for (const [name, params] of methods) {
    const m = messages.get(name)
    if (m === undefined) { problems.push(`${api}.${name} is no message of the schema`); continue }
    const wanted = m.request.map(r => r.name)
    const extra = params.length - wanted.length
    if (params.slice(0, wanted.length).join(',') !== wanted.join(',')) problems.push(`${api}.${name}(${params.join(', ')}): the schema's parameters are (${wanted.join(', ')})`)
    else if (m.stream === undefined ? extra !== 0 : extra < 1 || extra > 2) problems.push(`${api}.${name} takes ${params.length} parameters; the message has ${wanted.length}${m.stream === undefined ? '' : ', then a listener for its events'}`)
  }
  return problems
}

const messagesOf = (protos: readonly ProtocolDeclaration[]): Map<string, MessageDeclaration> =>
  new Map(protos.flatMap(p => Object.entries(p.messages)))

function apiNameMismatches (typesSource: ts.SourceFile, protocols: readonly ProtocolDeclaration[]): string[] {
  const all = messagesOf(protocols)
  const nodeProtocols = protocols.filter(p => p.protocol !== SEMeshPeer.protocol)
  const peer = protocols.find(p => p.protocol === SEMeshPeer.protocol)
  const node = methodsOf(typesSource, 'NodeApi')
  const meshPeer = methodsOf(typesSource, 'MeshPeerApi')
  const unanswered = [...all.keys()].filter(n => !node.has(n) && !meshPeer.has(n)).map(n => `message ${n} has a method in neither NodeApi nor MeshPeerApi`)
  return [
    ...nameMismatches('NodeApi', node, all, messagesOf(nodeProtocols).keys()),
    ...nameMismatches('MeshPeerApi', meshPeer, all, Object.keys(peer?.messages ?? {})),
    ...unanswered
  ]
}

const parse = (file: string, text = fs.readFileSync(file, 'utf8')): ts.SourceFile => ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true)

test('every message has an API method with its parameter names and count, and every API method is a message', () => {
  assert.deepEqual(apiNameMismatches(parse(TYPES_FILE), PROTOCOLS), [])
})

test('every named type of the schema is exported from types.ts by its name, derived', () => {
  const text = fs.readFileSync(TYPES_FILE, 'utf8')
  const missing = [...NAMED.keys()].filter(n => !new RegExp(`export (interface ${n} extends ProtocolValue<'${n}'> \\{\\}|type ${n} = ProtocolValue<'${n}'>)\\n`).test(text))
  assert.deepEqual(missing, [])
})

test('a message or a method changed alone is named', () => {
  const renamed = PROTOCOLS.map(p => p.protocol !== 'SENodeControl' ? p : { ...p, messages: { ...p.messages, cancelWorkflow: { ...p.messages.cancelWorkflow, request: [{ name: 'id', type: 'string' }, { name: 'reason', type: 'string' }, { name: 'signed', type: ['null', 'SignedDecision'] }] } as MessageDeclaration } })
  assert.deepEqual(apiNameMismatches(parse(TYPES_FILE), renamed), ['NodeApi.cancelWorkflow(workflowId, reason, signed): the schema\'s parameters are (id, reason, signed)'])
  const added = PROTOCOLS.map(p => p.protocol !== 'SEMeshPeer' ? p : { ...p, messages: { ...p.messages, leave: { request: [], response: 'boolean' } as MessageDeclaration } })
  assert.deepEqual(apiNameMismatches(parse(TYPES_FILE), added), ['MeshPeerApi has no method for message leave', 'message leave has a method in neither NodeApi nor MeshPeerApi'])
  const text = fs.readFileSync(TYPES_FILE, 'utf8').replace('  listCatalogue (): Promise<CatalogueEntry[]>\n', '  listCatalogue (): Promise<CatalogueEntry[]>\n  reboot (): Promise<boolean>\n')
  assert.deepEqual(apiNameMismatches(parse(TYPES_FILE, text), PROTOCOLS), ['NodeApi.reboot is no message of the schema'])
})

// ---------------------------------------------------------------------------
// The compile-time half, checked here: conformance.ts type-checks, and stops doing
// so when the schema or types.ts changes alone.

const OWN_FILES = [CONFORMANCE_FILE, TYPES_FILE, SCHEMA_FILE, path.join(REPO, 'core/protocol/schema-types.ts')]

/** The repository's options; core needs no runtime's types nor the DOM's, and leaving them out keeps the program small. */
function compilerOptions (): ts.CompilerOptions {
  const config = ts.readConfigFile(path.join(REPO, 'tsconfig.json'), ts.sys.readFile)
  return { ...ts.parseJsonConfigFileContent(config.config, ts.sys, REPO).options, types: [], lib: ['lib.es2022.d.ts'] }
}

/** Parsed files by name and text, so a program after a change parses only the changed file. */
const parsed = new Map<string, ts.SourceFile>()

/** Type errors in conformance.ts and the files it checks, with `swaps` made in files' text first. */
function typeErrors (swaps: Array<[file: string, from: string, to: string]> = []): string[] {
  const options = compilerOptions()
  const host = ts.createCompilerHost(options)
  const read = host.readFile.bind(host)
  host.readFile = file => {
    let text = read(file)
    for (const [target, from, to] of swaps) {
      if (text === undefined || path.resolve(file) !== target) continue
      assert.ok(text.includes(from), `${file} contains ${from}`)
      text = text.replace(from, to)
    }
    return text
  }
  host.getSourceFile = (file, lang) => {
    const text = host.readFile(file)
    if (text === undefined) return undefined
    const key = `${file}\0${text}`
    const cached = parsed.get(key) ?? ts.createSourceFile(file, text, lang)
    parsed.set(key, cached)
    return cached
  }
  const program = ts.createProgram({ rootNames: [CONFORMANCE_FILE], options, host })
  const global = program.getGlobalDiagnostics().map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  return [...global, ...OWN_FILES.flatMap(file => {
    const source = program.getSourceFile(file)
    assert.ok(source !== undefined, `${file} is in the program`)
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      .map(d => `${path.relative(REPO, file)}:${d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
  })]
}

test('the derived types and the API interfaces type-check against the schema', () => {
  assert.deepEqual(typeErrors(), [])
})

test('a schema change made alone fails the type check: a parameter type, a record field', () => {
  const errors = typeErrors([
    [SCHEMA_FILE, "getWorkflowStatus: { request: [p('workflowId', 'string')]", "getWorkflowStatus: { request: [p('workflowId', 'long')]"],
    [SCHEMA_FILE, "{ name: 'memoryMb', type: nullable('long'), default: null }", "{ name: 'memoryMb', type: nullable('string'), default: null }"]
  ]).join('\n')
  assert.match(errors, /"getWorkflowStatus"/)
  assert.match(errors, /conformance\.ts:\d+: Type 'false' does not satisfy the constraint 'true'/, 'the Requirements pin')
})

test('a types.ts change made alone fails the type check: a parameter type, a response, a dropped method', () => {
  const errors = typeErrors([
    [TYPES_FILE, '  getWorkflowStatus (workflowId: string): Promise<WorkflowStatus>', '  getWorkflowStatus (workflowId: number): Promise<WorkflowStatus>'],
    [TYPES_FILE, '  heartbeat (sample: NodeSample): Promise<NodeSample>', '  heartbeat (sample: NodeSample): Promise<NodeInfo>'],
    [TYPES_FILE, '  verifyAudit (): Promise<AuditVerification>\n', '']
  ]).join('\n')
  assert.match(errors, /"getWorkflowStatus"/)
  assert.match(errors, /"heartbeat"/)
  assert.match(errors, /"verifyAudit"/)
})
