// `se shell`: the CLI's commands at an se> prompt, with history kept in the
// data dir and tab completion of commands, catalogue names and workflow ids.
import { appendFile, readFile } from 'node:fs/promises'
import path from 'node:path'
import readline from 'node:readline'
import { parse } from 'shell-quote'
import { Catalogue } from '../../../core/node/catalogue.js'
import { catalogueDirs } from '../config.js'
import { connectNode } from '../client.js'
import { SeError } from '../../../core/errors.js'
import { NodeFileSystem } from '../fs.js'
import { stdio } from './context.js'
import { runCommand } from './run-command.js'

const COMMANDS = ['execute', 'status', 'approve', 'reject', 'cancel', 'audit', 'capabilities', 'catalogue', 'validate', 'help', 'exit']
const HISTORY_LIMIT = 1000

export async function runShell (dataDir: string): Promise<number> {
  // With no node on the data dir, the shell brings its own for as long as it runs.
  const embedded = await connectNode(dataDir, { onWait: stdio.err }).then(c => { c.close(); return null }, async err => {
    if (!(err instanceof SeError) || err.code !== 'NO_NODE') throw err
    const { startEmbeddedNode } = await import('./embedded-node.js')
    const e = await startEmbeddedNode(stdio, dataDir).catch(startErr => {
      // A node took the data dir meanwhile: the shell talks to it.
      if (startErr instanceof SeError && startErr.code === 'NODE_RUNNING') return null
      throw startErr
    })
    if (e !== null) stdio.err(`no node running at ${dataDir}: running an embedded node while the shell is open`)
    return e
  })
  try {
    return await shellLoop(dataDir)
  } finally {
    await embedded?.close()
  }
}

async function shellLoop (dataDir: string): Promise<number> {
  const historyFile = path.join(dataDir, 'shell_history')
  const history = (await readFile(historyFile, 'utf8').catch(() => '')).split('\n').filter(l => l !== '').reverse().slice(0, HISTORY_LIMIT)
  let words: string[] = []
  const refreshWords = async (): Promise<void> => {
    const names = await new Catalogue(new NodeFileSystem(), catalogueDirs(dataDir)).list().then(l => l.map(e => e.name), () => [])
    const ids = await connectNode(dataDir).then(async c => {
      try { return (await c.api.listWorkflows([])).map(w => w.id) } finally { c.close() }
    }, () => [])
    words = [...names, ...ids]
  }
  await refreshWords()
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: 'se> ',
    history,
    historySize: HISTORY_LIMIT,
    completer: (line: string): [string[], string] => {
      const parts = line.split(/\s+/)
      const last = parts[parts.length - 1] ?? ''
      const pool = parts.length <= 1 ? COMMANDS : words
      const hits = pool.filter(w => w.startsWith(last))
      return [hits.length > 0 ? hits : pool, last]
    }
  })
  stdio.err(`se shell on ${dataDir}: type help for commands, exit to leave`)
  rl.prompt()
  for await (const line of rl) {
    const text = line.trim()
    if (text === '') { rl.prompt(); continue }
    if (text === 'exit' || text === 'quit') break
    await appendFile(historyFile, text + '\n').catch(() => {})
    const argv = parse(text).filter((t): t is string => typeof t === 'string')
    const args = argv[0] === 'help' ? ['--help'] : argv
    if (args[0] === 'shell' || (args[0] === 'node' && args[1] === 'start')) {
      stdio.err(`'${args.join(' ')}' cannot run inside the shell`)
    } else {
      rl.pause()
      const { code } = await runCommand(['--data-dir', dataDir, ...args], stdio)
      rl.resume()
      if (code !== 0) stdio.err(`(exit ${code})`)
      await refreshWords()
    }
    rl.prompt()
  }
  rl.close()
  return 0
}
