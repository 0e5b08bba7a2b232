// Which commands a workflow names (looked up before anything runs), and the
// bounds on a member asking this node about its PATH.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeError } from '../core/errors.js'
import { OncePerKey } from '../core/node/once-per-key.js'
import { commandNames, MAX_COMMANDS_ASKED, stepCommands } from '../core/workflow/commands.js'
import { parseWorkflow } from '../core/workflow/validate.js'

test('stepCommands names plain commands only: not container steps, paths, or names made at run time', () => {
  const def = parseWorkflow(JSON.stringify({
    name: 'C',
    inputs: { tool: { default: 'make' } },
    steps: [
      { id: 'a', run: { command: 'git', args: ['status'] } },
      { id: 'b', run: { command: './build.sh' } },
      { id: 'c', run: { command: '${inputs.tool}' } },
      { id: 'd', run: { image: 'localhost/busybox', command: 'sh' } },
      { id: 'e', requires: { capabilities: ['gpu'] }, run: { command: 'nvidia-smi' } },
      { id: 'f', intervention: { prompt: 'ok?' } }
    ]
  }), 'c.json')
  assert.deepEqual(stepCommands(def).map(c => [c.step.id, c.at, c.command]), [['a', 'steps[0]', 'git'], ['e', 'steps[4]', 'nvidia-smi']])
})

test('a member may ask about a bounded list of plain names, never paths', () => {
  assert.deepEqual(commandNames(['git', 'git', 'make']), ['git', 'make'])
  for (const bad of ['/bin/sh', '../x', '', '.', '..', 'a\0b', 'x'.repeat(256)]) {
    assert.throws(() => commandNames([bad]), (e: SeError) => e.code === 'BAD_INPUT' && /findCommands: .* is not a command name/.test(e.message), JSON.stringify(bad))
  }
  assert.throws(() => commandNames(Array.from({ length: MAX_COMMANDS_ASKED + 1 }, (_, i) => `t${i}`)), /at most 256/)
})

test('OncePerKey shares one question, keeps what it is told to, and asks afresh for the rest', async () => {
  let asked = 0
  let installed = false
  const tools = new OncePerKey(async () => { asked++; return installed }, found => found)
  assert.deepEqual(await Promise.all([tools.get('x'), tools.get('x')]), [false, false])
  assert.equal(asked, 1, 'callers meanwhile share the one question')
  installed = true
  assert.equal(await tools.get('x'), true, 'a tool installed since is found')
  installed = false
  assert.equal(await tools.get('x'), true, 'a found tool is remembered')
  assert.equal(asked, 2)
})
