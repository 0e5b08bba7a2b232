// Sizes of artifacts in bytes: SE_ARTIFACT_MAX as people write it (10G, 512M,
// or bytes), and sizes as messages show them.
import { SeError } from '../errors.js'

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
const SUFFIXES: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }

/** Bytes from `10G`, `512M`, `1.5GiB`, `4096`; suffixes are powers of 1024. */
export function parseSize (value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value)
  if (m === null) throw SeError.badArtifactMax(value)
  const bytes = Math.floor(Number(m[1]) * (SUFFIXES[(m[2] as string).toUpperCase()] as number))
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw SeError.badArtifactMax(value)
  return bytes
}

/** `12.0 GiB`: the largest unit that leaves a number of at least 1. */
export function showSize (bytes: number): string {
  let unit = 0
  let value = bytes
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit] as string}`
}
