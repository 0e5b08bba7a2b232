// The `se` process: one invocation, then the shell's loop when `se shell` asked for it.
import { exitCodeFor, toSeError } from '../../../core/errors.js'
import { defaultDataDir } from '../config.js'
import { RUN_AS_OWNER_ENV, runAsOwnerOf } from '../image/run-as-owner.js'
import { stdio } from './context.js'
import { renderError } from './render.js'
import { runCommand } from './run-command.js'

export async function main (argv: string[]): Promise<number> {
  if (argv.length === 0) argv = ['--help']
  // `se … | head -1`: the reader has what it wanted; a closed pipe ends the command quietly, as it does for cat.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); else throw err })
  // In the container image, started as root: become the owner of /workspace first.
  const ownerOf = process.env[RUN_AS_OWNER_ENV]
  if (ownerOf !== undefined && ownerOf !== '') {
    const failed = await runAsOwnerOf(ownerOf, { alsoOwn: [defaultDataDir(), process.env.HOME ?? ''] }).then(() => null, (err: unknown) => toSeError(err))
    if (failed !== null) {
      stdio.err(renderError(failed))
      return exitCodeFor(failed.code)
    }
  }
  const { code, state } = await runCommand(argv, stdio)
  if (state.shell !== undefined) {
    const { runShell } = await import('./shell.js')
    return await runShell(state.shell.dataDir)
  }
  return code
}
