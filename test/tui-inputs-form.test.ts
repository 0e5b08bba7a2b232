// What the dashboard asks before it starts a workflow with inputs, and what
// `:execute NAME -i k=v` sends; and what the terminal is found to show.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CatalogueEntry } from '../core/protocol/types.js'
import { detectTerminal, sparkline, ASCII_GLYPHS, UNICODE_GLYPHS, bar } from '../tui/glyphs.js'
import { formFields, formInputs, formLines, missingFields, parseExecute } from '../tui/inputs-form.js'

const VT: CatalogueEntry = {
  name: 'VERSION_TRANSITION',
  description: 'Bump the version',
  source: '/cat/version-transition.yaml',
  inputs: ['repo', 'level'],
  inputDetails: [
    { name: 'repo', description: 'path of the git repository', required: true, default: null, type: 'path' },
    { name: 'level', description: 'major | minor | patch', required: false, default: 'patch', type: 'string' }
  ]
}

test(':execute NAME -i k=v reads as the CLI reads se execute', () => {
  assert.deepEqual(parseExecute('VERSION_TRANSITION -i repo=. --input level=minor'), { name: 'VERSION_TRANSITION', inputs: { repo: '.', level: 'minor' } })
  assert.deepEqual(parseExecute('X --input=msg="a b=c"'), { name: 'X', inputs: { msg: 'a b=c' } })
  assert.deepEqual(parseExecute('X'), { name: 'X', inputs: {} })
  assert.match((parseExecute('X -i') as { error: string }).error, /-i needs KEY=VALUE/)
  assert.match((parseExecute('X -i novalue') as { error: string }).error, /'novalue' is not KEY=VALUE: :execute NAME -i key=value/)
  assert.match((parseExecute('X Y') as { error: string }).error, /unexpected 'Y'/)
  assert.match((parseExecute('') as { error: string }).error, /^usage: :execute NAME/)
})

test('the form: one field per input with its default and description; required ones must be filled', () => {
  const fields = formFields(VT)
  assert.deepEqual(fields.map(f => [f.name, f.value, f.required]), [['repo', '', true], ['level', 'patch', false]])
  assert.deepEqual(missingFields(fields).map(f => f.name), ['repo'])
  const given = formFields(VT, { repo: '/src/app' })
  assert.deepEqual(missingFields(given), [])
  assert.deepEqual(formInputs(given), { repo: '/src/app', level: 'patch' })
  const lines = formLines(VT, fields, 0, '>')
  assert.equal(lines[0], 'VERSION_TRANSITION: Bump the version')
  assert.match(lines[2] ?? '', /^> repo\* {2}= \(empty\) {3}path of the git repository \[path\]$/)
  assert.match(lines[3] ?? '', /^ {2}level {2}= patch {3}major \| minor \| patch$/)
  // An older node sends names only: the form still asks for them.
  const old = formFields({ ...VT, inputDetails: [] })
  assert.deepEqual(old.map(f => [f.name, f.value, f.required]), [['repo', '', false], ['level', '', false]])
  assert.deepEqual(formInputs(old), {})
})

test('the terminal: ASCII when asked, for vt100 and dumb TERMs, and without a UTF-8 locale', () => {
  const utf = { TERM: 'xterm-256color', LANG: 'C.UTF-8' }
  assert.equal(detectTerminal(utf).ascii, false)
  assert.deepEqual(detectTerminal(utf, true), { ascii: true, reason: '--ascii' })
  assert.equal(detectTerminal({ ...utf, SE_ASCII: '1' }).ascii, true)
  assert.equal(detectTerminal({ TERM: 'vt100', LANG: 'en_US.UTF-8' }).ascii, true)
  assert.equal(detectTerminal({ TERM: 'vt220' }).ascii, true)
  assert.equal(detectTerminal({ TERM: 'dumb', LANG: 'C.UTF-8' }).ascii, true)
  assert.deepEqual(detectTerminal({ TERM: 'xterm' }), { ascii: true, reason: 'no locale (LANG unset)' })
  assert.equal(detectTerminal({ TERM: 'xterm', LANG: 'POSIX' }).ascii, true)
  assert.equal(detectTerminal({ TERM: 'xterm', LANG: 'en_US.UTF-8', LC_ALL: 'C' }).ascii, true, 'LC_ALL wins')
  assert.equal(detectTerminal({ TERM: 'xterm', LANG: 'C', LC_CTYPE: 'de_DE.utf8' }).ascii, false)
  assert.equal(detectTerminal({ TERM: 'vt100', SE_ASCII: '0' }).ascii, false, 'SE_ASCII=0 forces Unicode')
})

test('sparklines and bars: newest values that fit, one level per column, ASCII or not', () => {
  assert.equal(sparkline([0, 50, 100], 10, ASCII_GLYPHS), '_+@')
  assert.equal(sparkline([0, 25, 50, 75, 100, 100], 3, ASCII_GLYPHS), '#@@')
  assert.equal(sparkline([0, 100], 2, UNICODE_GLYPHS), '▁█')
  assert.equal(sparkline([50], 0, ASCII_GLYPHS), '')
  assert.equal(bar(50, 4, ASCII_GLYPHS), '##..')
  assert.equal(bar(150, 4, UNICODE_GLYPHS), '████')
})
