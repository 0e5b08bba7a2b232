// A step's $SE_OUTPUT file, as GitHub's $GITHUB_OUTPUT: `KEY=VALUE` lines, and
// `KEY<<DELIMITER`, the value's lines, then `DELIMITER` alone for values of
// several lines. Later steps read them as ${steps.ID.outputs.KEY}.
import { SeError } from '../errors.js'

/** Read back at most this much: outputs are values, not files (those are artifacts). */
export const MAX_OUTPUT_BYTES = 1024 * 1024

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/

export function parseOutputs (stepId: string, text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n').map(l => l.endsWith('\r') ? l.slice(0, -1) : l)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.trim() === '') continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (heredoc > 0 && (eq === -1 || heredoc < eq)) {
      const key = line.slice(0, heredoc)
      const delimiter = line.slice(heredoc + 2)
      if (!KEY.test(key)) throw SeError.badOutput(stepId, i + 1, `'${key}' is not a name`)
      if (delimiter === '') throw SeError.badOutput(stepId, i + 1, `${key}<< names no delimiter`)
      const end = lines.indexOf(delimiter, i + 1)
      if (end === -1) throw SeError.badOutput(stepId, i + 1, `${key}<<${delimiter} is never closed by a line ${delimiter}`)
      out[key] = lines.slice(i + 1, end).join('\n')
      i = end
      continue
    }
    if (eq <= 0) throw SeError.badOutput(stepId, i + 1, 'expected KEY=VALUE or KEY<<DELIMITER')
    const key = line.slice(0, eq)
    if (!KEY.test(key)) throw SeError.badOutput(stepId, i + 1, `'${key}' is not a name`)
    out[key] = line.slice(eq + 1)
  }
  return out
}
