// `se node start`: its options come from the node-start table the Bare node's
// command line is built from too (adapters/shared/node-start-flags.ts).
import type { Command } from 'commander'
import { DATA_DIR_FLAG, flagHelp, nodeOptionsFrom, nodeStartFlagsOf, readNodeStartFlags, type NodeStartFlag } from '../../shared/node-start-flags.js'
import { collect, dataDirOf, type CliIO, type CliState } from './context.js'

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

export function addNodeStartCommand (program: Command, io: CliIO, state: CliState): void {
  const node = program.command('node').description('run an SE node')
  addNodeStartOptions(node.command('start').description('run a node in the foreground until SIGTERM or SIGINT'))
    .addHelpText('after', '\nExamples:\n  se node start --data-dir ~/.se --name laptop --capability gpu\n  se node start --mesh team --mesh-secret "$SECRET" --bootstrap 10.0.0.5:49737\n  se node start --http 8080 --avro-tcp 9090 --token-file ~/.se-tokens')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const flags = readNodeStartFlags(opts, 'node')
      const { runDaemon } = await import('./daemon.js')
      const { meshConfigFrom } = await import('../mesh-config.js')
      const mesh = meshConfigFrom(flags.mesh, text => io.err(`warning: ${text}`))
      const { frontEndConfigFrom } = await import('../../../core/access/front-end-settings.js')
      const frontEnds = frontEndConfigFrom(flags.frontEnds, name => process.env[name])
      state.daemon = runDaemon({ ...nodeOptionsFrom(flags, dataDirOf(cmd), mesh), frontEnds }, io)
      await state.daemon
    })
}
