// Starting a workflow from the dashboard with inputs: `:execute NAME -i k=v` read
// as the CLI reads `se execute`, and the fields of the form that asks for the
// rest, with the defaults and descriptions the workflow declares. Pure, so what
// the form offers is tested without a terminal; tui/screen.ts only draws it.
import { parseKeyValues } from '../core/config/key-values.js'
import { SeError } from '../core/errors.js'
import { splitLine } from '../core/session/split-line.js'
import type { CatalogueEntry } from '../core/protocol/types.js'

export interface ExecuteLine { name: string, inputs: Record<string, string> }

export interface FormField { name: string, description: string, required: boolean, value: string, type: string }

const INPUT_FLAGS = new Set(['-i', '--input'])

/** `NAME [-i k=v]...` (or `--input k=v`, `--input=k=v`); an error says what to type instead. */
export function parseExecute (arg: string): ExecuteLine | { error: string } {
  let words: string[]
  try { words = splitLine(arg) } catch (err) { return { error: (err as Error).message } }
  const pairs: string[] = []
  let name: string | null = null
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string
    if (INPUT_FLAGS.has(w)) {
      const pair = words[++i]
      if (pair === undefined) return { error: `${w} needs KEY=VALUE: :execute NAME -i key=value` }
      pairs.push(pair)
    } else if (w.startsWith('--input=')) pairs.push(w.slice('--input='.length))
    else if (name === null) name = w
    else return { error: `unexpected '${w}': :execute NAME -i key=value (one -i per input)` }
  }
  if (name === null) return { error: 'usage: :execute NAME [-i key=value]...' }
  try {
    return { name, inputs: parseKeyValues(pairs, '-i') }
  } catch (err) {
    return { error: `${err instanceof SeError ? err.reason : (err as Error).message}: :execute NAME -i key=value` }
  }
}

/**
 * One field per declared input, filled with what was given, else its default.
 * An entry from a node too old to describe its inputs still lists their names.
 */
export function formFields (entry: CatalogueEntry, given: Record<string, string> = {}): FormField[] {
  const details = new Map((entry.inputDetails ?? []).map(d => [d.name, d]))
  return entry.inputs.map(name => {
    const d = details.get(name)
    return { name, description: d?.description ?? '', required: d?.required ?? false, type: d?.type ?? 'string', value: given[name] ?? d?.default ?? '' }
  })
}

/** Required fields still empty: the form cannot be sent while there are any. */
export function missingFields (fields: FormField[]): FormField[] { return fields.filter(f => f.required && f.value === '') }

/** What to send: every field with a value (an empty optional one is left to the workflow's default). */
export function formInputs (fields: FormField[]): Record<string, string> {
  return Object.fromEntries(fields.filter(f => f.value !== '').map(f => [f.name, f.value]))
}

/** The form's text: one line per field, the one being asked marked, required ones starred. */
export function formLines (entry: CatalogueEntry, fields: FormField[], at: number, marker: string): string[] {
  const width = Math.max(0, ...fields.map(f => f.name.length + (f.required ? 1 : 0)))
  return [
    entry.description === '' ? entry.name : `${entry.name}: ${entry.description}`,
    '',
    ...fields.map((f, i) => `${i === at ? marker : ' '} ${`${f.name}${f.required ? '*' : ''}`.padEnd(width)}  = ${f.value === '' ? '(empty)' : f.value}${f.description === '' ? '' : `   ${f.description}`}${f.type === 'string' ? '' : ` [${f.type}]`}`),
    '',
    '* required.  enter keeps the value and goes on; the last enter runs; esc cancels.'
  ]
}
