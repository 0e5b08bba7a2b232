// A session line as an argument array, quoted as a shell would read it but never
// given to one: no variables, no globbing, no pipes or redirections.
import { parse } from 'shell-quote'
import { SeError } from '../errors.js'

export function splitLine (line: string): string[] {
  // Without a shell nothing expands `$HOME`; keeping it as typed beats shell-quote's silent ''.
  const entries = parse(line, name => `$${name}`)
  const words: string[] = []
  for (const entry of entries) {
    if (typeof entry === 'string') { words.push(entry); continue }
    if ('comment' in entry) break
    if ('op' in entry) {
      if (entry.op === 'glob') { words.push(entry.pattern); continue }
      throw SeError.badInput(`'${entry.op}' needs a shell, and session lines run without one`, `run it through one explicitly, e.g. sh -c '${line.replace(/'/g, "'\\''")}'`)
    }
  }
  return words
}
