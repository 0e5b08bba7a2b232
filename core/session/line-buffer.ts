// Output arrives in chunks that may end mid-line; a session keeps and shows whole lines.
import { SESSION_PARTIAL_LINE_CHARS } from '../constants.js'

export class LineBuffer {
  private pending = ''

  constructor (private readonly maxPending = SESSION_PARTIAL_LINE_CHARS) {}

  /** The complete lines in `text` and before it, without their last newline; null while none is complete. */
  push (text: string): string | null {
    const all = this.pending + text
    const end = all.lastIndexOf('\n')
    if (end < 0) {
      // A progress bar redrawn with \r never ends its line; it still has to be seen.
      if (all.length > this.maxPending) { this.pending = ''; return all }
      this.pending = all
      return null
    }
    this.pending = all.slice(end + 1)
    return all.slice(0, end)
  }

  /** Whatever is left without a newline, once the output has ended. */
  flush (): string | null {
    const rest = this.pending
    this.pending = ''
    return rest === '' ? null : rest
  }
}
