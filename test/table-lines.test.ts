// The dashboard's tables on a narrow terminal: columns that matter less give way
// before the last one (what a node can do) is squeezed out of sight.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { tableLines } from '../tui/screen.js'

const header = ['NAME', 'STATE', 'AGE', 'LINK', 'LOAD', 'CAPABILITIES']
const rows = [['worker', 'up', '9.0s', 'neighbour', '12%', 'tag:builder,podman,process,git']]

test('a table too wide drops the named columns in order until the last one has room, and no more', () => {
  const wide = tableLines(header, rows, 200, ['LINK', 'AGE'])
  assert.match(wide[0] ?? '', /NAME\s+STATE\s+AGE\s+LINK\s+LOAD\s+CAPABILITIES/)
  const narrow = tableLines(header, rows, 55, ['LINK', 'AGE'])
  assert.match(narrow[0] ?? '', /NAME\s+STATE\s+AGE\s+LOAD\s+CAPABILITIES/, 'LINK goes first; AGE stays while the rest fits')
  assert.match(narrow[1] ?? '', /worker\s+up\s+9\.0s\s+12%\s+tag:builder/)
  const tight = tableLines(header, rows, 44, ['LINK', 'AGE'])
  assert.match(tight[0] ?? '', /NAME\s+STATE\s+LOAD\s+CAPABILITIES/)
  assert.ok(tight.every(l => l.length <= 44))
  assert.deepEqual(tableLines(header, rows, 44), tableLines(header, rows, 44, []), 'nothing named, nothing dropped')
})
