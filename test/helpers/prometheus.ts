// A strict reader of the Prometheus text format (0.0.4), so a test fails on a
// malformed line rather than quietly skipping it.
import assert from 'node:assert/strict'

export interface Family { type: string, help: string, samples: Array<{ name: string, labels: Record<string, string>, value: number }> }

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parsePrometheus (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline')
  for (const line of text.split('\n').filter(l => l !== '')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line)
    if (help !== null) { families.set(help[1] as string, { type: '', help: help[2] as string, samples: [] }); continue }
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type !== null) {
      const f = families.get(type[1] as string)
      assert.ok(f !== undefined, `TYPE before HELP: ${line}`)
      f.type = type[2] as string
      continue
    }
    const m = SAMPLE.exec(line)
    assert.ok(m !== null, `not a Prometheus sample line: ${line}`)
    const name = m[1] as string
    const base = name.replace(/_(bucket|sum|count)$/, '')
    const family = families.get(name) ?? families.get(base)
    assert.ok(family !== undefined, `sample ${name} has no HELP/TYPE`)
    const labels: Record<string, string> = {}
    for (const l of (m[3] ?? '').matchAll(LABEL)) labels[l[1] as string] = l[2] as string
    family.samples.push({ name, labels, value: Number(m[4] === '+Inf' ? Infinity : m[4]) })
  }
  for (const [name, f] of families) {
    if (f.type !== 'histogram') continue
    // Buckets only grow with `le`, and +Inf equals the count.
    const series = new Map<string, number[]>()
    for (const s of f.samples.filter(s => s.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels
      const key = JSON.stringify(rest)
      series.set(key, [...(series.get(key) ?? []), s.value])
    }
    for (const counts of series.values()) for (let i = 1; i < counts.length; i++) assert.ok((counts[i] as number) >= (counts[i - 1] as number), `${name} buckets decrease`)
  }
  return families
}

/** The value of the sample of that name whose labels include all of `labels`, or undefined. */
export function sample (families: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''))
  const found = family?.samples.find(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)
  return found?.value
}
