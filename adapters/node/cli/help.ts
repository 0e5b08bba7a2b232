// What `se --help` says beyond the command list (exit codes, the main variables),
// `-q` on every command that has `--json`, and the commands about `se` itself:
// `se version` and `se completion`.
import type { Command } from 'commander'
import { EXIT_CODES } from '../../../core/errors.js'
import { VERSION } from '../../../core/constants.js'
import { dataDirOf, print, type CliIO, type CliState } from './context.js'

/** Commands whose --json answer has no ids to print alone. */
const NO_QUIET = new Set(['se node start', 'se node stop', 'se node status', 'se protocol', 'se image build', 'se validate', 'se audit', 'se version'])

const EXIT_TEXT: Record<keyof typeof EXIT_CODES, string> = {
  OK: 'done (a workflow: completed)',
  FAILED: 'failed (a workflow failed or was cancelled; a query found nothing)',
  USAGE: 'refused: a bad flag, file or request; nothing was run',
  WAITING: 'not finished: the workflow waits for a person (se approve), or --timeout ended the waiting while the work goes on',
  NO_NODE: 'no node runs on the data dir, or it did not answer',
  NOT_ALLOWED: 'refused by a member\'s policy',
  NO_SPACE: 'the data dir\'s disk is full'
}

const VARIABLES: Array<[string, string]> = [
  ['SE_DATA_DIR', 'the node\'s data dir, as --data-dir (default ~/.local/share/se-mesh)'],
  ['SE_NODE_WAIT_MS', 'how long a call waits for a node that is starting (default 15000)'],
  ['SE_WORKFLOW_PATH', 'more directories of named workflows for `se execute NAME`'],
  ['SE_SHUTDOWN_GRACE_SEC', 'how long running steps get when a node stops'],
  ['SE_USER', 'who you are to the node (default: your login name)'],
  ['SE_MESH', 'the mesh to join (every flag of `se node start --help` has its variable)']
]

export const GLOBAL_HELP = [
  '',
  'Output: --json prints JSON on stdout (errors as JSON on stderr); -q prints ids only, one a line.',
  '',
  'Exit codes:',
  ...Object.entries(EXIT_CODES).map(([k, v]) => `  ${v}  ${EXIT_TEXT[k as keyof typeof EXIT_CODES]}`),
  '',
  'Environment:',
  ...VARIABLES.map(([k, v]) => `  ${k.padEnd(Math.max(...VARIABLES.map(([name]) => name.length)))}  ${v}`),
  '',
  'Examples:',
  '  se node start --detach && se execute VERSION_TRANSITION --input repo=. --wait',
  '  se status -q',
  '  source <(se completion bash)'
].join('\n')

/** `-q, --quiet` beside every `--json` whose answer has ids. */
export function addQuietOptions (cmd: Command, path = cmd.name()): void {
  for (const sub of cmd.commands) {
    const name = `${path} ${sub.name()}`
    if (!NO_QUIET.has(name) && sub.options.some(o => o.long === '--json')) sub.option('-q, --quiet', 'print only ids (or names), one a line')
    addQuietOptions(sub, name)
  }
}

export function addHelpCommands (program: Command, io: CliIO, state: CliState): void {
  program.command('version')
    .description('the versions of this CLI and of the node on the data dir')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  se version\n  se version --json | jq -r .node.version')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { nodeStatus } = await import('./service.js')
      const s = await nodeStatus(dataDirOf(cmd))
      const node = s.ready ? { version: s.version, pid: s.pid, dataDir: s.dataDir } : null
      print(io, opts, { cli: VERSION, node }, v => `se CLI ${v.cli}\nnode   ${v.node === null ? `none answering on ${s.dataDir}` : `${v.node.version ?? '?'} (pid ${v.node.pid ?? '?'})`}`)
    })

  program.command('completion')
    .description('print a shell completion script for bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText('after', '\nExamples:\n  source <(se completion bash)                       # in ~/.bashrc\n  se completion zsh > "${fpath[1]}/_se"\n  se completion fish > ~/.config/fish/completions/se.fish')
    .action(async (shell: string) => {
      const { completionScript } = await import('./completion.js')
      io.out(completionScript(program, shell))
    })
  void state
}
