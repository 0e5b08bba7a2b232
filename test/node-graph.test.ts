// A graph on one real node (in process, real processes and files): outputs through
// $SE_OUTPUT, an artifact made and used on the same node, and the errors a person sees
// when a step's artifact is missing or too large.
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { SeNode } from '../core/node/se-node.js'
import { nodeRuntime } from '../adapters/node/runtime.js'
import type { WorkflowStatus } from '../core/protocol/types.js'
import { defer, makeTempDir } from './helpers/tmp.js'

const quiet = { info: () => {}, warn: () => {}, error: () => {} }

async function node (t: TestContext, env: Record<string, string> = {}): Promise<{ node: SeNode, workdir: string }> {
  const runtime = nodeRuntime(quiet)
  const own = runtime.system.env.bind(runtime.system)
  runtime.system.env = (name: string) => env[name] ?? own(name)
  const n = new SeNode(runtime, { dataDir: await makeTempDir(t, 'se-node-graph-'), catalogueDirs: [] })
  await n.start()
  defer(t, async () => await n.stop())
  return { node: n, workdir: await makeTempDir(t, 'se-node-graph-work-') }
}

async function run (n: SeNode, workdir: string, flow: object): Promise<WorkflowStatus> {
  const started = await n.executeWorkflow({ definition: JSON.stringify(flow), source: 'flow.json', inputs: {}, workdir, requestedBy: 'test' })
  return await n.watchWorkflow(started.id, () => {})
}

test('outputs written to $SE_OUTPUT reach later steps, and an artifact made here is placed for a step here', async t => {
  const { node: n, workdir } = await node(t)
  const done = await run(n, workdir, {
    name: 'LOCAL',
    steps: [
      { id: 'make', run: { command: 'sh', args: ['-c', 'mkdir -p out && echo hello > out/greeting && chmod 700 out/greeting && echo version=2.0 >> "$SE_OUTPUT" && printf "notes<<EOF\\nline one\\nline two\\nEOF\\n" >> "$SE_OUTPUT"'] }, outputs: ['version', 'notes'], artifacts: { out: 'out/' } },
      { id: 'clean', run: { command: 'rm', args: ['-r', 'out'] } },
      { id: 'use', uses: ['make.out'], run: { command: 'sh', args: ['-c', 'cat out/greeting; stat -c %a out/greeting; echo "${steps.make.outputs.version}|${steps.make.outputs.notes}"'] } }
    ]
  })
  assert.equal(done.state, 'completed', done.error ?? '')
  assert.deepEqual(done.steps[0]?.outputs, { version: '2.0', notes: 'line one\nline two' })
  assert.equal(done.steps[2]?.stdout.trim(), 'hello\n700\n2.0|line one\nline two')
  assert.equal(done.steps[0]?.artifacts[0]?.name, 'out')
  assert.equal(await readFile(path.join(workdir, 'out', 'greeting'), 'utf8'), 'hello\n')
  // Placed as any tool would make a directory (the umask applies), not private like the data dir.
  assert.equal((await stat(path.join(workdir, 'out'))).mode & 0o777, 0o755 & ~process.umask())
})

test('a step whose artifact path is missing after it ran fails, saying which and where', async t => {
  const { node: n, workdir } = await node(t)
  const done = await run(n, workdir, { name: 'MISSING', steps: [{ id: 'build', run: { command: 'true' }, artifacts: { dist: 'dist/' } }] })
  assert.equal(done.state, 'failed')
  assert.equal(done.steps[0]?.error, `artifact dist: dist/ does not exist in ${workdir}`)
})

test('an artifact larger than SE_ARTIFACT_MAX is refused before it is published', async t => {
  const { node: n, workdir } = await node(t, { SE_ARTIFACT_MAX: '1K' })
  const done = await run(n, workdir, { name: 'BIG', steps: [{ id: 'build', run: { command: 'sh', args: ['-c', 'head -c 4096 /dev/zero > big'] }, artifacts: { big: 'big' } }] })
  assert.equal(done.state, 'failed')
  assert.match(done.steps[0]?.error ?? '', /artifact big: .*(larger|more) than|SE_ARTIFACT_MAX/)
  assert.deepEqual(await n.listArtifacts(done.id), [])
})
