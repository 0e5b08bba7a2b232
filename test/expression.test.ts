// A step's `if:` expressions: parsing, precedence, references in both forms,
// numbers against strings, truthiness, every syntax error with its position,
// the caps, and a seeded fuzz that only ever throws ExpressionSyntaxError.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  ExpressionSyntaxError, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH,
  describeExpression, evaluate, parseExpression, referencesOf, truthy, type Expression
} from '../core/workflow/expression.js'
import { SeededRandom } from './helpers/seeded-random.js'

const VALUES: Record<string, string> = {
  'inputs.release': 'yes',
  'inputs.count': '3',
  'inputs.empty': '',
  'matrix.os': 'linux',
  'steps.build.exitCode': '0',
  'steps.build.state': 'succeeded',
  'steps.build.linux.stdout': 'ok',
  'steps.a.outputs.version': '1.2.0',
  'steps.test[shard=1,os=linux].outputs.passed': 'true',
  'env.CI': 'true',
  'workflow.name': 'release'
}
const lookup = (ref: string[]): string | undefined => VALUES[ref.join('.')]
const run = (text: string): boolean => evaluate(parseExpression(text), lookup)
const refs = (text: string): string[][] => referencesOf(parseExpression(text))

function throwsSyntax (text: string, message: RegExp): void {
  assert.throws(() => parseExpression(text), (err: Error) => {
    assert.ok(err instanceof ExpressionSyntaxError, `${text}: ${String(err)}`)
    assert.match(err.message, message, text)
    return true
  })
}

test('the issue\'s example, in template and bare form', () => {
  assert.equal(run("${inputs.release} == 'yes'"), true)
  assert.equal(run("inputs.release == 'yes'"), true)
  assert.equal(run("${ inputs.release } != 'yes'"), false)
  assert.deepEqual(parseExpression("${inputs.release} == 'yes'"), parseExpression("inputs.release == 'yes'"))
})

test('references: every root, step ids with dots and dashes, outputs, instances', () => {
  assert.deepEqual(refs('inputs.a && matrix.os && env.CI && workflow.id && workflow.name'),
    [['inputs', 'a'], ['matrix', 'os'], ['env', 'CI'], ['workflow', 'id'], ['workflow', 'name']])
  assert.deepEqual(refs('steps.build.linux.stdout'), [['steps', 'build.linux', 'stdout']])
  assert.deepEqual(refs('${steps.a.b.c.exitCode}'), [['steps', 'a.b.c', 'exitCode']])
  assert.deepEqual(refs('steps.summary-json.state'), [['steps', 'summary-json', 'state']])
  for (const field of ['state', 'exitCode', 'choice', 'stdout', 'stderr', 'comment']) {
    assert.deepEqual(refs(`steps.x.${field}`), [['steps', 'x', field]])
  }
  assert.deepEqual(refs('steps.a.outputs.version'), [['steps', 'a', 'outputs', 'version']])
  assert.deepEqual(refs('steps.a.b.outputs.v'), [['steps', 'a.b', 'outputs', 'v']])
  // `outputs` as the field's neighbour always means outputs; an id may still be called outputs.
  assert.deepEqual(refs('steps.a.outputs.state'), [['steps', 'a', 'outputs', 'state']])
  assert.deepEqual(refs('steps.outputs.state'), [['steps', 'outputs', 'state']])
  // Instances: dots inside [ ] belong to the value; spaces are dropped; order is kept.
  assert.deepEqual(refs('steps.test[shard=1].state'), [['steps', 'test[shard=1]', 'state']])
  assert.deepEqual(refs('${ steps.test[ shard = 1 , os=linux ].outputs.passed }'), [['steps', 'test[shard=1,os=linux]', 'outputs', 'passed']])
  assert.deepEqual(refs('steps.py.x[python=3.12].exitCode'), [['steps', 'py.x[python=3.12]', 'exitCode']])
  assert.equal(run("steps.test[shard=1, os=linux].outputs.passed == true"), true)
  // In order, duplicates kept, literals contribute none.
  assert.deepEqual(refs("inputs.a == 'x' || !(inputs.a != steps.b.state)"), [['inputs', 'a'], ['inputs', 'a'], ['steps', 'b', 'state']])
  assert.deepEqual(refs("'a' == 'b'"), [])
})

test('literals: quotes, escapes, numbers, booleans', () => {
  assert.deepEqual(parseExpression("'it\\'s'"), { kind: 'literal', type: 'string', value: "it's" })
  assert.deepEqual(parseExpression('"say \\"hi\\" \\\\ bye"'), { kind: 'literal', type: 'string', value: 'say "hi" \\ bye' })
  assert.deepEqual(parseExpression('"it\'s"'), { kind: 'literal', type: 'string', value: "it's" })
  assert.deepEqual(parseExpression('-12.50'), { kind: 'literal', type: 'number', value: '-12.50' })
  assert.deepEqual(parseExpression('true'), { kind: 'literal', type: 'boolean', value: 'true' })
  // Operators inside strings are just text.
  assert.equal(run("'a && b' == \"a && b\""), true)
  assert.equal(run("'(' != ')'"), true)
})

test('precedence: ! over == != over && over ||; binary operators associate left', () => {
  const shape = (text: string): string => describeExpression(parseExpression(text))
  assert.equal(shape('true || false && false'), 'true || false && false')
  assert.equal(run('true || false && false'), true)
  assert.equal(run('(true || false) && false'), false)
  assert.deepEqual(parseExpression('a.x'.replace('a', 'inputs') + ' || inputs.y && inputs.z'),
    { kind: 'logic', op: '||', left: { kind: 'ref', ref: ['inputs', 'x'] }, right: { kind: 'logic', op: '&&', left: { kind: 'ref', ref: ['inputs', 'y'] }, right: { kind: 'ref', ref: ['inputs', 'z'] } } })
  // ! binds tighter than ==: (!'') == true.
  assert.deepEqual(parseExpression("!'' == true"),
    { kind: 'compare', op: '==', left: { kind: 'not', operand: { kind: 'literal', type: 'string', value: '' } }, right: { kind: 'literal', type: 'boolean', value: 'true' } })
  assert.equal(run("!'' == true"), true)
  assert.equal(run("!(inputs.release == 'yes')"), false)
  assert.equal(run('!!inputs.release'), true)
  // == before &&: 1 == 1 && 2 == 3 is (1 == 1) && (2 == 3).
  assert.equal(run('1 == 1 && 2 == 3'), false)
  // Chains of == compare the boolean result: (1 == 1) == true.
  assert.equal(run('1 == 1 == true'), true)
  assert.equal(run("'a' == 'a' == 'a'"), false)
})

test('numbers compare by value when both sides are numbers, strings otherwise', () => {
  assert.equal(run('steps.build.exitCode == 0'), true)
  assert.equal(run('steps.build.exitCode != 0'), false)
  assert.equal(run('inputs.count == 3.0'), true)
  assert.equal(run("inputs.count == '03'"), true)
  assert.equal(run('0 == -0'), true)
  assert.equal(run('-1 == 1'), false)
  assert.equal(run('0.5 == 0.50'), true)
  // Exact, not float: these differ in the last digit.
  assert.equal(run('12345678901234567890 == 12345678901234567891'), false)
  // Not both numbers: string comparison.
  assert.equal(run("steps.a.outputs.version == '1.2'"), false)
  assert.equal(run("steps.a.outputs.version == '1.2.0'"), true)
  assert.equal(run("'1e3' == 1000"), false)
  assert.equal(run("' 1' == 1"), false)
  // Booleans are the strings 'true' and 'false'.
  assert.equal(run("env.CI == true && 'false' == false"), true)
  assert.equal(run("inputs.release == true"), false)
})

test('truthiness: empty, false and 0 are false, everything else true', () => {
  for (const v of ['', 'false', '0']) assert.equal(truthy(v), false, v)
  for (const v of ['true', '1', 'no', ' ', '0.0', 'False', '00']) assert.equal(truthy(v), true, v)
  assert.equal(run('inputs.empty'), false)
  assert.equal(run('!inputs.empty'), true)
  assert.equal(run('inputs.release && steps.build.exitCode'), false)
  assert.equal(run('inputs.empty || inputs.count'), true)
  assert.equal(run("''"), false)
  assert.equal(run('0'), false)
  assert.equal(run('-0'), true, 'only the exact string 0 is false')
})

test('an unresolvable reference names itself; && and || short-circuit past one', () => {
  assert.throws(() => run('steps.x.outputs.v == 1'), (err: Error) => err instanceof ExpressionSyntaxError && err.message === '${steps.x.outputs.v} has no value')
  assert.throws(() => run('steps.t[k=v].state'), /^Error: \$\{steps\.t\[k=v\]\.state\} has no value$/)
  assert.equal(run('false && steps.x.outputs.v'), false)
  assert.equal(run('true || steps.x.outputs.v'), true)
  assert.throws(() => run('true && steps.x.outputs.v'), /has no value/)
})

test('every syntax error names what is wrong and where', () => {
  throwsSyntax('', /^expected a value, found the end at character 1$/)
  throwsSyntax('   ', /^expected a value, found the end at character 4$/)
  throwsSyntax("inputs.a == ", /^expected a value, found the end at character 13$/)
  throwsSyntax("(inputs.a == 'x'", /^expected '\)' at character 17$/)
  throwsSyntax("(inputs.a == 'x' 'y')", /^expected '\)' at character 18$/)
  throwsSyntax("inputs.a == 'x')", /^expected an operator or the end, found '\)' at character 16$/)
  throwsSyntax("inputs.a 'x'", /^expected an operator or the end, found ''x'' at character 10$/)
  throwsSyntax('&& true', /^expected a value, found '&&' at character 1$/)
  throwsSyntax('true && ()', /^expected a value, found '\)' at character 10$/)
  throwsSyntax('inputs.a = 1', /^'=' is not an operator \(did you mean '=='\?\) at character 10$/)
  throwsSyntax('true & false', /^'&' is not an operator \(did you mean '&&'\?\) at character 6$/)
  throwsSyntax('true | false', /^'\|' is not an operator \(did you mean '\|\|'\?\) at character 6$/)
  throwsSyntax("inputs.a == 'yes", /^unterminated string starting at character 13$/)
  throwsSyntax('"a\\"', /^unterminated string starting at character 1$/)
  throwsSyntax("'C:\\dir'", /^'\\d' is not an escape \(only \\\\, \\' and \\"\) at character 4$/)
  throwsSyntax("'end\\", /^'\\' is not an escape .* at character 5$/)
  throwsSyntax('1.2.3 == 1', /^'1\.2\.3' is not a number at character 1$/)
  throwsSyntax('x == 12ab', /^unknown name 'x'/)
  throwsSyntax('0 == 12ab', /^'12ab' is not a number at character 6$/)
  throwsSyntax('1 == - 1', /^'-' must start a number such as -1 at character 6$/)
  throwsSyntax('1 == .5', /^unexpected '\.' at character 6$/)
  throwsSyntax('1 < 2', /^unexpected '<' at character 3$/)
  throwsSyntax('$inputs.a', /^unexpected '\$' \(a reference is \$\{inputs\.name\}\) at character 1$/)
  throwsSyntax('true && ${inputs.a', /^unterminated '\$\{' at character 9$/)
  throwsSyntax('steps.t[k=1.state', /^unterminated '\[' at character 8$/)
  throwsSyntax("release == 'yes'", /^unknown name 'release' at character 1: a reference starts with inputs\., matrix\., steps\., env\. or workflow\.; quote a string$/)
  throwsSyntax("${release} == 'yes'", /^unknown name 'release' at character 1/)
  throwsSyntax("${inputs.release == 'yes'}", /^'inputs\.release == 'yes'' is not a reference: expected inputs\.NAME at character 1$/)
  throwsSyntax('${}', /^unknown name '' at character 1/)
  throwsSyntax('true && inputs', /^'inputs' is not a reference: expected inputs\.NAME at character 9$/)
  throwsSyntax('inputs.a.b', /expected inputs\.NAME at character 1$/)
  throwsSyntax('matrix.', /expected matrix\.NAME at character 1$/)
  throwsSyntax('env.A.B', /expected env\.NAME/)
  throwsSyntax('workflow.secret', /expected workflow\.id, workflow\.name/)
  throwsSyntax('steps.build', /^'steps\.build' is not a reference: expected steps\.ID\.FIELD \(FIELD one of stdout, stderr, exitCode, choice, comment, state\) or steps\.ID\.outputs\.KEY at character 1$/)
  throwsSyntax('steps.build.status', /expected steps\.ID\.FIELD/)
  throwsSyntax('steps.a.outputs', /expected steps\.ID\.FIELD/)
  throwsSyntax('steps.a.outputs.', /expected steps\.ID\.FIELD/)
  throwsSyntax('steps..state', /ID a step id such as build or test\[shard=1\] at character 1$/)
  throwsSyntax('steps._x.state', /ID a step id/)
  throwsSyntax('steps.t[].state', /ID a step id/)
  throwsSyntax('steps.t[k].state', /ID a step id/)
  throwsSyntax('steps.t[k=].state', /ID a step id/)
  throwsSyntax('steps.t[k=a=b].state', /ID a step id/)
  throwsSyntax('steps.t[k=1].x.state', /ID a step id/)
  throwsSyntax('steps.t[k=1]x.state', /ID a step id/)
  throwsSyntax("steps.t[k='1'].state", /ID a step id/)
})

test('length and nesting are capped', () => {
  const long = 'true' + ' && true'.repeat(500)
  assert.ok(long.length <= MAX_EXPRESSION_LENGTH)
  assert.equal(run(long), true)
  const chain = '1' + '&&1'.repeat((MAX_EXPRESSION_LENGTH - 1) / 3 | 0)
  assert.equal(run(chain), true, 'the longest chain evaluates without exhausting the stack')
  throwsSyntax(long + ' '.repeat(MAX_EXPRESSION_LENGTH), new RegExp(`^the expression is ${long.length + MAX_EXPRESSION_LENGTH} characters long; at most ${MAX_EXPRESSION_LENGTH}$`))

  const nested = (n: number): string => '('.repeat(n) + 'true' + ')'.repeat(n)
  assert.equal(run(nested(MAX_EXPRESSION_DEPTH)), true)
  throwsSyntax(nested(MAX_EXPRESSION_DEPTH + 1), new RegExp(`^nested deeper than ${MAX_EXPRESSION_DEPTH} at character ${MAX_EXPRESSION_DEPTH + 1}$`))
  assert.equal(run('!'.repeat(MAX_EXPRESSION_DEPTH) + 'true'), true)
  throwsSyntax('!'.repeat(MAX_EXPRESSION_DEPTH + 1) + 'true', /^nested deeper than 64 at character 65$/)
  throwsSyntax('('.repeat(2000), /^nested deeper than 64/)
  throwsSyntax('!('.repeat(40) + 'true' + ')'.repeat(40), /^nested deeper than 64 at character 65$/)
})

test('describeExpression gives canonical text that parses back to the same expression', () => {
  const cases: Array<[string, string]> = [
    ["inputs.release == 'yes'", "${inputs.release} == 'yes'"],
    ["!(a.b == 'x')".replace('a.b', 'matrix.os'), "!(${matrix.os} == 'x')"],
    ["'it\\'s' != \"a\\\\b\"", "'it\\'s' != 'a\\\\b'"],
    ['(true || false) && !false', '(true || false) && !false'],
    ['true || (false && false)', 'true || false && false'],
    ['true && (false && true)', 'true && (false && true)'],
    ['1 == (2 == 3)', '1 == (2 == 3)'],
    ['!!(-1.5 != steps.t[ k = v ].outputs.x)', '!!(-1.5 != ${steps.t[k=v].outputs.x})']
  ]
  for (const [text, described] of cases) {
    const expr = parseExpression(text)
    assert.equal(describeExpression(expr), described)
    assert.deepEqual(parseExpression(described), expr)
  }
})

// Token soup from the language's own pieces and a few hostile ones.
const PIECES = [
  '(', ')', '!', '==', '!=', '&&', '||', '=', '&', '|', ' ', '  ', '\t', '\n',
  "'", '"', "'x'", '"y"', "'a\\'b'", '\\', '0', '1', '-1', '2.5', '-', '.', 'true', 'false',
  'inputs.release', 'inputs.count', 'matrix.os', 'env.CI', 'workflow.name', 'steps.build.exitCode',
  'steps.build.state', 'steps.a.outputs.version', 'steps.test[shard=1,os=linux].outputs.passed',
  'steps.', 'outputs', '[', ']', '=1', ',', '${', '}', '${inputs.release}', '$', 'x', '_',
  '\u0000', '\u00e9', '😀', '<', '{', 'constructor', '__proto__', 'steps.__proto__.state'
]

// A random well-formed expression, depth-limited, from the same pieces.
function generate (rng: SeededRandom, depth: number): string {
  const atoms = ["'x'", '"y"', "'a\\'b'", '0', '-1', '2.5', 'true', 'false', 'inputs.release', 'inputs.count', '${matrix.os}',
    'steps.build.exitCode', 'steps.a.outputs.version', 'steps.test[shard=1,os=linux].outputs.passed', 'steps.x.outputs.v']
  if (depth <= 0 || rng.chance(0.3)) return rng.pick(atoms)
  switch (rng.int(4)) {
    case 0: return `!${generate(rng, depth - 1)}`
    case 1: return `(${generate(rng, depth - 1)})`
    default: return `${generate(rng, depth - 1)} ${rng.pick(['==', '!=', '&&', '||'])} ${generate(rng, depth - 1)}`
  }
}

test('fuzz: random and mutated expressions only ever throw ExpressionSyntaxError, and what parses round-trips', () => {
  const seed = Number(process.env.SE_FUZZ_SEED ?? 20261201) >>> 0
  const rng = new SeededRandom(seed)
  let parsed = 0
  for (let round = 0; round < 20000; round++) {
    let text = ''
    const kind = rng.int(3)
    if (kind === 2) {
      const n = rng.between(0, 14)
      for (let i = 0; i < n; i++) text += rng.pick(PIECES) + (rng.chance(0.5) ? ' ' : '')
    } else {
      text = generate(rng, rng.between(0, 6))
      // Mutated: a piece inserted, or a stretch cut out, somewhere.
      if (kind === 1) {
        const at = rng.int(text.length + 1)
        text = rng.chance(0.5) ? text.slice(0, at) + rng.pick(PIECES) + text.slice(at) : text.slice(0, at) + text.slice(at + rng.between(1, 4))
      }
    }
    if (rng.chance(0.02)) text = '('.repeat(rng.between(50, 3000)) + text
    let expr: Expression
    try {
      expr = parseExpression(text)
    } catch (err) {
      assert.ok(err instanceof ExpressionSyntaxError, `seed ${seed} round ${round}: ${JSON.stringify(text)} threw ${String(err)}`)
      assert.match(err.message, /at character \d+|characters long/, JSON.stringify(text))
      continue
    }
    parsed++
    assert.deepEqual(parseExpression(describeExpression(expr)), expr, `seed ${seed}: ${JSON.stringify(text)}`)
    try {
      assert.equal(typeof evaluate(expr, lookup), 'boolean')
    } catch (err) {
      assert.ok(err instanceof ExpressionSyntaxError && /has no value$/.test(err.message), `seed ${seed}: ${JSON.stringify(text)} threw ${String(err)}`)
    }
  }
  assert.ok(parsed > 6000, `only ${parsed} of the expressions parsed: the fuzz is not reaching the evaluator`)
})
