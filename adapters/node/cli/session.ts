// `se session`: interactive se> sessions that live on a node (this one or a mesh
// member), outlast the client, and belong to the user who opened them.
import type { Command } from 'commander'
import type { NodeApi, SessionInfo, SessionOutput } from '../../../core/protocol/types.js'
import { EXIT_CODES } from '../../../core/errors.js'
import { loginName } from '../config.js'
import { askAndPrint, json, withNode, type CliIO, type CliState } from './context.js'
import { table, seconds } from './render.js'

/** Who the sessions belong to: SE_USER (for acting as another user in scripts and tests), else the login name. */
export function sessionUser (): string {
  return process.env.SE_USER ?? loginName()
}

/** How often a piped client checks whether the session has finished its lines. */
const DRAIN_POLL_MS = 100

export function addSessionCommands (program: Command, io: CliIO, state: CliState): void {
  const session = program.command('session').description('interactive se> sessions that live on a node and outlast the client')
    .addHelpText('after', '\nExamples:\n  se session new --name release                 # open one here and attach\n  se session new --node buildbox --detach -q     # on a mesh member; prints its id\n  se session list\n  se session attach ss-3f2a9c1b-7d01e2\n  se session close ss-3f2a9c1b-7d01e2')

  session.command('new')
    .description('open a session (on this node, or --node NAME of the mesh) and attach to it')
    .option('--name <name>', 'a label to find it by')
    .option('--node <node>', 'a mesh member\'s name or key prefix to hold it')
    .option('--detach', 'open it without attaching')
    .option('--json', 'print the session as JSON (implies --detach)')
    .addHelpText('after', '\nExamples:\n  se session new --name release\n  se session new --node buildbox --detach --json')
    .action(async (opts: { name?: string, node?: string, detach?: boolean, json?: boolean }, cmd: Command) => {
      await withNode(cmd, async api => {
        const s = await api.sessionNew(sessionUser(), opts.name ?? null, opts.node ?? null)
        if (opts.json === true) { json(io, s); return }
        if (opts.detach === true) { io.out(`${s.id} on ${s.nodeName}: attach with \`se session attach ${s.id}\``); return }
        state.exitCode = await attach(api, s.id, io)
      })
    })

  session.command('list')
    .description('your open sessions, here and on every mesh member')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se session list')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await askAndPrint(io, cmd, opts, async api => await api.sessionList(sessionUser()), list => {
        const now = Date.now()
        return list.length === 0 ? `no open sessions of ${sessionUser()}` : table(['ID', 'NAME', 'NODE', 'OWNER', 'STATE', 'IDLE', 'CREATED'], list.map(s => [s.id, s.name ?? '', s.nodeName, s.owner, stateOf(s), seconds(now - s.lastActiveAt), new Date(s.createdAt).toISOString().slice(0, 19)]))
      })
    })

  session.command('attach')
    .description('show what the session printed while you were away, then type into it; Ctrl-D or `detach` leaves it running')
    .argument('<id>', 'session id (see `se session list`)')
    .addHelpText('after', '\nExample:\n  se session attach ss-3f2a9c1b-7d01e2\n  printf "cd /srv/app\\ngit status\\n" | se session attach ss-3f2a9c1b-7d01e2')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withNode(cmd, async api => { state.exitCode = await attach(api, id, io) })
    })

  session.command('close')
    .description('close a session for good')
    .argument('<id>', 'session id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  se session close ss-3f2a9c1b-7d01e2')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await askAndPrint(io, cmd, opts, async api => await api.sessionClose(id, sessionUser()), s => `${s.id}: ${s.closedReason ?? s.state}`)
    })
}

function stateOf (s: SessionInfo): string {
  return s.busy ? 'busy' : s.attached > 0 ? `attached(${s.attached})` : 'detached'
}

/** Attached until stdin ends, `detach`, or the session closes; 0 either way. */
async function attach (api: NodeApi, id: string, io: CliIO): Promise<number> {
  const owner = sessionUser()
  const interactive = process.stdin.isTTY === true
  const ownLines: string[] = []
  let cancel: (() => void) | null = null
  let closed = false
  const show = (o: SessionOutput): void => {
    if (o.stream === 'input') {
      // A terminal already shows what this client typed; anything else is worth seeing.
      if (interactive && ownLines[0] === o.text) { ownLines.shift(); return }
      io.out(`se> ${o.text}`)
    } else if (o.stream === 'stderr') io.err(o.text)
    else io.out(o.text)
    if (o.stream === 'closed') closed = true
  }
  const attached = api.sessionAttach(id, owner, 0, o => { show(o) }, l => { cancel = l })
  const { default: readline } = await import('node:readline')
  const rl = readline.createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, prompt: 'se> ', terminal: interactive })
  if (interactive) rl.prompt()
  const reading = (async () => {
    let exiting = false
    for await (const raw of rl) {
      const line = raw.trim()
      if (closed) break
      if (line === '') { if (interactive) rl.prompt(); continue }
      if (line === 'detach') break
      ownLines.push(line)
      await api.sessionInput(id, owner, line)
      if (line === 'exit' || line === 'quit' || line === 'close') { exiting = true; break }
      if (interactive) rl.prompt()
    }
    // The session closes once the lines before `exit` have run; saying it was left running would be wrong.
    if (exiting) await attached.catch(() => {})
    // Piped lines are all sent by now; the session may still be running them.
    else if (!interactive && !closed) await drained(api, id, owner)
  })()
  await Promise.race([reading, attached.then(() => { closed = true })])
  rl.close()
  if (!closed) {
    (cancel as (() => void) | null)?.()
    await attached.catch(() => {})
    io.err(`detached from ${id}; it keeps running: \`se session attach ${id}\``)
  }
  return EXIT_CODES.OK
}

async function drained (api: NodeApi, id: string, owner: string): Promise<void> {
  for (;;) {
    const s = (await api.sessionList(owner)).find(x => x.id === id)
    if (s === undefined || !s.busy) return
    await new Promise(resolve => setTimeout(resolve, DRAIN_POLL_MS))
  }
}
