// `${...}` references inside workflow strings. One parser serves both the
// validator (which references exist) and the engine (what they expand to).

export const STEP_FIELDS = ['stdout', 'stderr', 'exitCode', 'choice', 'comment', 'state'] as const
/** `${steps.ID.outputs.KEY}`: what the step wrote to $SE_OUTPUT. */
export const OUTPUTS_FIELD = 'outputs'
export const WORKFLOW_FIELDS = ['id', 'name', 'dir', 'file'] as const
export const NODE_FIELDS = ['id', 'name', 'dataDir', 'cli'] as const

export type TemplatePart = { text: string } | { ref: string[], raw: string }

export class TemplateSyntaxError extends Error {}

/** Splits a string into literal text and references. `$${` is a literal `${`. */
export function parseTemplate (value: string): TemplatePart[] {
  const parts: TemplatePart[] = []
  let text = ''
  let i = 0
  while (i < value.length) {
    if (value.startsWith('$${', i)) { text += '${'; i += 3; continue }
    if (value.startsWith('${', i)) {
      const end = value.indexOf('}', i + 2)
      if (end === -1) throw new TemplateSyntaxError(`unterminated '\${' at character ${i + 1}`)
      const raw = value.slice(i + 2, end).trim()
      // A matrix instance is named in brackets: steps.test[shard=1].outputs.k.
      if (!/^[A-Za-z_][\w.-]*(\[[\w.=,-]+\][\w.-]*)?$/.test(raw)) throw new TemplateSyntaxError(`'\${${raw}}' is not a reference such as \${inputs.name} or \${steps.id.stdout}`)
      if (text !== '') { parts.push({ text }); text = '' }
      parts.push({ ref: splitRef(raw), raw })
      i = end + 1
      continue
    }
    text += value[i]
    i++
  }
  if (text !== '') parts.push({ text })
  return parts
}

// Step ids (and matrix values) may contain dots, so `steps.a.b.stdout` is steps / `a.b` /
// stdout, and `steps.a.outputs.k` is steps / `a` / outputs / k.
export function splitRef (raw: string): string[] {
  const segments = raw.split('.')
  if (segments[0] !== 'steps') return segments
  if (segments.length >= 4 && segments[segments.length - 2] === 'outputs') {
    return ['steps', segments.slice(1, -2).join('.'), 'outputs', segments[segments.length - 1] as string]
  }
  if (segments.length > 3) return ['steps', segments.slice(1, -1).join('.'), segments[segments.length - 1] as string]
  return segments
}

export function references (value: string): string[][] {
  return parseTemplate(value).flatMap(part => 'ref' in part ? [part.ref] : [])
}

export type Resolver = (ref: string[]) => string | undefined

/** Expands every reference; an unresolvable one is an error naming it. */
export function expand (value: string, resolve: Resolver): string {
  let out = ''
  for (const part of parseTemplate(value)) {
    if ('text' in part) { out += part.text; continue }
    const resolved = resolve(part.ref)
    if (resolved === undefined) throw new TemplateSyntaxError(`\${${part.raw}} has no value`)
    out += resolved
  }
  return out
}
