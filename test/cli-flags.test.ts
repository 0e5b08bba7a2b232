// Every numeric flag is checked where it is parsed: a value it cannot take ends
// the call with exit 2, naming the flag and what it expects, before any node is
// asked anything (none runs here: a flag that slipped through would exit 4).
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, jsonError, se, tempDir } from './helpers/cli.js'

const REFUSED: Array<{ args: string[], flag: string, expects: RegExp }> = [
  { args: ['audit', '--limit', 'abc'], flag: '--limit', expects: /a whole number, 1 or more/ },
  { args: ['audit', '--limit', '-2'], flag: '--limit', expects: /a whole number, 1 or more/ },
  { args: ['audit', '--limit', '0'], flag: '--limit', expects: /a whole number, 1 or more/ },
  { args: ['audit', '--limit', '2.5'], flag: '--limit', expects: /a whole number/ },
  { args: ['logs', 'web', '--tail', 'abc'], flag: '--tail', expects: /a whole number, 0 or more \(or -1\)/ },
  { args: ['logs', 'web', '--tail', '-2'], flag: '--tail', expects: /\(or -1\)/ },
  { args: ['deploy', 'web.yaml', '--replicas', 'abc'], flag: '--replicas', expects: /a whole number, 1 or more/ },
  { args: ['deploy', 'web.yaml', '--replicas', '0'], flag: '--replicas', expects: /a whole number, 1 or more/ },
  { args: ['deploy', 'web.yaml', '--cpus', 'abc'], flag: '--cpus', expects: /a number above 0/ },
  { args: ['deploy', 'web.yaml', '--cpus', '-1'], flag: '--cpus', expects: /a number above 0/ },
  { args: ['bootstrap', '--port', 'abc'], flag: '--port', expects: /a whole number, 0 to 65535/ },
  { args: ['bootstrap', '--port', '70000'], flag: '--port', expects: /a whole number, 0 to 65535/ },
  { args: ['dashboard', '--refresh-ms', 'abc'], flag: '--refresh-ms', expects: /a whole number, 100 or more/ },
  { args: ['node', 'stop', '--timeout', 'abc'], flag: '--timeout', expects: /a whole number, 1 or more/ },
  { args: ['node', 'start', '--heartbeat-ms', 'abc'], flag: '--heartbeat-ms', expects: /a positive number/ },
  { args: ['node', 'start', '--detach', '--max-workloads', '-3'], flag: '--max-workloads', expects: /a positive number/ },
  { args: ['nodes', '--state', 'sideways'], flag: '--state', expects: /one of up, suspect, down, left/ },
  { args: ['nodes', '--limit', '0'], flag: '--limit', expects: /a whole number, 1 or more/ },
  { args: ['nodes', '--capability', ' '], flag: '--capability', expects: /a capability, such as gpu/ }
]

test('a numeric flag given what it cannot take: exit 2, naming the flag and what it expects', async t => {
  const dataDir = await tempDir(t)
  await Promise.all(REFUSED.map(async ({ args, flag, expects }) => {
    const r = await se(args, { dataDir })
    const what = args.join(' ')
    assert.equal(r.code, 2, `${what}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`error: ${flag}\\b`), what)
    assert.match(r.stderr, expects, what)
    const asJson = await se([...args, '--json'], { dataDir })
    assert.equal(asJson.code, 2, what)
    assert.equal(asJson.stdout, '', `${what}: stdout is the answer's alone`)
    assert.equal(jsonError(asJson).code, 'BAD_INPUT', what)
  }))
})

test('se audit --workflow takes a unique prefix and says when nothing matches', async t => {
  const dataDir = await tempDir(t)
  const file = path.join(dataDir, 'one.yaml')
  await writeFile(file, 'name: ONE\nsteps:\n  - id: a\n    run: { command: "true" }\n')
  const ran = await se(['execute', file, '--wait', '-q'], { dataDir })
  assert.equal(ran.code, 0, ran.stderr)
  const id = ran.stdout.trim()
  assert.match(id, /^wf-[\w-]+$/, 'with -q, the id alone')
  // The node has stopped: the trail is read from the data dir.
  const byPrefix = await se(['audit', '--workflow', id.slice(0, 6), '--json'], { dataDir })
  assert.equal(byPrefix.code, 0, byPrefix.stderr)
  const records = json<Array<{ entry: { workflowId: string } }>>(byPrefix)
  assert.ok(records.length > 0)
  assert.ok(records.every(r => JSON.stringify(r).includes(id)))
  const none = await se(['audit', '--workflow', 'wf-nothing'], { dataDir })
  assert.equal(none.code, 1)
  assert.match(none.stderr, /no workflow in the audit trail starts with 'wf-nothing'/)
})

test('se validate refuses a step whose command is on no PATH, before anything runs', async t => {
  const dataDir = await tempDir(t)
  const file = path.join(dataDir, 'missing.yaml')
  await writeFile(file, [
    'name: MISSING',
    'steps:',
    '  - id: fine',
    '    run: { command: "true" }',
    '  - id: typo',
    '    run: { command: no-such-tool-se-test }',
    '  - id: boxed',
    '    run: { image: localhost/busybox, command: only-in-the-image }'
  ].join('\n'))
  const r = await se(['validate', file], { dataDir })
  assert.equal(r.code, 2)
  assert.match(r.stderr, /steps\[1\]\.run\.command: command 'no-such-tool-se-test' not found on PATH/)
  assert.doesNotMatch(r.stderr, /only-in-the-image/, 'a container step runs the image\'s command')
  const asJson = json(await se(['validate', file, '--json'], { dataDir }))
  assert.equal(asJson[0].code, 'VALIDATION_FAILED')
})
