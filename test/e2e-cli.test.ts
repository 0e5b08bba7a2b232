// The CLI's contract with people and scripts: help, exit codes, validation errors.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, jsonError, se, startNode, tempDir } from './helpers/cli.js'

test('se --help lists every command; each command has usage and an example', async t => {
  const dataDir = await tempDir(t)
  const help = await se(['--help'], { dataDir })
  assert.equal(help.code, 0)
  for (const c of ['node', 'execute', 'status', 'approve', 'reject', 'cancel', 'audit', 'capabilities', 'catalogue', 'validate', 'shell']) {
    assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`), `${c} is listed`)
  }
  const execute = await se(['execute', '--help'], { dataDir })
  assert.match(execute.stdout, /Usage: se execute/)
  assert.match(execute.stdout, /Examples?:\n\s+se execute/)
})

test('a malformed workflow is refused with file, path and line, and nothing runs', async t => {
  const dir = await tempDir(t)
  const file = path.join(dir, 'bad.yaml')
  await writeFile(file, [
    'name: BAD',
    'steps:',
    '  - id: one',
    '    run: { command: touch, args: [ran] }',
    '  - id: two',
    '    run: { command: "true", timeoutSec: -5 }',
    '  - id: one',
    '    run: { command: echo, args: ["${steps.missing.stdout}"], colour: red }'
  ].join('\n'))
  const r = await se(['execute', file, '--wait'], { dataDir: dir, cwd: dir })
  assert.equal(r.code, 2)
  assert.match(r.stderr, /bad\.yaml:6 steps\[1\]\.run\.timeoutSec: expected a number of seconds greater than 0, got -5/)
  assert.match(r.stderr, /steps\[2\]\.id: duplicate step id 'one'/)
  assert.match(r.stderr, /steps\[2\]\.run\.colour: unknown key 'colour' \(expected one of: command, args/)
  const { readdir } = await import('node:fs/promises')
  assert.ok(!(await readdir(dir)).includes('ran'), 'no step ran')
  const v = await se(['validate', file, '--json'], { dataDir: dir })
  assert.equal(v.code, 2)
  assert.equal(json(v)[0].ok, false)
})

test('exit codes: 4 without a node, 2 for usage, 0/1 for completed/failed', async t => {
  const dataDir = await tempDir(t)
  const none = await se(['status'], { dataDir })
  assert.equal(none.code, 4)
  assert.match(none.stderr, /no node is running.*\nhint: start one with `se node start`/s)
  assert.equal((await se(['execute'], { dataDir })).code, 2)
  assert.equal((await se(['execute', 'NO_SUCH_WORKFLOW', '--wait'], { dataDir })).code, 2)

  const file = path.join(dataDir, 'fails.yaml')
  await writeFile(file, 'name: FAILS\nsteps:\n  - id: boom\n    run: { command: sh, args: [-c, "echo broken >&2; exit 7"] }\n')
  await startNode(t, dataDir)
  const failed = await se(['execute', file, '--wait', '--json'], { dataDir })
  assert.equal(failed.code, 1)
  const s = json(failed)
  assert.equal(s.state, 'failed')
  assert.equal(s.steps[0].exitCode, 7)
  assert.match(s.error, /exit code 7: broken/)
  const caps = json(await se(['capabilities', '--json'], { dataDir }))
  assert.ok(caps.engines.includes('process'))
  assert.ok(caps.tools.includes('git'))
  assert.equal(JSON.stringify(caps).includes('secretKey'), false)
})

test('a container workflow is refused up front on a node without podman, naming what is missing', async t => {
  const dataDir = await tempDir(t)
  const file = path.join(dataDir, 'container.yaml')
  await writeFile(file, 'name: BOXED\nsteps:\n  - id: inside\n    run: { image: localhost/busybox, command: echo, args: [hi] }\n')
  // SE_TOOLS without podman: the node does not look for it, as on a machine that lacks it.
  const r = await se(['execute', file, '--wait', '--json'], { dataDir, env: { SE_TOOLS: 'git' } })
  assert.equal(r.code, 2)
  const err = jsonError(r)
  assert.equal(err.code, 'NO_CAPABLE_NODE')
  assert.match(err.message, /BOXED needs capability 'podman' for step inside/)
  const { readdir } = await import('node:fs/promises')
  assert.deepEqual(await readdir(path.join(dataDir, 'workflows')).catch(() => []), [], 'no run was recorded')
})

test('se shell runs the same commands at an se> prompt and keeps history', async t => {
  const dataDir = await tempDir(t)
  const file = path.join(dataDir, 'hello.yaml')
  await writeFile(file, 'name: HELLO\nsteps:\n  - id: greet\n    run: { command: echo, args: [hello from the shell] }\n')
  await startNode(t, dataDir)
  const r = await se(['shell'], { dataDir, input: `execute ${file} --wait\nstatus\nnot-a-command\nexit\n` })
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /se> /)
  assert.match(r.stdout, /HELLO\s+completed/)
  assert.match(r.stderr, /hello from the shell/)
  assert.match(r.stderr, /unknown command 'not-a-command'/)
  const { readFile } = await import('node:fs/promises')
  assert.match(await readFile(path.join(dataDir, 'shell_history'), 'utf8'), /^execute .*--wait\nstatus\nnot-a-command\n/)
})

test('se --help says the exit codes and variables; se version, se completion, -q', async t => {
  const dataDir = await tempDir(t)
  const help = await se(['--help'], { dataDir })
  assert.match(help.stdout, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 /)
  assert.match(help.stdout, /Environment:\n {2}SE_DATA_DIR /)
  for (const c of ['node', 'session', 'image']) assert.match((await se([c, '--help'], { dataDir })).stdout, new RegExp(`Examples?:\\n\\s+se ${c} `), c)

  const version = await se(['version'], { dataDir })
  assert.equal(version.code, 0)
  assert.match(version.stdout, /^se CLI \d+\.\d+\.\d+\nnode +none answering/)
  assert.equal(json(await se(['version', '--json'], { dataDir })).node, null)

  const bash = await se(['completion', 'bash'], { dataDir })
  assert.equal(bash.code, 0)
  assert.match(bash.stdout, /complete -o default -F _se se/)
  assert.match(bash.stdout, /node\) words='start stop status /)
  const { execa } = await import('execa')
  assert.equal((await execa('bash', ['-n'], { input: bash.stdout, reject: false })).exitCode, 0, 'bash reads it')
  assert.match((await se(['completion', 'zsh'], { dataDir })).stdout, /^#compdef se[\s\S]*'execute:start a workflow/)
  assert.match((await se(['completion', 'fish'], { dataDir })).stdout, /complete -c se -n '__fish_seen_subcommand_from node' -a stop/)
  assert.equal((await se(['completion', 'tcsh'], { dataDir })).code, 2)

  await startNode(t, dataDir)
  const file = path.join(dataDir, 'ok.yaml')
  await writeFile(file, 'name: QUIET\nsteps:\n  - id: a\n    run: { command: "true" }\n')
  const id = (await se(['execute', file, '--wait', '-q'], { dataDir })).stdout
  assert.match(id, /^wf-[\w-]+$/)
  const listed = await se(['status', '-q'], { dataDir })
  assert.equal(listed.stdout, id)
  assert.match((await se(['nodes', '-q'], { dataDir })).stdout, /^\S+$/)
  const nodes = await se(['nodes'], { dataDir })
  assert.match(nodes.stdout, /^NAME\s+KEY\s+STATE\s+AGE\s+LINK\s+LOAD/)
  assert.match(nodes.stdout, /\s+up\s+-\s+-\s+\d+%/, 'this node: no age, no link')
  assert.match(nodes.stdout, /\n1 node: 1 up( · .+)?$/)
  assert.equal((await se(['nodes', '--state', 'down'], { dataDir })).stdout, 'NAME  KEY  STATE  AGE  LINK  LOAD  MEMORY  RTT  CAPABILITIES\n0 of 1 node')
  assert.equal(json(await se(['nodes', '--capability', 'process', '--json'], { dataDir })).length, 1)
  assert.deepEqual(json(await se(['nodes', '--capability', 'no-such-thing', '--json'], { dataDir })), [])
  assert.equal(json(await se(['version', '--json'], { dataDir })).node.version, json(await se(['version', '--json'], { dataDir })).cli)

  // With --json an error is JSON on stderr, and stdout stays empty for the pipe.
  const missing = await se(['status', 'wf-nothing-here', '--json'], { dataDir })
  assert.equal(missing.code, 2)
  assert.equal(missing.stdout, '')
  assert.equal(jsonError(missing).code, 'UNKNOWN_WORKFLOW')
})
