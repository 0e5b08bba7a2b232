// The Node process runner's group kills, on real processes: a kill while the
// step runs reaches its whole group; a kill after it ended reaches nobody, since
// its pid and group id may by then belong to another process (on a system whose
// pid_max is 32768, pids come round again within minutes).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ExecaProcessRunner } from '../adapters/node/process.js'

test('a grouped run is killed with its group while it runs; after it ended a kill sends no signal at all', async t => {
  const runner = new ExecaProcessRunner()
  const running = runner.run({ command: 'sh', args: ['-c', 'sleep 30 & wait'], processGroup: true })
  await new Promise(resolve => setTimeout(resolve, 200))
  running.kill('SIGTERM')
  const r = await running.result
  assert.equal(r.signal, 'SIGTERM')

  const quick = runner.run({ command: 'true', args: [], processGroup: true })
  assert.equal((await quick.result).exitCode, 0)
  const kill = t.mock.method(process, 'kill')
  quick.kill('SIGTERM')
  quick.kill('SIGKILL')
  assert.equal(kill.mock.callCount(), 0, `signals sent after the run ended: ${JSON.stringify(kill.mock.calls.map(c => c.arguments))}`)
})
