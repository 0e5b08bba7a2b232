// Settings come from flags over SE_* environment variables over defaults. The
// environment reaches core as a lookup, so Node and Bare read it their own way.
import { SeError } from '../errors.js'

export type EnvLookup = (name: string) => string | undefined

/** A comma-separated list, or undefined when the variable is unset. */
export function listFrom (env: EnvLookup, name: string): string[] | undefined {
  const value = env(name)
  if (value === undefined) return undefined
  return value.split(',').map(s => s.trim()).filter(s => s !== '')
}

/** A positive number, or undefined when the variable is unset or empty. */
export function numberFrom (env: EnvLookup, name: string): number | undefined {
  const value = env(name)
  return value === undefined || value === '' ? undefined : positiveNumber(value, name)
}

/** A flag's or variable's text as a positive number; `name` says where it came from. */
export function positiveNumber (value: string, name: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw SeError.badInput(`${name} must be a positive number, got '${value}'`)
  return n
}

/** A string setting, with the empty string meaning unset. */
export function textFrom (env: EnvLookup, name: string): string | undefined {
  const value = env(name)
  return value === undefined || value === '' ? undefined : value
}
