// `se nodes`: every member this node knows, for a mesh of a few nodes or of hundreds:
// filtered by state and capability, sorted by state then name, with a one-line summary.
import type { Command } from 'commander'
import { hasCapability, NODE_STATES, byStateThenName } from '../../../core/node/node-summary.js'
import type { MeshNode } from '../../../core/protocol/types.js'
import { askAndPrint, type CliIO } from './context.js'
import { nonEmptyEach, oneOfEach, wholeNumber } from './flags.js'
import { renderNodes } from './render.js'

export interface NodeSelection {
  /** Any of these states (none: all). */
  states?: string[]
  /** Every one of these capabilities, as a step's `requires` names them. */
  capabilities?: string[]
  limit?: number
}

/** What `se nodes` lists, in its order: the members that match, then at most `limit` of them. */
export function selectNodes (nodes: readonly MeshNode[], sel: NodeSelection): { matched: MeshNode[], shown: MeshNode[] } {
  const states = sel.states ?? []
  const caps = sel.capabilities ?? []
  const matched = nodes
    .filter(n => (states.length === 0 || states.includes(n.state)) && caps.every(c => hasCapability(n, c)))
    .sort(byStateThenName)
  return { matched, shown: sel.limit === undefined ? matched : matched.slice(0, sel.limit) }
}

interface NodesOptions { json?: boolean, state?: string[], capability?: string[], limit?: number }

export function addNodesCommand (program: Command, io: CliIO): void {
  program.command('nodes')
    .description('list the nodes of the mesh: state, age of what is known, link, load, memory, latency, capabilities, and a summary')
    .option('--state <state>', `only members in this state: ${NODE_STATES.join(', ')} (repeatable)`, oneOfEach('--state', NODE_STATES))
    .option('--capability <name>', 'only members with this capability, as a step\'s requires names it: gpu, tag:gpu, podman, credential:NAME (repeatable: all of them)', nonEmptyEach('--capability', 'a capability, such as gpu or podman'))
    .option('--limit <n>', 'list at most n members (the summary still counts every match)', wholeNumber('--limit'))
    .option('--json', 'print JSON: the full records, filtered the same way')
    .addHelpText('after', [
      '', 'AGE is how long ago this node last learned anything about the member (directly or by gossip);',
      'LINK is the connection this node holds to it: neighbour, work (opened for a step), or - (none).',
      '', 'Examples:', '  se nodes', '  se nodes --state suspect --state down', '  se nodes --capability gpu --limit 20',
      '  se nodes --json | jq \'.[] | select(.state == "up") | .name\''
    ].join('\n'))
    .action(async (opts: NodesOptions, cmd: Command) => {
      let total = 0
      let matched: MeshNode[] = []
      await askAndPrint(io, cmd, opts, async api => {
        const all = await api.listNodes()
        const picked = selectNodes(all, { states: opts.state, capabilities: opts.capability, limit: opts.limit })
        total = all.length
        matched = picked.matched
        return picked.shown
      }, shown => renderNodes(shown, { now: Date.now(), matched, total }))
    })
}
