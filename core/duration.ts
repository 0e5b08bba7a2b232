// A duration as people read it at a glance, the same in the CLI's tables and the
// dashboard's: whole seconds, minutes, hours or days, rounded down past a minute.

export function shortDuration (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86400) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86400)}d`
}

/**
 * How old something known is, as lists of many members show it: tenths of a second
 * under 10 s (`0.4s`, where a heartbeat's age lives), then as shortDuration (`12s`, `3m`).
 */
export function shortAge (ms: number): string {
  const t = Math.max(0, ms)
  return t < 9950 ? `${(t / 1000).toFixed(1)}s` : shortDuration(t)
}
