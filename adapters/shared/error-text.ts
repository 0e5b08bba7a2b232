// An error as a person reads it on a terminal: what happened, each detail with its
// file, line and path, then the hint. One text for `se` and the Bare node, so a
// node that will not start (a policy with a mistake) says why the same way on both.
import type { SeError } from '../../core/errors.js'

export function renderError (err: SeError): string {
  const lines = [`error: ${err.reason}`]
  for (const d of err.details) {
    const where = [d.file === undefined ? '' : `${d.file}${d.line === undefined ? '' : `:${d.line}`}`, d.path ?? ''].filter(s => s !== '').join(' ')
    lines.push(`  ${where === '' ? '' : `${where}: `}${d.message}`)
  }
  if (err.hint !== undefined) lines.push(`hint: ${err.hint}`)
  return lines.join('\n')
}
