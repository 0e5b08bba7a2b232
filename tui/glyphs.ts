// What the terminal can show. Over `ssh -t` to a host with no UTF-8 locale, or
// with TERM=vt100, every character outside ASCII arrives as `?`; the dashboard
// then draws with the ASCII set below. Borders are not here: blessed draws them
// with the terminal's own line characters (ACS), which every TERM has.
import { STEP_MARK, STEP_MARK_ASCII } from '../core/workflow/step-mark.js'

export interface Glyphs {
  ascii: boolean
  /** Marks the selected row. */
  selected: string
  /** Between the status bar's parts. */
  separator: string
  /** Cut text ends with this. */
  ellipsis: string
  upDown: string
  /** A step's `needs` in the workflow graph. */
  needs: string
  /** Between a log line's source and its text. */
  column: string
  barFull: string
  barEmpty: string
  /** Sparkline levels, lowest first. */
  levels: string
  stepMark: Readonly<Record<string, string>>
  /** After a member's name when its policy refuses this node something. */
  refused: string
}

export const UNICODE_GLYPHS: Glyphs = {
  ascii: false, selected: '▶', separator: ' │ ', ellipsis: '…', upDown: '↑↓', needs: '←', column: '│',
  barFull: '█', barEmpty: '░', levels: '▁▂▃▄▅▆▇█', stepMark: STEP_MARK, refused: '⊘'
}

export const ASCII_GLYPHS: Glyphs = {
  ascii: true, selected: '>', separator: ' | ', ellipsis: '~', upDown: 'j/k', needs: '<-', column: '|',
  barFull: '#', barEmpty: '.', levels: '_.-=+*#%@', stepMark: STEP_MARK_ASCII, refused: '(!)'
}

/** TERMs that have no Unicode whatever the locale says (real or emulated serial terminals). */
const ASCII_TERMS = /^(dumb|vt\d+|ansi|cons25|sun)(-|$)/

export interface TerminalFacts { ascii: boolean, reason: string }

/**
 * Decides from the flag, SE_ASCII, TERM and the locale (LC_ALL, LC_CTYPE, LANG in
 * the order the C library reads them). SE_ASCII=0 forces Unicode, for a terminal
 * known to show it whatever the remote locale says.
 */
export function detectTerminal (env: Record<string, string | undefined>, flag = false): TerminalFacts {
  if (flag) return { ascii: true, reason: '--ascii' }
  if (env.SE_ASCII === '1') return { ascii: true, reason: 'SE_ASCII=1' }
  if (env.SE_ASCII === '0') return { ascii: false, reason: 'SE_ASCII=0' }
  const term = env.TERM ?? ''
  if (ASCII_TERMS.test(term)) return { ascii: true, reason: `TERM=${term}` }
  const locale = [env.LC_ALL, env.LC_CTYPE, env.LANG].find(v => v !== undefined && v !== '') ?? ''
  if (!/utf-?8/i.test(locale)) return { ascii: true, reason: locale === '' ? 'no locale (LANG unset)' : `locale ${locale} is not UTF-8` }
  return { ascii: false, reason: `locale ${locale}` }
}

export function glyphsFor (ascii: boolean): Glyphs { return ascii ? ASCII_GLYPHS : UNICODE_GLYPHS }

/** The newest values that fit in `width` columns, one level character each (0-100 scale). */
export function sparkline (values: number[], width: number, g: Glyphs): string {
  if (width <= 0) return ''
  const top = g.levels.length - 1
  return values.slice(-width).map(v => g.levels[Math.round(Math.max(0, Math.min(100, v)) / 100 * top)] ?? ' ').join('')
}

export function bar (percent: number, width: number, g: Glyphs): string {
  const filled = Math.max(0, Math.min(width, Math.round(width * percent / 100)))
  return g.barFull.repeat(filled) + g.barEmpty.repeat(width - filled)
}
