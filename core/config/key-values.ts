// KEY=VALUE pairs given one per flag (`se execute -i level=minor`, `se deploy
// --env MODE=prod`), as a record; the value may hold '=' too, the key may not be empty.
import { SeError } from '../errors.js'

/** `what` names the flag in the error: `--env 'X' is not KEY=VALUE`. */
export function parseKeyValues (pairs: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw SeError.badInput(`${what} '${pair}' is not KEY=VALUE`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}
