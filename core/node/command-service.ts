// Commands run on request (`se run`, a session's lines, batches): held to the
// node's allowlist, marked as the node's own processes, and audited.
import { SeError } from '../errors.js'
import type { ProcessRunner, ProcessSpec } from '../ports.js'
import type { AuditLog } from '../audit/log.js'
import type { BatchJob, BatchResult, Command, ExecutionResult } from '../protocol/types.js'
import type { CommandIo } from '../session/line-interpreter.js'
import type { SessionManager } from '../session/session-manager.js'

export interface CommandServiceOptions {
  nodeId: string
  dataDir: string
  /** Commands that may run; null lets the local owner run anything. */
  allow: string[] | null
  processes: ProcessRunner
  audit: AuditLog
  /** The sessions a command may be sent into (made after this service: they run their lines through it). */
  sessions: () => SessionManager | null
}

export class CommandService {
  constructor (private readonly o: CommandServiceOptions) {}

  async execute (command: Command): Promise<ExecutionResult> {
    const sessionId = command.sessionId
    const sessions = this.o.sessions()
    if (sessionId === null || sessions === null || !sessions.has(sessionId)) return await this.run(command)
    // A command sent into a session runs where the session stands and shows in its output.
    const result = await this.run({ ...command, workdir: command.workdir ?? sessions.cwdOf(sessionId) })
    sessions.record(sessionId, [command.command, ...command.args].join(' '), result)
    return result
  }

  async executeBatch (job: BatchJob): Promise<BatchResult> {
    const results: ExecutionResult[] = []
    for (const command of job.commands) {
      const result = await this.execute({ ...command, sessionId: command.sessionId ?? job.sessionId })
      results.push(result)
      if (result.exitCode !== 0 && job.stopOnError) return { results, completed: false }
    }
    return { results, completed: true }
  }

  /** With `io` (a session line), output streams while the command runs and the command can be stopped with its children. */
  async run (command: Command, io?: CommandIo): Promise<ExecutionResult> {
    const { allow, audit } = this.o
    if (allow !== null && !allow.includes(command.command)) {
      await audit.append({ event: 'rpc_refused', message: `execute of '${command.command}' refused: not on the allowlist`, domains: ['engine'] })
      throw SeError.commandNotAllowed(command.command, allow)
    }
    const cwd = command.workdir ?? this.o.dataDir
    const spec: ProcessSpec = {
      command: command.command,
      args: command.args,
      cwd,
      // Marked as ours, as steps are, so a restart after a crash can find what outlived it.
      env: { ...command.env, SE_NODE_ID: this.o.nodeId },
      ...(io === undefined ? {} : { processGroup: true })
    }
    if (command.timeoutMs !== null) spec.timeoutMs = command.timeoutMs
    const handle = this.o.processes.run(spec, io?.onOutput)
    io?.onStart(() => { handle.kill() })
    const result = await handle.result
    await audit.append({
      event: 'command_execute',
      message: `${[command.command, ...command.args].join(' ')} → ${result.spawnError ?? `exit ${result.exitCode ?? result.signal ?? '?'}`}`,
      domains: ['engine'],
      files: [cwd],
      performanceMetrics: { durationMs: result.durationMs }
    })
    return {
      exitCode: result.exitCode ?? (result.spawnError !== null ? 127 : 128),
      stdout: result.stdout,
      stderr: result.spawnError ?? result.stderr,
      duration: result.durationMs,
      sessionId: command.sessionId
    }
  }
}
