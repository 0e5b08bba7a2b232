// One table of node-start flags for both runtimes: `se node start` (commander)
// and the Bare node (paparam) read the same command line into the same settings,
// refuse the same mistakes, and list every flag they have with its variable.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Command } from 'commander'
import { addNodeStartOptions } from '../adapters/node/cli/node-start.js'
import { parseBareArgs } from '../bare/args.js'
import { DATA_DIR_FLAG, NODE_START_FLAGS, nodeStartFlagsOf, readNodeStartFlags, type NodeStartFlags } from '../adapters/shared/node-start-flags.js'
import { SeError } from '../core/errors.js'

const KEY = 'ab'.repeat(32)
const BOTH = [
  '--name', 'edge', '--capability', 'gpu', '--capability', 'arm', '--mesh', 'team', '--bootstrap', '127.0.0.1:49737,10.0.0.5:1',
  '--mesh-secret', 's3', '--allow', KEY, '--allow-file', 'keys.txt', '--peer', KEY, '--heartbeat-ms', '200', '--suspect-ms', '800',
  '--down-ms', '1600', '--engine', 'process', '--memory-budget', '1g', '--max-workloads', '3', '--session-idle', '60'
]

function nodeCli (argv: string[]): NodeStartFlags {
  const cmd = addNodeStartOptions(new Command('start').exitOverride())
  cmd.parse(argv, { from: 'user' })
  return readNodeStartFlags(cmd.opts(), 'node')
}

test('both runtimes read a node start the same way', () => {
  const expected: NodeStartFlags = {
    name: 'edge',
    tags: ['gpu', 'arm'],
    sessionIdleSec: 60,
    mesh: { mesh: 'team', bootstrap: '127.0.0.1:49737,10.0.0.5:1', meshSecret: 's3', allow: [KEY], allowFile: 'keys.txt', peer: [KEY], heartbeatMs: 200, suspectMs: 800, downMs: 1600 },
    workloads: { engine: 'process', memoryBudget: '1g', maxWorkloads: 3 },
    frontEnds: {}
  }
  assert.deepEqual(nodeCli(BOTH), expected)
  assert.deepEqual(parseBareArgs(BOTH), expected)
  assert.deepEqual(parseBareArgs(['--data-dir', 'here']), { dataDir: 'here', tags: [], mesh: {}, workloads: {}, frontEnds: {} })
  assert.deepEqual(nodeCli(['--http', '8080', '--avro-tcp', '9090', '--token-file', 't']).frontEnds, { http: '8080', avroTcp: '9090', tokenFile: 't' })
})

test('a number that is not positive is refused alike on both', () => {
  for (const [flag, value] of [['--heartbeat-ms', '0'], ['--max-workloads', 'many'], ['--session-idle', '-5']] as const) {
    for (const read of [nodeCli, parseBareArgs]) {
      assert.throws(() => read([flag, value]), (err: unknown) => err instanceof SeError && err.code === 'BAD_INPUT' && err.reason.includes(flag))
    }
  }
})

test('a flag only Node has is unknown to the Bare node', () => {
  assert.deepEqual(nodeStartFlagsOf('bare').filter(f => f.only !== undefined), [])
  assert.deepEqual(NODE_START_FLAGS.filter(f => f.only === 'node').map(f => f.name), ['avro-tcp'])
  assert.throws(() => parseBareArgs(['--avro-tcp', '9090']), (err: unknown) => err instanceof SeError && err.code === 'BAD_INPUT' && /unknown flag avro-tcp/.test(err.reason))
  // Bare serves health and /metrics over HTTP, with the same tokens.
  assert.equal(parseBareArgs(['--http', '8080', '--token-file', 't'])?.frontEnds.http, '8080')
})

test('each usage lists every flag of its runtime with its variable', () => {
  const node = addNodeStartOptions(new Command('start')).helpInformation().replace(/\s+/g, ' ')
  for (const f of nodeStartFlagsOf('node').filter(f => f !== DATA_DIR_FLAG)) {
    assert.match(node, new RegExp(`--${f.name} <${f.value.replace(/[[\]]/g, '\\$&')}> .*?env ${f.env}`))
  }
})
