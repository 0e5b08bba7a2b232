// `${...}` references: parsing, escaping, step ids with dots, expansion.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TemplateSyntaxError, expand, parseTemplate, references } from '../core/workflow/template.js'

test('plain text is one text part; the empty string has no parts', () => {
  assert.deepEqual(parseTemplate('git status'), [{ text: 'git status' }])
  assert.deepEqual(parseTemplate(''), [])
  assert.deepEqual(references('no refs $ here { } $x'), [])
})

test('references are split from the text around them', () => {
  assert.deepEqual(parseTemplate('v${inputs.version}-rc'), [
    { text: 'v' },
    { ref: ['inputs', 'version'], raw: 'inputs.version' },
    { text: '-rc' }
  ])
  assert.deepEqual(parseTemplate('${a.b}${c.d}'), [
    { ref: ['a', 'b'], raw: 'a.b' },
    { ref: ['c', 'd'], raw: 'c.d' }
  ])
})

test('whitespace inside ${ } is trimmed', () => {
  assert.deepEqual(parseTemplate('${ inputs.repo }'), [{ ref: ['inputs', 'repo'], raw: 'inputs.repo' }])
})

test('$${ is a literal ${ and starts no reference', () => {
  assert.deepEqual(parseTemplate('echo $${HOME}'), [{ text: 'echo ${HOME}' }])
  assert.deepEqual(references('$${inputs.x}'), [])
  assert.deepEqual(parseTemplate('$${x} and ${inputs.y}'), [
    { text: '${x} and ' },
    { ref: ['inputs', 'y'], raw: 'inputs.y' }
  ])
  // An escaped, never-closed ${ is no syntax error: it is just text.
  assert.deepEqual(parseTemplate('cost: $${'), [{ text: 'cost: ${' }])
  // A lone $ before a reference stays a $.
  assert.deepEqual(parseTemplate('$$ ${inputs.a}'), [{ text: '$$ ' }, { ref: ['inputs', 'a'], raw: 'inputs.a' }])
})

test('step ids containing dots: the last segment is the field', () => {
  assert.deepEqual(references('${steps.build.linux.stdout}'), [['steps', 'build.linux', 'stdout']])
  assert.deepEqual(references('${steps.a.b.c.exitCode}'), [['steps', 'a.b.c', 'exitCode']])
  assert.deepEqual(references('${steps.plain.stdout}'), [['steps', 'plain', 'stdout']])
  // Only steps references join their middle segments.
  assert.deepEqual(references('${inputs.a.b.c}'), [['inputs', 'a', 'b', 'c']])
  // Step ids may hold - and _ as well.
  assert.deepEqual(references('${steps.summary-json.stdout}'), [['steps', 'summary-json', 'stdout']])
})

test('references lists every reference in order', () => {
  assert.deepEqual(references('tag v${steps.bump.stdout} in ${inputs.repo} by ${env.USER}'), [
    ['steps', 'bump', 'stdout'],
    ['inputs', 'repo'],
    ['env', 'USER']
  ])
})

test('an unterminated ${ throws TemplateSyntaxError naming the position', () => {
  assert.throws(() => parseTemplate('abc${inputs.x'), (err: Error) => err instanceof TemplateSyntaxError && /unterminated '\$\{' at character 4/.test(err.message))
  assert.throws(() => references('${'), TemplateSyntaxError)
})

test('a ${...} that is not a reference throws', () => {
  for (const bad of ['${}', '${ }', '${1abc}', '${a b}', '${inputs.x+1}', '${$x}']) {
    assert.throws(() => parseTemplate(bad), (err: Error) => err instanceof TemplateSyntaxError && /is not a reference/.test(err.message), bad)
  }
})

test('expand replaces references through the resolver', () => {
  const values: Record<string, string> = { 'inputs.level': 'minor', 'steps|bump.x|stdout': '1.3.0' }
  const resolve = (ref: string[]): string | undefined => ref[0] === 'steps' ? values[ref.join('|')] : values[ref.join('.')]
  assert.equal(expand('bump ${inputs.level} to v${steps.bump.x.stdout}!', resolve), 'bump minor to v1.3.0!')
  assert.equal(expand('no refs', () => assert.fail('resolver called for plain text')), 'no refs')
  assert.equal(expand('$${inputs.level} is ${inputs.level}', resolve), '${inputs.level} is minor')
})

test('expand passes the split reference to the resolver', () => {
  const seen: string[][] = []
  expand('${steps.a.b.stdout}/${node.cli}', ref => { seen.push(ref); return '' })
  assert.deepEqual(seen, [['steps', 'a.b', 'stdout'], ['node', 'cli']])
})

test('expand does not expand a value into further references', () => {
  assert.equal(expand('${inputs.x}', () => '${inputs.y}'), '${inputs.y}')
})

test('expand of an unresolvable reference throws naming it; an empty value is fine', () => {
  assert.throws(() => expand('x ${workflow.owner} y', () => undefined), (err: Error) => err instanceof TemplateSyntaxError && err.message === '${workflow.owner} has no value')
  assert.equal(expand('[${inputs.empty}]', () => ''), '[]')
})
