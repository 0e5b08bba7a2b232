// Benchmark 1: per-step overhead of the workflow engine against plain process spawns,
// plus a breakdown of where an engine step's time goes.
import { spawn } from 'node:child_process'
import { execa } from 'execa'
import { SeNode } from '../core/node/se-node.js'
import { OUTPUT_TAIL_BYTES } from '../core/constants.js'
import type { ProcessHandle, ProcessResult, ProcessRunner, ProcessSpec, Runtime } from '../core/ports.js'
import type { WorkflowRun } from '../core/workflow/run.js'
import { WorkflowStore } from '../core/workflow/store.js'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { ExecaProcessRunner } from '../adapters/node/process.js'
import { info, median, ms, now, quietLogger, tempDir, timed, type Result } from './lib.js'

const STEPS = 200
const ROUNDS = 3
const WARMUP_STEPS = 20

function definitionText (steps: number): string {
  // JSON is YAML; the engine parses it with the same parser as a .yaml file.
  return JSON.stringify({
    name: `bench-${steps}-steps`,
    steps: Array.from({ length: steps }, (_, i) => ({ id: `s${i}`, run: { command: 'true' } }))
  })
}

async function startNode (runtime: Runtime, prefix: string): Promise<{ node: SeNode, workdir: string }> {
  const dataDir = await tempDir(prefix)
  const workdir = await tempDir(`${prefix}-work`)
  const node = new SeNode(runtime, { dataDir, catalogueDirs: [] })
  await node.start()
  return { node, workdir }
}

/** Runs an n-step workflow to completion; returns wall ms and the finished run. */
async function runWorkflow (node: SeNode, workdir: string, steps: number): Promise<{ elapsed: number, run: WorkflowRun }> {
  const definition = definitionText(steps)
  const start = now()
  const status = await node.executeWorkflow({ definition, source: 'bench.yaml', inputs: {}, workdir, requestedBy: '' })
  const final = await node.watchWorkflow(status.id, () => {})
  const elapsed = now() - start
  if (final.state !== 'completed') throw new Error(`bench workflow ended ${final.state}: ${final.error ?? ''}`)
  const run = node.workflowRun(status.id)
  if (run === undefined) throw new Error('finished run not found')
  return { elapsed, run }
}

function spawnTrue (): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: 'ignore' })
    child.once('error', reject)
    child.once('close', () => resolve())
  })
}

async function sequential (n: number, fn: () => Promise<unknown>): Promise<number> {
  const start = now()
  for (let i = 0; i < n; i++) await fn()
  return now() - start
}

/** A process runner whose processes finish at once: what is left is the engine and its persistence. */
class InstantRunner implements ProcessRunner {
  run (): ProcessHandle {
    const result: ProcessResult = { exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, spawnError: null }
    return { result: Promise.resolve(result), kill: () => {} }
  }
}

/**
 * For comparison only: the engine's steps through node:child_process with the options
 * ExecaProcessRunner gives (own process group, piped output kept as a tail, the step's
 * environment), without execa. It separates what the engine costs from what the runner does.
 */
class PlainSpawnRunner implements ProcessRunner {
  run (spec: ProcessSpec): ProcessHandle {
    const started = now()
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: spec.processGroup === true })
    const out = { stdout: '', stderr: '' }
    for (const stream of ['stdout', 'stderr'] as const) child[stream].setEncoding('utf8').on('data', (text: string) => { out[stream] = (out[stream] + text).slice(-OUTPUT_TAIL_BYTES) })
    const result = new Promise<ProcessResult>(resolve => {
      child.once('error', err => resolve({ exitCode: null, signal: null, ...out, durationMs: Math.round(now() - started), timedOut: false, spawnError: err.message }))
      child.once('close', (exitCode, signal) => resolve({ exitCode, signal, ...out, durationMs: Math.round(now() - started), timedOut: false, spawnError: null }))
    })
    return { result, kill: signal => { child.kill((signal ?? 'SIGTERM') as NodeJS.Signals) } }
  }
}

export async function benchSteps (): Promise<Result[]> {
  const real = await startNode(nodeRuntime(quietLogger), 'steps')
  const instant = await startNode({ ...nodeRuntime(quietLogger), processes: new InstantRunner() }, 'steps-instant')
  const plain = await startNode({ ...nodeRuntime(quietLogger), processes: new PlainSpawnRunner() }, 'steps-plain')

  // Warm up: module code paths, JIT, the fs thread pool, the page cache for `true`.
  await runWorkflow(real.node, real.workdir, WARMUP_STEPS)
  await runWorkflow(instant.node, instant.workdir, WARMUP_STEPS)
  await runWorkflow(plain.node, plain.workdir, WARMUP_STEPS)
  await sequential(WARMUP_STEPS, spawnTrue)
  await sequential(WARMUP_STEPS, () => execa('true'))

  // Interleaved rounds so that drift in machine load hits every contender alike.
  const engine: number[] = []
  const spawns: number[] = []
  const execas: number[] = []
  const instantEngine: number[] = []
  const plainEngine: number[] = []
  let lastRun: WorkflowRun | null = null
  for (let round = 0; round < ROUNDS; round++) {
    spawns.push(await sequential(STEPS, spawnTrue) / STEPS)
    execas.push(await sequential(STEPS, () => execa('true')) / STEPS)
    const r = await runWorkflow(real.node, real.workdir, STEPS)
    engine.push(r.elapsed / STEPS)
    lastRun = r.run
    instantEngine.push((await runWorkflow(instant.node, instant.workdir, STEPS)).elapsed / STEPS)
    plainEngine.push((await runWorkflow(plain.node, plain.workdir, STEPS)).elapsed / STEPS)
  }
  const engineMs = median(engine)
  const spawnMs = median(spawns)
  const execaMs = median(execas)

  // ---- where an engine step's time goes
  // Per step the engine makes one commit: one durable audit append holding the step's
  // start and the previous step's completion (the trail is the journal; the run's file
  // is rewritten only for what the trail cannot rebuild, and lazily otherwise), then runs
  // the process through ExecaProcessRunner.
  const diag = await breakdown(real.node, real.workdir, lastRun as WorkflowRun)
  info(`rounds (ms/step): engine ${engine.map(ms).join(' / ')}   spawn ${spawns.map(ms).join(' / ')}   execa ${execas.map(ms).join(' / ')}`)
  info('where an engine step goes (medians, ms):')
  info(`  engine with instant processes (no spawn)   ${ms(median(instantEngine)).padStart(7)} /step   = persistence + engine CPU`)
  info(`  engine with a plain child_process runner   ${ms(median(plainEngine)).padStart(7)} /step   (${(median(plainEngine) / spawnMs).toFixed(2)}x spawn: the engine without execa)`)
  info(`  ExecaProcessRunner.run(true) as the engine  ${ms(diag.runner).padStart(7)} /run    (plain spawn ${ms(spawnMs)}, same options ${ms(diag.spawnLikeRunner)}, execa('true') ${ms(execaMs)})`)
  info(`    the same without a process group          ${ms(diag.runnerSolo).padStart(7)} /run    (execa's timeout, force kill and signal-exit cleanup)`)
  info(`  commit: one durable append of 2 entries     ${ms(diag.commit).padStart(7)} /step   (step_complete of the step before + step_start)`)
  info(`    a single append, for comparison          ${ms(diag.append).padStart(7)}`)
  info(`  not per step any more: run record save     ${ms(diag.saveBig).padStart(7)}   (writeAtomic, ${(diag.runBytes / 1024).toFixed(0)} KiB: definition ${(diag.definitionBytes / 1024).toFixed(0)} KiB, step records ${(diag.stepsBytes / 1024).toFixed(0)} KiB, output ${diag.outputBytes} B; same, 1-step record ${ms(diag.saveSmall)}; stringify ${ms(diag.stringify)})`)
  info(`  commit + runner, summed separately          ${ms(diag.commit + diag.runner).padStart(7)}   run back to back (commit→run) ${ms(diag.interleaved)}   engine measured ${ms(engineMs)}`)
  info(`  floor with one durable append per step: spawn + append = ${ms(spawnMs + diag.commit)} ms (${((spawnMs + diag.commit) / spawnMs).toFixed(2)}x spawn)`)

  await real.node.stop()
  await instant.node.stop()
  await plain.node.stop()

  return [
    {
      name: 'step overhead',
      subject: `${ms(engineMs)} ms/step`,
      baseline: `${ms(spawnMs)} ms/spawn`,
      ratio: engineMs / spawnMs,
      goal: { kind: 'lt', limit: 1.2 },
      note: `engine overhead ${ms(engineMs - spawnMs)} ms/step beyond a plain spawn (${STEPS}-step workflow of \`true\`)`
    },
    {
      name: 'step overhead vs execa',
      subject: `${ms(engineMs)} ms/step`,
      baseline: `${ms(execaMs)} ms/execa`,
      ratio: engineMs / execaMs,
      goal: null
    }
  ]
}

interface Breakdown {
  runner: number
  /** The runner without a process group of its own. */
  runnerSolo: number
  /** A plain spawn with the runner's options: own process group, piped output, the step's environment. */
  spawnLikeRunner: number
  commit: number
  /** One engine step's I/O outside the engine: commit → run. */
  interleaved: number
  saveBig: number
  saveSmall: number
  stringify: number
  append: number
  runBytes: number
  definitionBytes: number
  stepsBytes: number
  outputBytes: number
}

async function breakdown (node: SeNode, workdir: string, finished: WorkflowRun): Promise<Breakdown> {
  const N = 100
  const fs = new NodeFileSystem()
  const dir = await tempDir('steps-store')
  const store = new WorkflowStore(fs, dir)
  await store.open()
  const big = structuredClone(finished)
  big.id = 'bench-big'
  const small = structuredClone(finished)
  small.id = 'bench-small'
  small.steps = small.steps.slice(0, 1)
  small.definition = { ...small.definition, steps: small.definition.steps.slice(0, 1) }
  const runBytes = Buffer.byteLength(JSON.stringify(big))
  const sample = async (fn: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 10; i++) await fn()
    const times: number[] = []
    for (let i = 0; i < N; i++) times.push(await timed(fn))
    return median(times)
  }
  const runner = new ExecaProcessRunner()
  const spec = {
    command: 'true',
    args: [],
    cwd: workdir,
    env: { SE_WORKFLOW_ID: finished.id, SE_WORKFLOW_NAME: finished.name, SE_STEP_ID: 's0', SE_NODE_ID: node.id, SE_DATA_DIR: node.dataDir },
    // As the engine gives it (engine.ts buildSpec): a process group of its own.
    processGroup: true
  }
  const audit = node.audit
  const start = { event: 'step_start' as const, message: `${finished.name} step s1 (attempt 1): true`, workflowId: finished.id, workflowStep: 's1', domains: ['step'], files: [workdir], performanceMetrics: { attempts: 1 } }
  const complete = { event: 'step_complete' as const, message: `${finished.name} step s0 completed in 1 ms`, workflowId: finished.id, workflowStep: 's0', domains: ['step'], performanceMetrics: { durationMs: 1, exitCode: 0, attempts: 1, outputBytes: 0 } }
  const run = (): Promise<unknown> => runner.run(spec).result
  // The same without a group (RPC commands, podman): execa's timeout, force kill and signal-exit cleanup.
  const solo = { ...spec, processGroup: false }
  const runSolo = (): Promise<unknown> => runner.run(solo).result
  // What the engine's commit of a step is now: both entries in one group commit (one fsync).
  const commit = (): Promise<unknown> => Promise.all([audit.append(complete), audit.append(start)])
  const spawnLikeRunner = (): Promise<void> => new Promise((resolve, reject) => {
    const child = spawn('true', [], { cwd: workdir, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    child.stdout.setEncoding('utf8').on('data', () => {})
    child.stderr.setEncoding('utf8').on('data', () => {})
    child.once('error', reject)
    child.once('close', () => resolve())
  })
  return {
    runner: await sample(run),
    runnerSolo: await sample(runSolo),
    spawnLikeRunner: await sample(spawnLikeRunner),
    commit: await sample(commit),
    interleaved: await sample(async () => { await commit(); await run() }),
    saveBig: await sample(() => store.save(big)),
    saveSmall: await sample(() => store.save(small)),
    stringify: await sample(async () => JSON.stringify(big)),
    append: await sample(() => audit.append(start)),
    runBytes,
    definitionBytes: Buffer.byteLength(JSON.stringify(big.definition)),
    stepsBytes: Buffer.byteLength(JSON.stringify(big.steps)),
    outputBytes: big.steps.reduce((n, s) => n + s.stdout.length + s.stderr.length, 0)
  }
}
