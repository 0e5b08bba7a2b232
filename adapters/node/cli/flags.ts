// Parsers for the CLI's numeric flags. Each checks its value where commander reads
// it, so `--limit abc` ends at once with exit 2 naming the flag and what it takes,
// never as a schema error from the node or as a silent empty answer.
import { SeError } from '../../../core/errors.js'

export interface WholeNumberOptions {
  /** The smallest value taken (default 1). */
  min?: number
  max?: number
  /** A value outside the range that still means something: `--tail -1` for all. */
  also?: number
}

/** `--limit <n>`: a whole number in a range; the flag's name goes into the error. */
export function wholeNumber (flag: string, opts: WholeNumberOptions = {}): (value: string) => number {
  const { min = 1, max, also } = opts
  const expects = `a whole number, ${max === undefined ? `${min} or more` : `${min} to ${max}`}${also === undefined ? '' : ` (or ${also})`}`
  return value => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN
    if (n === also) return n
    if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) throw SeError.badFlag(flag, value, expects)
    return n
  }
}

/** `--cpus <n>`: a number above zero, fractions allowed. */
export function positiveDecimal (flag: string): (value: string) => number {
  return value => {
    const n = value.trim() === '' ? NaN : Number(value)
    if (!Number.isFinite(n) || n <= 0) throw SeError.badFlag(flag, value, 'a number above 0, such as 0.5 or 2')
    return n
  }
}

/** `--state <s>`, repeatable: each value one of `allowed`; the flag's name and the choices go into the error. */
export function oneOfEach (flag: string, allowed: readonly string[]): (value: string, previous?: string[]) => string[] {
  return (value, previous = []) => {
    if (!allowed.includes(value.trim())) throw SeError.badFlag(flag, value, `one of ${allowed.join(', ')}`)
    return [...previous, value.trim()]
  }
}

/** A repeatable flag whose value must not be empty: `--capability ''` is a mistake, never "match all". */
export function nonEmptyEach (flag: string, expects: string): (value: string, previous?: string[]) => string[] {
  return (value, previous = []) => {
    if (value.trim() === '') throw SeError.badFlag(flag, value, expects)
    return [...previous, value.trim()]
  }
}
