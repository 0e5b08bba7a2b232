// Why a step's process failed, in one line: how it ended, and the line of its
// stderr that says what went wrong. Runtimes print more after that line (Node's
// stack, its error's properties and its `Node.js v20…` banner; Rust's backtrace
// note), so the last line is not the reason; the last line that is neither of
// those is.
import type { ProcessResult } from '../ports.js'

/** The longest reason kept from stderr. */
export const FAILURE_LINE_MAX = 200

/** Lines a runtime prints after the error, which say nothing about it. */
const TRAILERS = [
  /^Node\.js v\d+\.\d+\.\d+$/, // after every uncaught exception, since Node 18
  /^note: run with `RUST_BACKTRACE=1`/, // after a Rust panic
  /^\(Use `node --trace-\w+ \.\.\.` to show/ // after a Node warning
]

/** A frame of a stack trace (JavaScript, Java), or the count of frames left out. */
const FRAME = /^\s+(at\s|\.\.\.\s)/

/** Only punctuation: Node's `^` under the failing column, a lone brace. */
const PUNCTUATION = /^[\s{}()[\]^~,;]*$/

/** The line of `stderr` that says what went wrong, or null when no line does. */
export function failureLine (stderr: string): string | null {
  const lines = stderr.split('\n').map(l => l.trimEnd())
  for (let i = lines.length - 1; i >= 0; i--) {
    let line = lines[i] as string
    // Node's `{ errno: -13, code: 'EACCES', … }` or `[cause]: …` after the error: skip to the
    // line that opened it (a stack frame, or the error itself). A bare `{` opens data, not that.
    const opener = line === '}' ? findOpener(lines, i) : -1
    if (opener !== -1 && (lines[opener] as string).trim() !== '{') {
      i = opener
      line = (lines[i] as string).replace(/\s*\{$/, '')
    }
    if (PUNCTUATION.test(line) || FRAME.test(line) || TRAILERS.some(t => t.test(line.trim()))) continue
    return line.trim()
  }
  return null
}

/** The line that opened the brace block `closer` ends (Node's error properties, nested objects and causes inside). */
function findOpener (lines: string[], closer: number): number {
  let depth = 1
  for (let i = closer - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim()
    if (/^\},?$/.test(line)) depth++
    else if (line.endsWith('{')) depth--
    if (depth === 0) return i
  }
  return -1
}

/** `exit code 1: Error: EACCES: permission denied, open 'package.json.tmp'`, `killed by SIGKILL`, `timed out after 60000 ms`. */
export function describeFailure (result: ProcessResult): string {
  if (result.spawnError !== null) return result.spawnError
  if (result.timedOut) return `timed out after ${result.durationMs} ms`
  const why = result.signal !== null ? `killed by ${result.signal}` : `exit code ${result.exitCode ?? '?'}`
  const line = failureLine(result.stderr)
  return line === null ? why : `${why}: ${line.slice(0, FAILURE_LINE_MAX)}`
}
