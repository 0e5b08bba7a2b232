// Every `se` command, built once per invocation (and once per line in `se shell`).
import path from 'node:path'
import { Command } from 'commander'
import { EXIT_CODES, SeError } from '../../../core/errors.js'
import { VERSION } from '../../../core/constants.js'
import type { NodeApi, WorkflowAuditSummary, WorkflowStatus } from '../../../core/protocol/types.js'
import { catalogueDirs } from '../config.js'
import { connectNode } from '../client.js'
import { renderArtifacts, renderCapabilities, renderList, renderStatus, seconds, shortNode, table } from './render.js'
import { formatBytes } from '../../../core/workload/quantity.js'
import { DATA_DIR_FLAG } from '../../shared/node-start-flags.js'
import { addFlagOption, addNodeStartCommand } from './node-start.js'
import { addWorkloadCommands } from './workloads.js'
import { addNodesCommand } from './nodes.js'
import { addKeyCommands } from './key.js'
import { addPolicyCommands } from './policy.js'
import { addSessionCommands } from './session.js'
import { addImageCommands } from './image.js'
import { addProtocolCommands } from './protocol.js'
import { askAndPrint, collect, dataDirOf, json, print, readText, sayWaiting, withNode, type CliIO, type CliState } from './context.js'
import { wholeNumber } from './flags.js'
import { addHelpCommands, addQuietOptions, GLOBAL_HELP } from './help.js'
import { approvalsLine } from '../../../core/workflow/approvals.js'

export function createProgram (io: CliIO, state: CliState): Command {
  const program = new Command('se')
    .description('SE Mesh: run development workflows on this machine and its peers')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: s => io.out(s.replace(/\n$/, '')), writeErr: s => io.err(s.replace(/\n$/, '')) })
    .exitOverride()
  // Every command reaches (or, for `node start`, is) the node on this data dir.
  addFlagOption(program, DATA_DIR_FLAG)

  addNodeStartCommand(program, io, state)

  program.command('bootstrap')
    .description('run a DHT bootstrap node for a private or offline mesh, until SIGTERM or SIGINT')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'UDP port (0 picks a free one)', wholeNumber('--port', { min: 0, max: 65535 }), 49737)
    .addHelpText('after', '\nExample:\n  se bootstrap --host 127.0.0.1 --port 49737\n  se node start --mesh team --bootstrap 127.0.0.1:49737')
    .action(async (opts: { host: string, port: number }) => {
      const { runBootstrap } = await import('./bootstrap.js')
      state.daemon = runBootstrap(opts.host, opts.port, io)
      await state.daemon
    })

  addNodesCommand(program, io)

  program.command('providers')
    .description('find the nodes that announce a workflow or workload manifest on the DHT')
    .argument('<id>', 'a workflow name (as in `se catalogue`) or a manifest name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se providers VERSION_TRANSITION')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const providers = await askAndPrint(io, cmd, opts, async api => await api.findProviders(id), found =>
        found.length === 0 ? `no node provides ${id}` : table(['NODE', 'KEY', 'STATE'], found.map(p => [p.name ?? '?', p.nodeId.slice(0, 16), p.state])))
      state.exitCode = providers.length === 0 ? EXIT_CODES.FAILED : EXIT_CODES.OK
    })

  program.command('artifacts')
    .description('list what the steps of a workflow published (name, step, nodes holding it, size, hash), or fetch one with `get`')
    .argument('<workflow-id>', 'the workflow (or `get`, then WORKFLOW_ID NAME DIR)')
    .argument('[more...]', 'for get: the workflow, the artifact (NAME or STEP.NAME) and the directory to put it in')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se artifacts wf-m3k2\n  se artifacts get wf-m3k2 dist ./out        # ./out/dist/, verified against its hash\n  se artifacts get wf-m3k2 "test[shard=1].report" .')
    .action(async (first: string, more: string[], opts: { json?: boolean }, cmd: Command) => {
      if (first !== 'get') {
        if (more.length > 0) throw SeError.badInput(`se artifacts takes one workflow id (or: se artifacts get WORKFLOW_ID NAME DIR), got ${more.length + 1} arguments`)
        await askAndPrint(io, cmd, opts, async api => await api.listArtifacts(first), renderArtifacts)
        return
      }
      const [id, name, dir] = more
      if (id === undefined || name === undefined || dir === undefined || more.length > 3) throw SeError.badInput('usage: se artifacts get WORKFLOW_ID NAME DIR')
      const target = path.resolve(dir)
      await askAndPrint(io, cmd, opts, async api => await api.getArtifact(id, name, target), a => `${a.name} (sha256:${a.hash}, ${formatBytes(a.size)}, ${a.files} file${a.files === 1 ? '' : 's'}) → ${path.join(target, a.path)}`)
    })

  program.command('execute')
    .description('start a workflow from a file or the catalogue')
    .argument('<workflow>', 'a workflow file (YAML or JSON) or a catalogue name')
    .option('-i, --input <key=value>', 'set an input (repeatable)', collect)
    .option('-w, --wait', 'follow progress until the workflow finishes (runs an embedded node if none is running)')
    .option('--no-block', 'with --wait: exit 3 as soon as the workflow waits for an intervention')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se execute VERSION_TRANSITION --input repo=. --wait\n  se execute ./release.yaml -i level=minor --json')
    .action(async (workflow: string, opts: { input?: string[], wait?: boolean, block: boolean, json?: boolean, quiet?: boolean }, cmd: Command) => {
      const { executeCommand } = await import('./execute.js')
      state.exitCode = await executeCommand(io, dataDirOf(cmd), workflow, {
        inputs: opts.input ?? [], wait: opts.wait === true, block: opts.block, json: opts.json === true, quiet: opts.quiet === true
      })
    })

  program.command('status')
    .description('show one workflow, or list them all')
    .argument('[id]', 'workflow id (a unique prefix will do)')
    .option('--state <state>', 'list only workflows in this state (repeatable)', collect)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se status\n  se status wf-m3k2 --json')
    .action(async (id: string | undefined, opts: { state?: string[], json?: boolean }, cmd: Command) => {
      if (id !== undefined) await askAndPrint(io, cmd, opts, async api => await api.getWorkflowStatus(id), renderStatus)
      else await askAndPrint(io, cmd, opts, async api => await api.listWorkflows(opts.state ?? []), list => renderList(list, Date.now()))
    })

  const decide = (name: string, description: string, defaultChoice: string | null): void => {
    const c = program.command(name)
      .description(description)
      .argument('<id>', 'workflow id (a unique prefix will do)')
      .option('--comment <text>', 'why, for the audit trail')
      .option('--json', 'print JSON')
    if (defaultChoice === null) c.option('--choice <choice>', 'which of the offered choices (default: approve)')
    c.option('--step <id>', 'the step whose question to answer, when several branches wait (default: the first)')
    c.addHelpText('after', `\nExample:\n  se ${name} wf-m3k2${defaultChoice === null ? ' --choice retry' : ''} --comment "looks right"`)
    c.action(async (id: string, opts: { choice?: string, comment?: string, step?: string, json?: boolean }, cmd: Command) => {
      await withNode(cmd, async api => {
        let choice = opts.choice ?? defaultChoice ?? 'approve'
        // Members take only exact ids: a prefix is settled here first.
        let exact = id
        if (defaultChoice === 'reject') {
          // A failed step offers retry/skip/abort: rejecting it means abort.
          // A workflow another mesh member holds is not known here; its question is in the mesh's list.
          const current = await api.getWorkflowStatus(id).catch(async (err: unknown) => {
            // A unique prefix will do here too, as for se approve.
            const held = (await api.listInterventions()).filter(w => w.id.startsWith(id))
            if (held.length !== 1) throw err
            return held[0] as WorkflowStatus
          })
          exact = current.id
          const asked = current.interventions.find(i => i.stepId === opts.step) ?? current.intervention
          if (asked !== null && !asked.choices.includes('reject') && asked.choices.includes('abort')) choice = 'abort'
        }
        // With a person key (se key new) the decision is signed here, for the exact workflow and step it answers.
        const { signedDecision } = await import('./key.js')
        const signed = await signedDecision(api, exact, opts.step ?? '', choice, opts.comment ?? null)
        const target = signed === null ? { id: exact, stepId: opts.step ?? '' } : { id: signed.decision.workflowId, stepId: signed.decision.stepId }
        print(io, opts, await api.resumeWorkflow(target.id, { choice, comment: opts.comment ?? null, decidedBy: signed?.decision.name ?? process.env.USER ?? '', stepId: target.stepId, signed }), s => {
          // Counted toward a quorum, it keeps waiting: say how far it has come.
          const still = s.interventions.find(i => i.stepId === target.stepId) ?? (target.stepId === '' ? s.intervention : null)
          const approvals = still === null || still === undefined ? null : approvalsLine(still)
          return `${s.id}: ${choice} → ${s.state}${signed === null ? '' : ` (signed as person:${signed.decision.person.slice(0, 12)})`}${approvals === null ? '' : `\n  ${approvals}`}`
        })
      })
    })
  }
  decide('approve', 'answer a waiting intervention (approve, or --choice C)', null)
  decide('reject', 'reject a waiting intervention (abort, for a failed step)', 'reject')

  program.command('cancel')
    .description('cancel a workflow; a running step is stopped')
    .argument('<id>', 'workflow id')
    .option('--reason <text>', 'why, for the audit trail (default: cancelled by $USER)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se cancel wf-m3k2 --reason "wrong branch"')
    .action(async (id: string, opts: { reason?: string, json?: boolean }, cmd: Command) => {
      await withNode(cmd, async api => {
        // With a person key the cancel is signed here, for the exact workflow, and the trail names the person.
        const sign = await (await import('./key.js')).personSigner()
        const exact = sign === null ? id : (await api.getWorkflowStatus(id)).id
        // Unsigned, the reason at least names the OS user, as an unsigned answer does.
        const reason = opts.reason ?? `cancelled by ${process.env.USER ?? 'user'}`
        const signed = sign?.(exact, '', 'cancel', reason) ?? null
        print(io, opts, await api.cancelWorkflow(exact, reason, signed), s => `${s.id}: ${s.state}${signed === null ? '' : ` (signed as person:${signed.decision.person.slice(0, 12)})`}`)
      })
    })

  program.command('audit')
    .description('print, filter, summarise or verify the audit trail (works with the node stopped)')
    .option('--workflow <id>', 'only entries of this workflow (a unique prefix will do)')
    .option('--limit <n>', 'only the newest n entries', wholeNumber('--limit'))
    .option('--verify', 'check every entry against its hash chain and signature; exit 1 on any problem')
    .option('--summary', 'per workflow: steps, failures, interventions, durations, nodes')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se audit --workflow wf-m3k2\n  se audit --verify\n  se audit --summary --json')
    .action(async (opts: { workflow?: string, limit?: number, verify?: boolean, summary?: boolean, json?: boolean }, cmd: Command) => {
      const audit = await openAudit(cmd)
      try {
        if (opts.workflow !== undefined) {
          const id = await workflowInAudit(audit, opts.workflow)
          if (id === null) {
            io.err(`no workflow in the audit trail starts with '${opts.workflow}' (list them with \`se audit --summary\`)`)
            if (opts.json === true) json(io, [])
            state.exitCode = EXIT_CODES.FAILED
            return
          }
          opts.workflow = id
        }
        if (opts.verify === true) {
          const v = await audit.verifyAudit()
          print(io, opts, v, v => v.ok
            ? `audit trail intact: ${v.entries} entries, hash chain and signatures verified`
            : [`audit trail TAMPERED: ${v.problems.length} problem(s) in ${v.entries} entries`, ...v.problems.map(p => `  ${p.kind}: ${p.message}`)].join('\n'))
          state.exitCode = v.ok ? EXIT_CODES.OK : EXIT_CODES.FAILED
          return
        }
        if (opts.summary === true) {
          print(io, opts, await audit.getDistributedAuditSummary(opts.workflow ?? null), renderAuditSummary)
          return
        }
        const { formatAuditLine } = await import('../../../core/audit/format.js')
        print(io, opts, await audit.readAudit({ workflowId: opts.workflow ?? null, fromSeq: 0, limit: opts.limit ?? 1_000_000 }), records => records.map(formatAuditLine).join('\n'))
      } finally {
        audit.close()
      }
    })

  program.command('capabilities')
    .description("show what this node offers: engines, tools, credentials, CPUs, memory")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se capabilities --json')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await askAndPrint(io, cmd, opts, async api => await api.getCapabilities(), renderCapabilities)
    })

  program.command('catalogue')
    .description('list the workflows that can be started by name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se catalogue')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      // Loaded on use: the schema and YAML libraries cost more start-up time than most commands need.
      const { Catalogue } = await import('../../../core/node/catalogue.js')
      const { NodeFileSystem } = await import('../fs.js')
      print(io, opts, await new Catalogue(new NodeFileSystem(), catalogueDirs(dataDirOf(cmd))).list(), entries => table(['NAME', 'INPUTS', 'DESCRIPTION'], entries.map(e => [e.name, e.inputs.join(','), e.description])))
    })

  program.command('validate')
    .description('check workflow files without running them')
    .argument('<files...>', 'workflow files')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se validate examples/workflows/*.yaml')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const { parseWorkflow } = await import('../../../core/workflow/validate.js')
      const { missingCommands } = await import('./path-check.js')
      const results: Array<{ file: string, ok: boolean, name?: string, error?: SeError }> = []
      for (const file of files) {
        try {
          const def = parseWorkflow(await readText(file), file)
          const missing = await missingCommands(def)
          if (missing.length > 0) throw SeError.commandNotFound(file, missing)
          results.push({ file, ok: true, name: def.name })
        } catch (err) {
          if (!(err instanceof SeError)) throw err
          results.push({ file, ok: false, error: err })
        }
      }
      const bad = results.filter(r => !r.ok)
      if (opts.json === true) json(io, results.map(r => r.ok ? { file: r.file, ok: true, name: r.name } : { file: r.file, ok: false, code: r.error?.code, details: r.error?.details }))
      else {
        for (const r of results) {
          if (r.ok) io.out(`ok  ${r.file} (${r.name ?? ''})`)
          else io.err([`invalid  ${r.file}${r.error?.details.length === 0 ? `: ${r.error.reason}` : ''}`, ...(r.error?.details ?? []).map(d => `  ${d.file ?? ''}${d.line === undefined ? '' : `:${d.line}`} ${d.path ?? ''}: ${d.message}`)].join('\n'))
        }
      }
      state.exitCode = bad.length > 0 ? EXIT_CODES.USAGE : EXIT_CODES.OK
    })

  addWorkloadCommands(program, io, state)
  addKeyCommands(program, io)
  addPolicyCommands(program, io, state)
  addSessionCommands(program, io, state)
  addProtocolCommands(program, io, state)
  addImageCommands(program, io, state)
  addHelpCommands(program, io, state)

  program.command('dashboard')
    .description('the full-screen view: nodes, workloads, workflows, graphs, audit; answer interventions with one key')
    .option('--demo', 'with no node running: also start two local demo nodes and a workflow that is routed and asks for approval')
    .option('--readonly', 'look only: every action is off')
    .option('--refresh-ms <ms>', 'how often to refresh', wholeNumber('--refresh-ms', { min: 100 }), 1000)
    .option('--ascii', 'draw with ASCII only (also SE_ASCII=1); chosen by itself when TERM or the locale cannot show Unicode')
    .addHelpText('after', '\nKeys: tab/arrows move, / filter, : command, ? help, l logs/output, d details, x run, a approve, r reject (asks y/n), ctrl-d cancel/remove (asks y/n), q quit.\nExamples:\n  se dashboard\n  se dashboard --demo        # what npm start runs\n  se dashboard --readonly --refresh-ms 2000\n  ssh -t host se dashboard --ascii')
    .action(async (opts: { demo?: boolean, readonly?: boolean, refreshMs: number, ascii?: boolean }, cmd: Command) => {
      const { runDashboard } = await import('./dashboard.js')
      state.exitCode = await runDashboard(io, dataDirOf(cmd), { demo: opts.demo === true, readonly: opts.readonly === true, refreshMs: opts.refreshMs, ascii: opts.ascii === true })
    })

  program.command('shell')
    .description('an interactive se> prompt with the same commands, history and completion')
    .addHelpText('after', '\nExample:\n  se shell\n  se> execute VERSION_TRANSITION --input repo=. --wait')
    .action((_opts: unknown, cmd: Command) => {
      state.shell = { dataDir: dataDirOf(cmd) }
    })

  addQuietOptions(program)
  program.addHelpText('after', GLOBAL_HELP)
  return program
}

type AuditAccess = Pick<NodeApi, 'readAudit' | 'verifyAudit' | 'getDistributedAuditSummary'> & { close (): void }

// The trail is plain files: with no node running it is read straight from the data dir.
async function openAudit (cmd: Command): Promise<AuditAccess> {
  try {
    const conn = await connectNode(dataDirOf(cmd), { onWait: sayWaiting })
    return { readAudit: q => conn.api.readAudit(q), verifyAudit: () => conn.api.verifyAudit(), getDistributedAuditSummary: id => conn.api.getDistributedAuditSummary(id), close: () => conn.close() }
  } catch (err) {
    if (!(err instanceof SeError) || err.code !== 'NO_NODE') throw err
    const { openAuditOffline } = await import('./offline-audit.js')
    const { summariseAudit } = await import('../../../core/audit/summary.js')
    const log = await openAuditOffline(dataDirOf(cmd))
    return {
      readAudit: q => log.read(q),
      verifyAudit: () => log.verify(),
      getDistributedAuditSummary: async id => summariseAudit(await log.read(id === null ? {} : { workflowId: id }), id),
      close: () => {}
    }
  }
}

/** The workflow an `--workflow` prefix names in the trail; null when none; refused when several. */
async function workflowInAudit (audit: AuditAccess, prefix: string): Promise<string | null> {
  if ((await audit.readAudit({ workflowId: prefix, fromSeq: 0, limit: 1 })).length > 0) return prefix
  const ids = [...new Set((await audit.getDistributedAuditSummary(null)).map(s => s.workflowId))].filter(id => id.startsWith(prefix))
  if (ids.length > 1) throw SeError.ambiguousWorkflow(prefix, ids)
  return ids[0] ?? null
}

function renderAuditSummary (summary: WorkflowAuditSummary[]): string {
  if (summary.length === 0) return 'the audit trail records no workflows yet'
  const rows = summary.map(s => [s.workflowId, s.name, s.state, String(s.steps), String(s.stepFailures), String(s.interventions), seconds(s.durationMs), s.nodes.map(shortNode).join(',')])
  const totals = `${summary.length} workflow(s): ${count(summary, 'completed')} completed, ${count(summary, 'failed')} failed, ${count(summary, 'cancelled')} cancelled; ` +
    `${sum(summary, 'steps')} steps run, ${sum(summary, 'stepFailures')} step failures, ${sum(summary, 'interventions')} interventions`
  return `${table(['WORKFLOW', 'NAME', 'STATE', 'STEPS', 'FAILURES', 'INTERVENTIONS', 'DURATION', 'NODES'], rows)}\n\n${totals}`
}

function count (list: Array<{ state: string }>, state: string): number {
  return list.filter(s => s.state === state).length
}

function sum<K extends string> (list: Array<Record<K, unknown>>, key: K): number {
  return list.reduce((n, s) => n + Number(s[key]), 0)
}

