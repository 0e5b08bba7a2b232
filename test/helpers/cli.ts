// Runs the real `se` command and real node processes for end-to-end tests.
import { execa, type ResultPromise } from 'execa'
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { connectNode, type NodeConnection } from '../../adapters/node/client.js'
import { ended, killTree } from './process-tree.js'
import { defer } from './tmp.js'

export const REPO = path.resolve(import.meta.dirname, '../..')
export const SE_BIN = path.join(REPO, 'adapters', 'node', 'bin', 'se.js')

export interface CliResult { code: number, stdout: string, stderr: string }

export async function tempDir (t: TestContext, prefix = 'se-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  // Last in, first out: a node started on this directory is stopped before it goes.
  defer(t, () => rm(dir, { recursive: true, force: true }))
  return dir
}

export async function se (args: string[], opts: { dataDir: string, cwd?: string, env?: Record<string, string>, input?: string }): Promise<CliResult> {
  const r = await execa(process.execPath, [SE_BIN, '--data-dir', opts.dataDir, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...opts.env, SE_DATA_DIR: opts.dataDir },
    reject: false,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    ...(opts.input === undefined ? {} : { input: opts.input }),
    timeout: 120_000
  })
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr }
}

export function json<T = any> (r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`)
  }
}

export interface JsonError { code: string, message: string, hint?: string, details: Array<{ file?: string, path?: string, line?: number, message: string }> }

/** The error an `se … --json` call printed: JSON on stderr, after any lines said to a person there. */
export function jsonError (r: CliResult): JsonError {
  const start = r.stderr.search(/^\{\n {2}"error"/m)
  if (start < 0) throw new Error(`no JSON error on stderr (exit ${r.code}): ${r.stderr}\nstdout: ${r.stdout}`)
  return (JSON.parse(r.stderr.slice(start)) as { error: JsonError }).error
}

export interface RunningNode {
  proc: ResultPromise
  stderr: () => string
  /** SIGKILL the node and every process it started, as a power cut would. */
  crash (): Promise<void>
  stop (): Promise<number>
}

/** Starts `se node start` in its own process group and waits until it serves its socket. */
export async function startNode (t: TestContext, dataDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<RunningNode> {
  return await startNodeProcess(t, [process.execPath, SE_BIN, 'node', 'start', '--data-dir', dataDir, ...extra], env)
}

/** Any node command line (Node's `se node start`, or the Bare node) that prints `ready on` once it serves its socket. */
export async function startNodeProcess (t: TestContext, commandLine: string[], env: Record<string, string> = {}): Promise<RunningNode> {
  const [file, ...args] = commandLine as [string, ...string[]]
  const proc = execa(file, args, {
    env: { SE_SHUTDOWN_GRACE_SEC: '2', ...env },
    detached: true,
    reject: false,
    stdin: 'ignore'
  })
  let err = ''
  proc.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  // A node that died of a signal prints nothing of it: said here, so a failing test shows which one.
  proc.on('exit', (_code, signal) => { if (signal !== null) err += `\n[test: the process was ended by ${signal}]\n` })
  // Registered before the wait: a node that never gets ready must not outlive the test and hold its file open.
  defer(t, async () => {
    if (ended(proc)) return
    killTree(proc.pid as number)
    await proc
  })
  const started = Date.now()
  while (!err.includes('ready on')) {
    if (ended(proc) || Date.now() - started > 30_000) throw new Error(`node did not start: ${err}`)
    await sleep(50)
  }
  const node: RunningNode = {
    proc,
    stderr: () => err,
    crash: async () => {
      if (!ended(proc)) killTree(proc.pid as number)
      await proc
    },
    stop: async () => {
      proc.kill('SIGTERM')
      const r = await proc
      return r.exitCode ?? -1
    }
  }
  return node
}

export async function withClient<T> (dataDir: string, fn: (c: NodeConnection) => Promise<T>): Promise<T> {
  const c = await connectNode(dataDir)
  try { return await fn(c) } finally { c.close() }
}

export async function waitFor<T> (what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined && v !== false) return v
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** A git repository with a package.json at 1.2.3, committed. */
export async function gitRepo (t: TestContext): Promise<string> {
  const dir = await tempDir(t, 'se-repo-')
  const git = (...args: string[]): Promise<unknown> => execa('git', args, { cwd: dir })
  await git('init', '-q', '-b', 'main')
  await git('config', 'user.email', 'test@example.invalid')
  await git('config', 'user.name', 'SE Test')
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'demo', version: '1.2.3' }, null, 2) + '\n')
  await git('add', '.')
  await git('commit', '-q', '-m', 'initial')
  return dir
}

export async function lines (file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(l => l !== '')
}
