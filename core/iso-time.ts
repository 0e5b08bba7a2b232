// An instant as `Date#toISOString` writes it (2026-12-01T14:08:09.589Z), by arithmetic on the
// milliseconds alone. On Bare the first Date object a process makes loads the time zone
// rules (about 1 MiB it keeps): a node whose only Dates would be its log's timestamps
// does without. Days to a civil date after Howard Hinnant's `civil_from_days`.

const DAY_MS = 86_400_000

export function isoTime (ms: number): string {
  const days = Math.floor(ms / DAY_MS)
  const inDay = ms - days * DAY_MS
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365)
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const mp = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  const two = (n: number): string => String(n).padStart(2, '0')
  const time = `${two(Math.floor(inDay / 3_600_000))}:${two(Math.floor(inDay / 60_000) % 60)}:${two(Math.floor(inDay / 1000) % 60)}.${String(inDay % 1000).padStart(3, '0')}`
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}T${time}Z`
}
