// What a line typed into a session does, decided on the node that holds it: a
// builtin (cd, pwd, history), an SE verb answered from the node's own API, or a
// command run without a shell in the session's directory.
import { parseKeyValues } from '../config/key-values.js'
import { SeError, toSeError } from '../errors.js'
import { resolve } from '../paths.js'
import type { Command, ExecutionResult, NodeApi, WorkflowStatus } from '../protocol/types.js'
import { LineBuffer } from './line-buffer.js'
import { splitLine } from './split-line.js'

export interface CommandIo {
  /** Output as the command prints it, so a long command is watched while it runs. */
  onOutput (stream: 'stdout' | 'stderr', text: string): void
  /** Once it runs: how to stop it, should the session close or the node stop first. */
  onStart (kill: () => void): void
}

export interface LineHost {
  api: NodeApi
  /** Runs a command the way `execute` does (the node's allowlist applies), recording nothing. */
  runCommand (command: Command, io?: CommandIo): Promise<ExecutionResult>
  isDirectory (path: string): Promise<boolean>
  readText (path: string): Promise<string | null>
}

export interface LineContext {
  sessionId: string
  owner: string
  cwd: string
  /** Where the session started: `cd` alone and `~` go there. */
  home: string
  history: string[]
  emit (stream: 'stdout' | 'stderr' | 'info', text: string): void
  /** A command started: the way to stop it. */
  started? (kill: () => void): void
}

export type LineOutcome = { cwd?: string, close?: true }

export const SESSION_HELP = [
  'commands run on the node that holds this session:',
  '  nodes | status [ID] | catalogue | workloads',
  '  execute WORKFLOW [-i KEY=VALUE]...   (a catalogue name, or a .yaml/.json file)',
  '  approve ID [--choice C] [--comment TEXT] | reject ID [--comment TEXT] | cancel ID',
  '  cd DIR | pwd | history | help',
  '  exit        close the session',
  '  detach      leave it running (or Ctrl-D); `se session attach ID` comes back',
  '  anything else runs as a command, without a shell (SE_EXECUTE_ALLOW applies):',
  '              no $VARS, globs or pipes; for those: sh -c \'...\''
].join('\n')

export async function runLine (line: string, ctx: LineContext, host: LineHost): Promise<LineOutcome> {
  try {
    const [verb, ...args] = splitLine(line)
    if (verb === undefined) return {}
    switch (verb) {
      case 'help': ctx.emit('info', SESSION_HELP); return {}
      case 'exit': case 'quit': case 'close': return { close: true }
      case 'pwd': ctx.emit('stdout', ctx.cwd); return {}
      case 'history': ctx.emit('stdout', ctx.history.map((h, i) => `${String(i + 1).padStart(4)}  ${h}`).join('\n')); return {}
      case 'cd': {
        const target = args[0] ?? '~'
        const dir = resolve(ctx.cwd, target === '~' || target.startsWith('~/') ? ctx.home + target.slice(1) : target)
        if (!await host.isDirectory(dir)) throw SeError.badInput(`cd: ${dir} is not a directory on this node`)
        return { cwd: dir }
      }
      case 'nodes': {
        const nodes = await host.api.listNodes()
        ctx.emit('stdout', nodes.map(n => `${n.name.padEnd(16)} ${n.state.padEnd(8)} ${n.nodeId.slice(0, 12)}${n.self ? '  (this node)' : ''}`).join('\n'))
        return {}
      }
      case 'status': {
        if (args[0] !== undefined) { ctx.emit('stdout', statusText(await host.api.getWorkflowStatus(args[0]))); return {} }
        const list = await host.api.listWorkflows([])
        ctx.emit('stdout', list.length === 0 ? 'no workflows' : list.map(w => `${w.id}  ${w.name.padEnd(20)} ${w.state}`).join('\n'))
        return {}
      }
      case 'catalogue': {
        ctx.emit('stdout', (await host.api.listCatalogue()).map(c => `${c.name.padEnd(24)} ${c.description}`).join('\n'))
        return {}
      }
      case 'workloads': {
        const list = await host.api.listWorkloads()
        ctx.emit('stdout', list.length === 0 ? 'no workloads' : list.map(w => `${w.id}  ${w.name.padEnd(16)} ${w.state}`).join('\n'))
        return {}
      }
      case 'execute': {
        const { positional, options } = flags(args, { i: 'input', input: 'input' })
        const source = positional[0]
        if (source === undefined) throw SeError.badInput('execute: which workflow? e.g. execute VERSION_TRANSITION -i repo=.')
        const inputs = parseKeyValues(options.input ?? [], 'execute: input')
        let definition: string | null = null
        if (/\.(ya?ml|json)$/i.test(source)) {
          definition = await host.readText(resolve(ctx.cwd, source))
          if (definition === null) throw SeError.badInput(`execute: no file ${resolve(ctx.cwd, source)} on this node`)
        }
        const s = await host.api.executeWorkflow({ definition, source, inputs, workdir: ctx.cwd, requestedBy: `${ctx.owner} via session ${ctx.sessionId}` })
        ctx.emit('info', `started ${s.id} (${s.name}): ${s.state}; follow it with \`status ${s.id}\``)
        return {}
      }
      case 'approve': case 'reject': case 'cancel': {
        const { positional, options } = flags(args, { choice: 'choice', comment: 'comment' })
        const id = positional[0]
        if (id === undefined) throw SeError.badInput(`${verb}: which workflow id?`)
        const comment = options.comment?.[0] ?? null
        const s = verb === 'cancel'
          ? await host.api.cancelWorkflow(id, comment ?? `cancelled by ${ctx.owner} in session ${ctx.sessionId}`, null)
          : await host.api.resumeWorkflow(id, { choice: options.choice?.[0] ?? verb, comment, decidedBy: `${ctx.owner} in session ${ctx.sessionId}`, stepId: '', signed: null })
        ctx.emit('info', `${s.id}: ${s.state}`)
        return {}
      }
      default: {
        const buffers = { stdout: new LineBuffer(), stderr: new LineBuffer() }
        const streamed = { stdout: false, stderr: false }
        const r = await host.runCommand({ command: verb, args, workdir: ctx.cwd, sessionId: ctx.sessionId, env: {}, timeoutMs: null }, {
          onOutput: (stream, text) => {
            streamed[stream] = true
            const lines = buffers[stream].push(text)
            if (lines !== null) ctx.emit(stream, lines)
          },
          onStart: kill => ctx.started?.(kill)
        })
        for (const stream of ['stdout', 'stderr'] as const) {
          // A runner that does not stream (or a command that never started) leaves it all in the result.
          const rest = streamed[stream] ? buffers[stream].flush() : r[stream].replace(/\n$/, '')
          if (rest !== null && rest !== '') ctx.emit(stream, rest)
        }
        if (r.exitCode !== 0) ctx.emit('info', `(exit ${r.exitCode})`)
        return {}
      }
    }
  } catch (err) {
    const e = toSeError(err)
    ctx.emit('stderr', `${e.code}: ${e.reason}${e.hint === undefined ? '' : `\n  ${e.hint}`}`)
    return {}
  }
}

function statusText (s: WorkflowStatus): string {
  const lines = [`${s.id}  ${s.name}  ${s.state}${s.error === null ? '' : `: ${s.error}`}`]
  for (const step of s.steps) lines.push(`  ${step.id.padEnd(16)} ${step.state}${step.exitCode === null ? '' : ` (exit ${step.exitCode})`}`)
  if (s.intervention !== null) lines.push(`  waiting: ${s.intervention.prompt} [${s.intervention.choices.join('/')}]`)
  return lines.join('\n')
}

/** `--name value`, `-n value` and `--name=value`; the rest is positional. */
function flags (args: string[], names: Record<string, string>): { positional: string[], options: Record<string, string[]> } {
  const positional: string[] = []
  const options: Record<string, string[]> = {}
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    const m = /^--?([a-z]+)(?:=(.*))?$/.exec(a)
    const key = m === null ? undefined : names[m[1] as string]
    if (m === null || key === undefined) { positional.push(a); continue }
    const value = m[2] ?? args[++i]
    if (value === undefined) throw SeError.badInput(`${a} needs a value`)
    ;(options[key] ??= []).push(value)
  }
  return { positional, options }
}
