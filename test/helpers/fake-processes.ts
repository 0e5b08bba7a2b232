// A scripted ProcessRunner for the engine's logic tests: it records every spec it
// is asked to run and answers with results the test scripts, or holds a process
// "running" until the test finishes it or the engine kills it.
import type { ProcessHandle, ProcessResult, ProcessRunner, ProcessSpec } from '../../core/ports.js'

export type Outcome =
  | Partial<ProcessResult>
  /** Never finishes by itself: finish it with FakeProcess.finish, or kill it. */
  | 'hang'

export type Script = (spec: ProcessSpec, call: number) => Outcome

export interface FakeProcess {
  readonly spec: ProcessSpec
  /** Signals the engine sent, in order. */
  readonly kills: string[]
  readonly finished: boolean
  readonly result: Promise<ProcessResult>
  finish (result?: Partial<ProcessResult>): void
  /** Sends output as the real runner would while the process runs. */
  output (stream: 'stdout' | 'stderr', text: string): void
}

export function ok (stdout = '', extra: Partial<ProcessResult> = {}): Partial<ProcessResult> {
  return { exitCode: 0, stdout, ...extra }
}

export function fail (exitCode = 1, stderr = 'it broke'): Partial<ProcessResult> {
  return { exitCode, stderr }
}

function complete (r: Partial<ProcessResult>): ProcessResult {
  return { exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 5, timedOut: false, spawnError: null, ...r }
}

export class FakeProcessRunner implements ProcessRunner {
  readonly calls: FakeProcess[] = []
  private readonly byCommand = new Map<string, Outcome[]>()
  private waiters: Array<() => void> = []

  /** By default every command succeeds with empty output; `script` decides otherwise. */
  constructor (private script: Script = () => ({})) {}

  /** Scripts the next results of one command, in order; after they run out it falls back to the script. */
  on (command: string, ...outcomes: Outcome[]): this {
    this.byCommand.set(command, [...(this.byCommand.get(command) ?? []), ...outcomes])
    return this
  }

  setScript (script: Script): void { this.script = script }

  /** The specs run so far, for asserting on commands and expanded arguments. */
  get specs (): ProcessSpec[] { return this.calls.map(c => c.spec) }

  commands (): string[] { return this.calls.map(c => [c.spec.command, ...c.spec.args].join(' ')) }

  /** Resolves once `n` processes have been started. */
  async waitForCalls (n: number, timeoutMs = 5000): Promise<FakeProcess> {
    const deadline = Date.now() + timeoutMs
    while (this.calls.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} process runs, got ${this.calls.length}: ${this.commands().join('; ')}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, 20)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return this.calls[n - 1] as FakeProcess
  }

  run (spec: ProcessSpec, onOutput?: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle {
    const index = this.calls.length
    const queued = this.byCommand.get(spec.command)
    const outcome = queued !== undefined && queued.length > 0 ? queued.shift() as Outcome : this.script(spec, index)
    let settle!: (r: ProcessResult) => void
    const result = new Promise<ProcessResult>(resolve => { settle = resolve })
    const kills: string[] = []
    let finished = false
    const fake: FakeProcess = {
      spec: structuredClone(spec),
      kills,
      get finished () { return finished },
      result,
      finish: (r = {}) => {
        if (finished) return
        finished = true
        settle(complete(r))
      },
      output: (stream, text) => onOutput?.(stream, text)
    }
    this.calls.push(fake)
    for (const w of this.waiters.splice(0)) w()
    if (outcome !== 'hang') {
      // Finish on a later turn, as a real process would.
      setImmediate(() => fake.finish(outcome))
    }
    return {
      result,
      kill: (signal = 'SIGTERM') => {
        kills.push(signal)
        // A killed process ends with that signal.
        setImmediate(() => fake.finish({ exitCode: null, signal, stderr: '' }))
      }
    }
  }
}
