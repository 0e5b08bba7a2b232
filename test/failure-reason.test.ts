// The reason a failed step gives: the stderr line that says what went wrong,
// never the runtime's banner or stack after it. The samples are real stderr,
// captured from node 20, python 3.11, dash, bash and a Rust panic.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeFailure, failureLine } from '../core/workflow/failure-reason.js'
import type { ProcessResult } from '../core/ports.js'

const NODE_UNCAUGHT = `node:fs:2380
    return binding.writeFileUtf8(
                   ^

Error: EACCES: permission denied, open 'package.json.tmp'
    at writeFileSync (node:fs:2380:20)
    at file:///opt/se/examples/workflows/scripts/bump-version.mjs:38:1
    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)
    at async ModuleLoader.import (node:internal/modules/esm/loader:606:24)
    at async asyncRunEntryPointWithESMLoader (node:internal/modules/run_main:117:5) {
  errno: -13,
  code: 'EACCES',
  syscall: 'open',
  path: 'package.json.tmp'
}

Node.js v20.20.2
`

const NODE_REJECTION = `[eval]:1
Promise.reject(new Error('no route to registry'))
               ^

Error: no route to registry
    at [eval]:1:16
    at runScriptInThisContext (node:internal/vm:209:10)
    at node:internal/process/execution:118:14
    at [eval]-wrapper:6:24
    at runScript (node:internal/process/execution:101:62)
    at evalScript (node:internal/process/execution:133:3)
    at node:internal/main/eval_string:51:3

Node.js v20.20.2
`

const NODE_WITH_CAUSE = `[eval]:1
throw new TypeError('x', {cause: new Error('inner')})
^

TypeError: config is not readable
    at [eval]:1:7
    at runScriptInThisContext (node:internal/vm:209:10)
    ... 4 lines matching cause stack trace ...
    at node:internal/main/eval_string:51:3 {
  [cause]: Error: inner
      at [eval]:1:34
      at runScriptInThisContext (node:internal/vm:209:10)
      at node:internal/main/eval_string:51:3 {
    code: 'E_INNER'
  }
}

Node.js v20.20.2
`

const PYTHON_TRACEBACK = `Traceback (most recent call last):
  File "/workspace/release.py", line 12, in <module>
    open("/workspace/out", "w")
PermissionError: [Errno 13] Permission denied: '/workspace/out'
`

const RUST_PANIC = `thread 'main' panicked at src/main.rs:2:5:
cannot open /workspace/out: Permission denied (os error 13)
note: run with \`RUST_BACKTRACE=1\` environment variable to display a backtrace
`

test('a Node uncaught exception gives its error line, not its stack, properties or banner', () => {
  assert.equal(failureLine(NODE_UNCAUGHT), "Error: EACCES: permission denied, open 'package.json.tmp'")
  assert.equal(failureLine(NODE_REJECTION), 'Error: no route to registry')
  assert.equal(failureLine(NODE_WITH_CAUSE), 'TypeError: config is not readable')
})

test('a Python traceback gives the exception, a Rust panic its message', () => {
  assert.equal(failureLine(PYTHON_TRACEBACK), "PermissionError: [Errno 13] Permission denied: '/workspace/out'")
  assert.equal(failureLine(RUST_PANIC), 'cannot open /workspace/out: Permission denied (os error 13)')
})

test('a shell error is its own last line', () => {
  assert.equal(failureLine('sh: 1: cannot create /workspace/out: Permission denied\n'), 'sh: 1: cannot create /workspace/out: Permission denied')
  assert.equal(failureLine('warming up\nbash: line 1: /workspace/out: Permission denied\n\n'), 'bash: line 1: /workspace/out: Permission denied')
})

test('a tail with only a banner or stack frames gives no reason rather than a wrong one', () => {
  assert.equal(failureLine('\nNode.js v20.20.2\n'), null)
  assert.equal(failureLine('    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)\n}\n\nNode.js v20.20.2\n'), null)
  assert.equal(failureLine(''), null)
})

test('data in braces on stderr is data, not Node\'s error properties', () => {
  assert.equal(failureLine('{\n  "error": "quota exceeded"\n}\n'), '"error": "quota exceeded"')
})

const result = (over: Partial<ProcessResult>): ProcessResult =>
  ({ exitCode: 1, signal: null, stdout: '', stderr: '', durationMs: 5, timedOut: false, spawnError: null, ...over })

test('the step\'s error: how it ended, then the line that says why', () => {
  assert.equal(describeFailure(result({ stderr: NODE_UNCAUGHT })), "exit code 1: Error: EACCES: permission denied, open 'package.json.tmp'")
  assert.equal(describeFailure(result({ stderr: 'Node.js v20.20.2\n' })), 'exit code 1')
  assert.equal(describeFailure(result({ exitCode: null, signal: 'SIGKILL', stderr: 'x\n' })), 'killed by SIGKILL: x')
  assert.equal(describeFailure(result({ stderr: `${'y'.repeat(300)}\n` })), `exit code 1: ${'y'.repeat(200)}`)
})
