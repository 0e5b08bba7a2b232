// `se execute`: check the workflow here, start it on the node, and with --wait
// follow it to the end, answering interventions at the terminal when there is one.
import readline from 'node:readline/promises'
import { EXIT_CODES, SeError } from '../../../core/errors.js'
import type { NodeApi, WorkflowEvent, WorkflowStatus } from '../../../core/protocol/types.js'
import { parseKeyValues } from '../../../core/config/key-values.js'
import { connectNode } from '../client.js'
import type { CliIO } from './context.js'
import { workflowRequest } from './requests.js'
import { renderEvent, renderStatus, shortNode } from './render.js'

/** `quiet` (-q): the workflow id alone on stdout, with --wait too, and no progress on stderr. */
export interface ExecuteOptions { inputs: string[], wait: boolean, block: boolean, json: boolean, quiet: boolean }

export function exitCodeOf (status: WorkflowStatus): number {
  switch (status.state) {
    case 'completed': return EXIT_CODES.OK
    case 'waiting_intervention': return EXIT_CODES.WAITING
    case 'failed':
    case 'cancelled': return EXIT_CODES.FAILED
    default: return EXIT_CODES.OK
  }
}

export async function executeCommand (io: CliIO, dataDir: string, workflow: string, opts: ExecuteOptions): Promise<number> {
  const request = await workflowRequest(workflow, parseKeyValues(opts.inputs, '--input'), process.cwd())
  let api: NodeApi
  let close: () => Promise<void>
  const conn = await connectNode(dataDir, { onWait: io.err }).catch(async err => {
    if (!(err instanceof SeError) || err.code !== 'NO_NODE') throw err
    return null
  })
  if (conn !== null) {
    api = conn.api
    close = async () => conn.close()
  } else {
    // Nothing would carry the workflow on once this call returns, so it waits for the end.
    const { startEmbeddedNode } = await import('./embedded-node.js')
    const embedded = await startEmbeddedNode(io, dataDir).catch(err => {
      // A node took the data dir since we looked (a restart): use it, never a second one beside it.
      if (err instanceof SeError && err.code === 'NODE_RUNNING') return null
      throw err
    })
    if (embedded === null) {
      const late = await connectNode(dataDir, { onWait: io.err })
      api = late.api
      close = async () => late.close()
    } else {
      if (!opts.json && !opts.quiet) io.err(`no node running at ${dataDir}: running an embedded node for this call${opts.wait ? '' : ', until the workflow ends'}`)
      opts = { ...opts, wait: true }
      api = embedded.node.node
      close = () => embedded.close()
    }
  }
  try {
    const started = await api.executeWorkflow(request)
    if (!opts.wait) {
      if (opts.json) io.out(JSON.stringify(started, null, 2))
      else io.out(started.id)
      return EXIT_CODES.OK
    }
    const final = await follow(io, api, started, opts)
    if (opts.json) io.out(JSON.stringify(final, null, 2))
    else if (opts.quiet) io.out(final.id)
    else io.out(renderStatus(final))
    return exitCodeOf(final)
  } finally {
    await close()
  }
}

async function follow (io: CliIO, api: NodeApi, started: WorkflowStatus, opts: ExecuteOptions): Promise<WorkflowStatus> {
  if (!opts.json && !opts.quiet) io.err(`▶ ${started.name} ${started.id} on ${shortNode(started.node)}`)
  const asker = !opts.json && opts.block && io.isTTY && process.stdin.isTTY ? new InterventionAsker(io, api, started.id) : null
  try {
    return await api.watchWorkflow(started.id, (event: WorkflowEvent) => {
      if (!opts.json && !opts.quiet && !(event.kind === 'WORKFLOW' && event.state === 'running')) {
        const line = renderEvent(event)
        if (line !== null) io.err(line)
      }
      if (event.kind === 'INTERVENTION') {
        if (!opts.block) return false
        if (asker !== null) void asker.ask()
        else if (!opts.json) io.err(`    waiting: answer from another terminal with \`se approve ${started.id} --choice C\``)
      } else {
        asker?.dismiss()
      }
      return true
    })
  } catch (err) {
    if (err instanceof SeError && err.code === 'CANCELLED') return await api.getWorkflowStatus(started.id)
    throw err
  } finally {
    asker?.dismiss()
  }
}

// Asks at the terminal; an answer given elsewhere (se approve, the dashboard) dismisses the question.
class InterventionAsker {
  private pending: AbortController | null = null

  constructor (private readonly io: CliIO, private readonly api: NodeApi, private readonly id: string) {}

  async ask (): Promise<void> {
    this.dismiss()
    const status = await this.api.getWorkflowStatus(this.id)
    const intervention = status.intervention
    if (intervention === null) return
    const controller = new AbortController()
    this.pending = controller
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
    try {
      while (!controller.signal.aborted) {
        const answer = (await rl.question(`    choose ${intervention.choices.join('/')} (or wait for another terminal): `, { signal: controller.signal })).trim()
        if (answer === '') continue
        const [choice, ...comment] = answer.split(' ')
        if (choice === undefined || !intervention.choices.includes(choice)) { this.io.err(`    '${choice ?? ''}' is not one of ${intervention.choices.join(', ')}`); continue }
        const said = comment.length > 0 ? comment.join(' ') : null
        // Signed with the person's key when there is one, as se approve does.
        const signed = (await (await import('./key.js')).personSigner())?.(status.id, intervention.stepId, choice, said) ?? null
        await this.api.resumeWorkflow(this.id, { choice, comment: said, decidedBy: signed?.decision.name ?? process.env.USER ?? '', stepId: intervention.stepId, signed })
        return
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') this.io.err(`    ${(err as Error).message}`)
    } finally {
      rl.close()
      if (this.pending === controller) this.pending = null
    }
  }

  dismiss (): void {
    this.pending?.abort()
    this.pending = null
  }
}
