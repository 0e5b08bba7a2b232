// `se node start|stop|status`: start's options come from the node-start table the
// Bare node's command line is built from too (adapters/shared/node-start-flags.ts);
// --detach, stop and status live in service.ts.
import type { Command } from 'commander'
import { EXIT_CODES } from '../../../core/errors.js'
import { DATA_DIR_FLAG, flagHelp, nodeOptionsFrom, nodeStartFlagsOf, optionKey, readNodeStartFlags, type NodeStartFlag } from '../../shared/node-start-flags.js'
import { collect, dataDirOf, print, type CliIO, type CliState } from './context.js'
import { wholeNumber } from './flags.js'

/** How long `se node stop` waits by default: the steps' grace period and a checkpoint fit in it. */
const STOP_TIMEOUT_SEC = 60

/** `--mesh <name>` with its help; a repeatable one collects its values. */
export function addFlagOption (cmd: Command, flag: NodeStartFlag): Command {
  const spec = `--${flag.name} <${flag.value}>`
  return flag.kind === 'list' ? cmd.option(spec, flagHelp(flag), collect) : cmd.option(spec, flagHelp(flag))
}

/** Every node-start option but --data-dir, which is every command's (see program.ts). */
export function addNodeStartOptions (cmd: Command): Command {
  for (const flag of nodeStartFlagsOf('node')) if (flag !== DATA_DIR_FLAG) addFlagOption(cmd, flag)
  return cmd
}

/** The node-start flags given, as a command line again: what a detached node is started with. */
function startArgsOf (opts: Record<string, unknown>): string[] {
  const args: string[] = []
  for (const flag of nodeStartFlagsOf('node')) {
    const value = opts[optionKey(flag)]
    if (flag === DATA_DIR_FLAG || value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) args.push(`--${flag.name}`, String(v))
  }
  return args
}

export function addNodeStartCommand (program: Command, io: CliIO, state: CliState): void {
  const node = program.command('node').description('run an SE node: in the foreground, or as a service (--detach, stop, status)')
    .addHelpText('after', '\nExamples:\n  se node start --detach                 # returns once the node is ready; log in the data dir\n  se node status\n  se node stop\n  se node start --mesh team --mesh-secret "$SECRET" --bootstrap 10.0.0.5:49737')
  addNodeStartOptions(node.command('start').description('run a node in the foreground until SIGTERM or SIGINT, or in the background with --detach'))
    .option('-d, --detach', 'run it in the background: return once it is ready (or has failed), its output in node.log in the data dir')
    .option('--json', 'with --detach: print the node (pid, version, log file) as JSON')
    .addHelpText('after', '\nExamples:\n  se node start --data-dir ~/.se --name laptop --capability gpu\n  se node start --detach && se status\n  se node start --mesh team --mesh-secret "$SECRET" --bootstrap 10.0.0.5:49737\n  se node start --http 8080 --avro-tcp 9090 --token-file ~/.se-tokens')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const flags = readNodeStartFlags(opts, 'node')
      if (opts.detach === true) {
        const { startDetached } = await import('./service.js')
        state.exitCode = await startDetached(io, dataDirOf(cmd), startArgsOf(opts), opts.json === true)
        return
      }
      const { runDaemon } = await import('./daemon.js')
      const { meshConfigFrom } = await import('../mesh-config.js')
      const mesh = meshConfigFrom(flags.mesh, text => io.err(`warning: ${text}`))
      const { frontEndConfigFrom } = await import('../../../core/access/front-end-settings.js')
      const frontEnds = frontEndConfigFrom(flags.frontEnds, name => process.env[name])
      state.daemon = runDaemon({ ...nodeOptionsFrom(flags, dataDirOf(cmd), mesh), frontEnds }, io)
      await state.daemon
    })

  node.command('stop')
    .description('stop the node on the data dir gracefully (SIGTERM) and wait until it has stopped; exit 0 when none runs')
    .option('--timeout <sec>', `how long to wait (default ${STOP_TIMEOUT_SEC})`, wholeNumber('--timeout'), STOP_TIMEOUT_SEC)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se node stop\n  se node stop --data-dir ~/.se --timeout 120')
    .action(async (opts: { timeout: number, json?: boolean }, cmd: Command) => {
      const { stopNode } = await import('./service.js')
      state.exitCode = await stopNode(io, dataDirOf(cmd), opts.timeout, opts.json === true)
    })

  node.command('status')
    .description('whether a node runs on the data dir: pid, uptime, version, mesh, ready; exit 4 when none runs')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se node status\n  se node status --json | jq .pid')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { nodeStatus, renderNodeStatus } = await import('./service.js')
      const s = await nodeStatus(dataDirOf(cmd))
      print(io, opts, s, renderNodeStatus)
      state.exitCode = s.running ? EXIT_CODES.OK : EXIT_CODES.NO_NODE
    })
}
