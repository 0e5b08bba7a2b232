// A small Prometheus registry: counters and histograms kept as they happen,
// gauges read when scraped. Rendered in the text exposition format 0.0.4.
// Hand-written because core must run on Bare too, and prom-client is Node-only.

export type Labels = Record<string, string>

type Samples = Array<{ labels: Labels, value: number }>

interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  render (): string[] | Promise<string[]>
}

/** Seconds, from a millisecond to ten minutes: steps, calls and waits all fit. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600]
/** Interventions wait for people: seconds up to a day. */
export const WAIT_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]

export class MetricsRegistry {
  private readonly families: Family[] = []

  counter (name: string, help: string): Counter {
    const c = new Counter(name, help)
    this.families.push(c)
    return c
  }

  histogram (name: string, help: string, buckets: number[] = DURATION_BUCKETS): Histogram {
    const h = new Histogram(name, help, buckets)
    this.families.push(h)
    return h
  }

  /** A gauge (or a counter kept elsewhere) whose samples `collect` reads at scrape time. */
  collected (type: 'gauge' | 'counter', name: string, help: string, collect: () => Samples | Promise<Samples>): void {
    this.families.push({
      name,
      help,
      type,
      render: async () => (await collect()).map(s => `${name}${labelText(s.labels)} ${formatValue(s.value)}`)
    })
  }

  async render (): Promise<string> {
    const lines: string[] = []
    for (const f of this.families) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...await f.render())
    }
    return lines.join('\n') + '\n'
  }
}

export class Counter implements Family {
  readonly type = 'counter'
  private readonly values = new Map<string, { labels: Labels, value: number }>()

  constructor (readonly name: string, readonly help: string) {}

  inc (labels: Labels = {}, by = 1): void {
    const key = labelText(labels)
    const entry = this.values.get(key) ?? { labels, value: 0 }
    entry.value += by
    this.values.set(key, entry)
  }

  render (): string[] {
    return [...this.values.values()].map(e => `${this.name}${labelText(e.labels)} ${formatValue(e.value)}`)
  }
}

export class Histogram implements Family {
  readonly type = 'histogram'
  private readonly series = new Map<string, { labels: Labels, counts: number[], sum: number, count: number }>()

  constructor (readonly name: string, readonly help: string, private readonly buckets: number[]) {}

  observe (labels: Labels, value: number): void {
    this.seriesOf(labels)(value)
  }

  /** An observer bound to one set of labels, for callers on a hot path: the labels are keyed once, not per value. */
  seriesOf (labels: Labels): (value: number) => void {
    const key = labelText(labels)
    let s = this.series.get(key)
    if (s === undefined) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.series.set(key, s)
    }
    const series = s
    const buckets = this.buckets
    return value => {
      const counts = series.counts
      for (let i = 0; i < buckets.length; i++) if (value <= (buckets[i] as number)) counts[i] = (counts[i] ?? 0) + 1
      series.sum += value
      series.count++
    }
  }

  render (): string[] {
    const lines: string[] = []
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: formatValue(le) })} ${s.counts[i] ?? 0}`))
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`)
      lines.push(`${this.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`)
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`)
    }
    return lines
  }
}

function labelText (labels: Labels): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return `{${keys.map(k => `${k}="${escapeLabel(labels[k] as string)}"`).join(',')}}`
}

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function escapeHelp (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue (n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}
