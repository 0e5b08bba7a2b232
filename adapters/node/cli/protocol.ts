// `se protocol`: the node's public protocol, for people and for code generators.
import type { Command } from 'commander'
import type { CliIO, CliState } from './context.js'
import { table } from './render.js'

export function addProtocolCommands (program: Command, io: CliIO, _state: CliState): void {
  program.command('protocol')
    .description('the node protocol served over Avro IPC (--avro-tcp, POST /avro): its messages, or the .avpr file')
    .option('--avpr', 'print the protocol as an Apache Avro .avpr file (JSON)')
    .option('--json', 'the same .avpr JSON, for scripts')
    .addHelpText('after', '\nExamples:\n  se protocol\n  se protocol --avpr > se-node.avpr    # then build a Java or Python client from it')
    .action(async (opts: { avpr?: boolean, json?: boolean }) => {
      const { AVPR_ERROR, nodeProtocolAvpr } = await import('../../../core/protocol/avpr.js')
      const avpr = nodeProtocolAvpr()
      if (opts.avpr === true || opts.json === true) { io.out(JSON.stringify(avpr, null, 2)); return }
      const rows = Object.entries(avpr.messages).map(([name, m]) => [name, m.request.map(r => r.name).join(', '), typeName(m.response), m.doc ?? ''])
      io.out(`${avpr.namespace}.${avpr.protocol}: ${rows.length} messages, errors as ${avpr.namespace}.${AVPR_ERROR} {code, message, hint, details}\n\n${table(['MESSAGE', 'PARAMETERS', 'RESPONSE', 'WHAT'], rows)}`)
    })
}

function typeName (t: unknown): string {
  if (typeof t === 'string') return t
  const o = t as { type: string, items?: unknown }
  return o.type === 'array' ? `${typeName(o.items)}[]` : o.type
}
