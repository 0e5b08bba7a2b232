// Runs one `se` invocation (a command line, or a line typed in `se shell`) and returns its exit code.
import { CommanderError } from 'commander'
import { EXIT_CODES, SeError, exitCodeFor, toSeError } from '../../../core/errors.js'
import { createProgram } from './program.js'
import type { CliIO, CliState } from './context.js'
import { errorJson, renderError } from './render.js'

export async function runCommand (argv: string[], io: CliIO): Promise<{ code: number, state: CliState }> {
  const state: CliState = { exitCode: EXIT_CODES.OK }
  const program = createProgram(io, state)
  try {
    await program.parseAsync(argv, { from: 'user' })
    return { code: state.exitCode, state }
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, successfully.
      return { code: err.exitCode === 0 ? EXIT_CODES.OK : EXIT_CODES.USAGE, state }
    }
    const error = toSeError(err)
    // stdout is the answer's alone: a script that pipes it into jq never gets an error there.
    if (argv.includes('--json')) io.err(JSON.stringify(errorJson(error), null, 2))
    else io.err(renderError(error))
    return { code: err instanceof SeError ? exitCodeFor(error.code) : EXIT_CODES.FAILED, state }
  }
}
