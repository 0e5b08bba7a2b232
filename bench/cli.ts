// Benchmark 11: the wall time of one `se status --json` against a running node, as
// a script or an agent pays it on every call, against `node -e 0` (the floor any
// Node CLI stands on), each the median of runs taken in turn in the same run.
// Also `se --help`, for context: it reaches no node.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { median, ms, now, tempDir, type Result } from './lib.js'

const run = promisify(execFile)
const SE = path.resolve(import.meta.dirname, '..', 'adapters', 'node', 'bin', 'se.js')
const RUNS = 21
const WARMUP = 3
/** Issue 16: `se status --json` within 1.5x of `node -e 0`. */
const STATUS_GOAL = 1.5

async function wall (args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = now()
  await run(process.execPath, args, { env })
  return now() - start
}

export async function benchCli (): Promise<Result[]> {
  const dataDir = await tempDir('cli')
  const env = { ...process.env, SE_DATA_DIR: dataDir }
  await run(process.execPath, [SE, 'node', 'start', '--detach'], { env })
  try {
    const commands = { floor: ['-e', '0'], status: [SE, 'status', '--json'], help: [SE, '--help'] }
    const times: Record<keyof typeof commands, number[]> = { floor: [], status: [], help: [] }
    for (let i = 0; i < WARMUP + RUNS; i++) {
      // In turn, so a busy moment of the machine falls on all three alike.
      for (const [name, args] of Object.entries(commands) as Array<[keyof typeof commands, string[]]>) {
        const t = await wall(args, env)
        if (i >= WARMUP) times[name].push(t)
      }
    }
    const floor = median(times.floor)
    const status = median(times.status)
    const help = median(times.help)
    return [
      { name: 'se status --json', subject: `${ms(status)} ms`, baseline: `${ms(floor)} ms node -e 0`, ratio: status / floor, goal: { kind: 'lt', limit: STATUS_GOAL }, note: `median of ${RUNS} runs each, against a running node` },
      { name: 'se --help', subject: `${ms(help)} ms`, baseline: `${ms(floor)} ms node -e 0`, ratio: help / floor, goal: null }
    ]
  } finally {
    await run(process.execPath, [SE, 'node', 'stop'], { env }).catch(() => {})
  }
}
