// The few blessed-contrib widgets the dashboard uses (the package ships no types).
declare module 'blessed-contrib' {
  import type { Widgets } from 'blessed'
  interface LineSeries { title: string, x: string[], y: number[], style?: { line?: string } }
  interface LineChart extends Widgets.BoxElement { setData (series: LineSeries[]): void }
  interface GaugeList extends Widgets.BoxElement { setGauges (gauges: Array<{ label: string, stack: Array<{ percent: number, stroke: string }> }>): void }
  export function line (options: Record<string, unknown>): LineChart
  export function gaugeList (options: Record<string, unknown>): GaugeList
}
