// The `se` process: one invocation, then the shell's loop when `se shell` asked for it.
import { stdio } from './context.js'
import { runCommand } from './run-command.js'

export async function main (argv: string[]): Promise<number> {
  if (argv.length === 0) argv = ['--help']
  const { code, state } = await runCommand(argv, stdio)
  if (state.shell !== undefined) {
    const { runShell } = await import('./shell.js')
    return await runShell(state.shell.dataDir)
  }
  return code
}
