// The Bare node's command line: paparam flags built from the node-start table
// that `se node start` uses too (adapters/shared/node-start-flags.ts).
import { command, flag } from 'paparam'
import { SeError } from '../core/errors.js'
import { flagHelp, nodeStartFlagsOf, readNodeStartFlags, type NodeStartFlag, type NodeStartFlags } from '../adapters/shared/node-start-flags.js'

function paparamFlag (f: NodeStartFlag): ReturnType<typeof flag> {
  const modifier = flag(`--${f.name} [${f.value}]`, flagHelp(f))
  return f.kind === 'list' ? modifier.multiple() : modifier
}

const cli = command('se-bare', ...nodeStartFlagsOf('bare').map(paparamFlag))

/** The flags, or null when --help was asked for (paparam has printed it). */
export function parseBareArgs (argv: string[]): NodeStartFlags | null {
  let parsed
  try {
    parsed = cli.parse(argv)
  } catch (err) {
    // paparam throws `UNKNOWN_FLAG: bogus` and the like.
    throw SeError.badInput(`${(err as Error).message.replace(/^([A-Z_]+): /, (_, code: string) => `${code.toLowerCase().replace(/_/g, ' ')} `)}`, 'see `npm run bare -- --help`')
  }
  if (parsed === null) return null
  return readNodeStartFlags(parsed.flags, 'bare')
}
