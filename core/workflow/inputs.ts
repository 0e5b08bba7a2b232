// Checks the values a caller gives for a workflow's inputs against its declaration.
import { SeError, type ErrorDetail } from '../errors.js'
import { resolve } from '../paths.js'
import type { WorkflowDefinition } from './definition.js'

export function resolveInputs (def: WorkflowDefinition, given: Record<string, string>, workdir: string, source: string): Record<string, string> {
  const declared = def.inputs ?? {}
  const details: ErrorDetail[] = []
  const out: Record<string, string> = {}
  for (const name of Object.keys(given)) {
    if (declared[name] === undefined) {
      const known = Object.keys(declared)
      details.push({ path: `inputs.${name}`, message: `input '${name}' is not declared by ${def.name}${known.length > 0 ? ` (it takes: ${known.join(', ')})` : ' (it takes no inputs)'}` })
    }
  }
  for (const [name, input] of Object.entries(declared)) {
    let value = given[name] ?? (input.default === undefined ? undefined : String(input.default))
    if (value === undefined) {
      if (input.required === true) details.push({ path: `inputs.${name}`, message: `required input '${name}' is missing${input.description === undefined ? '' : ` (${input.description})`}: pass --input ${name}=VALUE` })
      continue
    }
    if (input.type === 'number' && !Number.isFinite(Number(value))) details.push({ path: `inputs.${name}`, message: `expected a number, got '${value}'` })
    if (input.type === 'boolean' && !['true', 'false'].includes(value)) details.push({ path: `inputs.${name}`, message: `expected true or false, got '${value}'` })
    if (input.type === 'path') value = resolve(workdir, value)
    out[name] = value
  }
  if (details.length > 0) throw SeError.validation(`inputs for ${def.name} (${source})`, details)
  return out
}
