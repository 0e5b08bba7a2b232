// A step's `if:`: a small expression language over references, string and
// number literals, == != && || ! and parentheses. A hand-written tokenizer and
// recursive descent, never eval, so a workflow file cannot run code through it;
// length and nesting are capped so hostile input cannot exhaust the stack.
import { OUTPUTS_FIELD, STEP_FIELDS, WORKFLOW_FIELDS } from './template.js'

export const MAX_EXPRESSION_LENGTH = 4096
export const MAX_EXPRESSION_DEPTH = 64

/** Parsed `if:`. A ref is in template.ts's shape: ['steps', id, field] or ['steps', id, 'outputs', key]. */
export type Expression =
  | { kind: 'literal', type: 'string' | 'number' | 'boolean', value: string }
  | { kind: 'ref', ref: string[] }
  | { kind: 'not', operand: Expression }
  | { kind: 'compare', op: '==' | '!=', left: Expression, right: Expression }
  | { kind: 'logic', op: '&&' | '||', left: Expression, right: Expression }

/** Bad syntax (the message names the character), or a reference with no value at evaluation. */
export class ExpressionSyntaxError extends Error {}

type Token =
  | { kind: 'op', op: '(' | ')' | '!' | '==' | '!=' | '&&' | '||', at: number, end: number }
  | { kind: 'value', node: Expression, at: number, end: number }

const at = (i: number): string => `at character ${i + 1}`
const NAME = /^[A-Za-z0-9_-]+$/
const STEP_ID = /^([A-Za-z0-9][A-Za-z0-9_.-]*)(?:\[([^[\]]*)\])?$/
// Matrix values in an instance id: no characters that would end or split the reference.
const INSTANCE_VALUE = /^[^\s,=[\]{}'"$]+$/
const NUMBER = /^-?\d+(?:\.\d+)?$/
const BARE = /[A-Za-z0-9_.-]/

function tokenize (text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    const start = i
    if (/\s/.test(c)) { i++; continue }
    const two = text.slice(i, i + 2)
    if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      tokens.push({ kind: 'op', op: two, at: i, end: i + 2 }); i += 2; continue
    }
    if (c === '(' || c === ')' || c === '!') { tokens.push({ kind: 'op', op: c, at: i, end: i + 1 }); i++; continue }
    if (c === '=' || c === '&' || c === '|') throw new ExpressionSyntaxError(`'${c}' is not an operator (did you mean '${c}${c}'?) ${at(i)}`)
    if (c === "'" || c === '"') {
      let value = ''
      i++
      for (;;) {
        if (i >= text.length) throw new ExpressionSyntaxError(`unterminated string starting ${at(start)}`)
        const d = text[i] as string
        if (d === c) { i++; break }
        if (d === '\\') {
          const e = text[i + 1]
          if (e !== '\\' && e !== "'" && e !== '"') throw new ExpressionSyntaxError(`'\\${e ?? ''}' is not an escape (only \\\\, \\' and \\") ${at(i)}`)
          value += e; i += 2; continue
        }
        value += d; i++
      }
      tokens.push({ kind: 'value', node: { kind: 'literal', type: 'string', value }, at: start, end: i })
      continue
    }
    if (/[-\d]/.test(c)) {
      // Read every character a number could run into, so `1.2.3` or `1abc` is one bad token.
      i++
      while (i < text.length && BARE.test(text[i] as string)) i++
      const raw = text.slice(start, i)
      if (raw === '-') throw new ExpressionSyntaxError(`'-' must start a number such as -1 ${at(start)}`)
      if (!NUMBER.test(raw)) throw new ExpressionSyntaxError(`'${raw}' is not a number ${at(start)}`)
      tokens.push({ kind: 'value', node: { kind: 'literal', type: 'number', value: raw }, at: start, end: i })
      continue
    }
    if (c === '$') {
      if (text[i + 1] !== '{') throw new ExpressionSyntaxError(`unexpected '$' (a reference is \${inputs.name}) ${at(i)}`)
      const close = text.indexOf('}', i + 2)
      if (close === -1) throw new ExpressionSyntaxError(`unterminated '\${' ${at(i)}`)
      const raw = text.slice(i + 2, close).trim()
      tokens.push({ kind: 'value', node: { kind: 'ref', ref: parseReference(raw, start) }, at: start, end: close + 1 })
      i = close + 1
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      // A bare reference; a [k=v,...] instance suffix may hold any character but brackets.
      while (i < text.length) {
        const d = text[i] as string
        if (d === '[') {
          const close = text.indexOf(']', i)
          if (close === -1) throw new ExpressionSyntaxError(`unterminated '[' ${at(i)}`)
          i = close + 1
        } else if (BARE.test(d)) i++
        else break
      }
      const raw = text.slice(start, i)
      const node: Expression = raw === 'true' || raw === 'false'
        ? { kind: 'literal', type: 'boolean', value: raw }
        : { kind: 'ref', ref: parseReference(raw, start) }
      tokens.push({ kind: 'value', node, at: start, end: i })
      continue
    }
    throw new ExpressionSyntaxError(`unexpected '${c}' ${at(i)}`)
  }
  return tokens
}

// Splits on dots outside [ ], as matrix values such as python=3.12 hold dots.
function splitSegments (raw: string): string[] {
  const out = ['']
  let inside = false
  for (const c of raw) {
    if (c === '[') inside = true
    else if (c === ']') inside = false
    if (c === '.' && !inside) out.push('')
    else out[out.length - 1] += c
  }
  return out
}

// Step ids may contain dots, so as in template.ts's splitRef the id is everything
// between `steps.` and the field (or `.outputs.KEY`) at the end; an instance id is
// written as graph.ts's instanceId names it, `test[shard=1,os=linux]`.
function parseReference (raw: string, start: number): string[] {
  const bad = (expected: string): never => {
    throw new ExpressionSyntaxError(`'${raw}' is not a reference: expected ${expected} ${at(start)}`)
  }
  const segments = splitSegments(raw)
  const [root, name] = segments
  switch (root) {
    case 'inputs': case 'matrix': case 'env':
      if (segments.length !== 2 || !NAME.test(name ?? '')) bad(`${root}.NAME`)
      return segments
    case 'workflow':
      if (segments.length !== 2 || !(WORKFLOW_FIELDS as readonly string[]).includes(name ?? '')) bad(WORKFLOW_FIELDS.map(f => `workflow.${f}`).join(', '))
      return segments
    case 'steps': {
      const expected = `steps.ID.FIELD (FIELD one of ${STEP_FIELDS.join(', ')}) or steps.ID.outputs.KEY`
      const last = segments[segments.length - 1] as string
      const outputs = segments.length >= 4 && segments[segments.length - 2] === OUTPUTS_FIELD
      if (segments.length < 3 || (outputs ? !NAME.test(last) : !(STEP_FIELDS as readonly string[]).includes(last))) bad(expected)
      const id = stepId(segments.slice(1, outputs ? -2 : -1).join('.'))
      if (id === undefined) bad(`${expected}, ID a step id such as build or test[shard=1]`)
      return outputs ? ['steps', id as string, OUTPUTS_FIELD, last] : ['steps', id as string, last]
    }
    default:
      throw new ExpressionSyntaxError(`unknown name '${raw}' ${at(start)}: a reference starts with inputs., matrix., steps., env. or workflow.; quote a string`)
  }
}

/** The id, with an instance suffix written canonically (`test[shard=1,os=linux]`), or undefined if malformed. */
function stepId (text: string): string | undefined {
  const m = STEP_ID.exec(text)
  if (m === null) return undefined
  if (m[2] === undefined) return m[1]
  const pairs: string[] = []
  for (const pair of m[2].split(',')) {
    const eq = pair.indexOf('=')
    const key = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    if (eq === -1 || !NAME.test(key) || !INSTANCE_VALUE.test(value)) return undefined
    pairs.push(`${key}=${value}`)
  }
  return `${m[1] as string}[${pairs.join(',')}]`
}

export function parseExpression (text: string): Expression {
  if (text.length > MAX_EXPRESSION_LENGTH) throw new ExpressionSyntaxError(`the expression is ${text.length} characters long; at most ${MAX_EXPRESSION_LENGTH}`)
  const tokens = tokenize(text)
  let pos = 0
  let depth = 0
  const shown = (t: Token): string => `'${text.slice(t.at, t.end)}' ${at(t.at)}`
  const peekOp = (...ops: string[]): string | undefined => {
    const t = tokens[pos]
    return t?.kind === 'op' && ops.includes(t.op) ? t.op : undefined
  }
  const deeper = (): void => {
    if (++depth > MAX_EXPRESSION_DEPTH) throw new ExpressionSyntaxError(`nested deeper than ${MAX_EXPRESSION_DEPTH} ${at((tokens[pos] as Token).at)}`)
  }
  // Precedence, loosest first: || then && then == != then !; binary operators associate left.
  const or = (): Expression => {
    let left = and()
    while (peekOp('||') !== undefined) { pos++; left = { kind: 'logic', op: '||', left, right: and() } }
    return left
  }
  const and = (): Expression => {
    let left = compare()
    while (peekOp('&&') !== undefined) { pos++; left = { kind: 'logic', op: '&&', left, right: compare() } }
    return left
  }
  const compare = (): Expression => {
    let left = unary()
    for (let op = peekOp('==', '!='); op !== undefined; op = peekOp('==', '!=')) {
      pos++
      left = { kind: 'compare', op: op as '==' | '!=', left, right: unary() }
    }
    return left
  }
  const unary = (): Expression => {
    const t = tokens[pos]
    if (t === undefined) throw new ExpressionSyntaxError(`expected a value, found the end ${at(text.length)}`)
    if (t.kind === 'value') { pos++; return t.node }
    if (t.op === '!') { deeper(); pos++; const operand = unary(); depth--; return { kind: 'not', operand } }
    if (t.op === '(') {
      deeper(); pos++
      const inner = or()
      const close = tokens[pos]
      if (close?.kind !== 'op' || close.op !== ')') throw new ExpressionSyntaxError(`expected ')' ${at(close?.at ?? text.length)}`)
      pos++; depth--
      return inner
    }
    throw new ExpressionSyntaxError(`expected a value, found ${shown(t)}`)
  }
  const expr = or()
  const rest = tokens[pos]
  if (rest !== undefined) throw new ExpressionSyntaxError(`expected an operator or the end, found ${shown(rest)}`)
  return expr
}

export function referencesOf (expr: Expression): string[][] {
  switch (expr.kind) {
    case 'literal': return []
    case 'ref': return [expr.ref]
    case 'not': return referencesOf(expr.operand)
    default: return [...referencesOf(expr.left), ...referencesOf(expr.right)]
  }
}

/** '', 'false' and '0' are false; every other string is true. */
export function truthy (value: string): boolean {
  return value !== '' && value !== 'false' && value !== '0'
}

// Numbers compare by value, exactly (no float rounding): 0 == 0.0 == -0, 007 == 7.
function canonicalNumber (s: string): string {
  const negative = s.startsWith('-')
  const [int = '', frac = ''] = s.replace(/^-/, '').split('.')
  const i = int.replace(/^0+(?=\d)/, '')
  const f = frac.replace(/0+$/, '')
  if (i === '0' && f === '') return '0'
  return `${negative ? '-' : ''}${i}${f === '' ? '' : `.${f}`}`
}

function equal (a: string, b: string): boolean {
  if (NUMBER.test(a) && NUMBER.test(b)) return canonicalNumber(a) === canonicalNumber(b)
  return a === b
}

// Every node evaluates to a string (booleans as 'true'/'false'), so a
// comparison's result can itself be compared. && and || short-circuit, so the
// right side's references need values only when it is evaluated.
function valueOf (expr: Expression, lookup: (ref: string[]) => string | undefined): string {
  switch (expr.kind) {
    case 'literal': return expr.value
    case 'ref': {
      const value = lookup(expr.ref)
      if (value === undefined) throw new ExpressionSyntaxError(`\${${expr.ref.join('.')}} has no value`)
      return value
    }
    case 'not': return String(!truthy(valueOf(expr.operand, lookup)))
    case 'compare': return String(equal(valueOf(expr.left, lookup), valueOf(expr.right, lookup)) === (expr.op === '=='))
    case 'logic': {
      const left = truthy(valueOf(expr.left, lookup))
      if (left === (expr.op === '||')) return String(left)
      return String(truthy(valueOf(expr.right, lookup)))
    }
  }
}

export function evaluate (expr: Expression, lookup: (ref: string[]) => string | undefined): boolean {
  return truthy(valueOf(expr, lookup))
}

const LEVEL = { '||': 1, '&&': 2, '==': 3, '!=': 3 } as const
const levelOf = (e: Expression): number => e.kind === 'logic' || e.kind === 'compare' ? LEVEL[e.op] : 4

/** Canonical text for audit messages; parsing it gives the same expression back. */
export function describeExpression (expr: Expression): string {
  const wrap = (e: Expression, needs: boolean): string => needs ? `(${describeExpression(e)})` : describeExpression(e)
  switch (expr.kind) {
    case 'literal':
      return expr.type === 'string' ? `'${expr.value.replace(/[\\']/g, c => `\\${c}`)}'` : expr.value
    case 'ref': return `\${${expr.ref.join('.')}}`
    case 'not': return `!${wrap(expr.operand, levelOf(expr.operand) < 4)}`
    default: {
      const level = LEVEL[expr.op]
      return `${wrap(expr.left, levelOf(expr.left) < level)} ${expr.op} ${wrap(expr.right, levelOf(expr.right) <= level)}`
    }
  }
}
