// The dashboard's widgets: they draw the view model and turn keys into model
// changes or node API calls. Nothing here decides anything about workflows,
// workloads or nodes; that is the model's and the node's.
import blessed from 'blessed'
import contrib from 'blessed-contrib'
import type { DeployRequest, NodeApi, WorkflowRequest } from '../core/protocol/types.js'
import type { DashboardModel, PaneId, Series } from './view-model.js'
import type { DashboardSource } from './source.js'

/** Below this width the graphs go and the tables take the whole screen. */
const WIDE = 100
const COLORS = ['yellow', 'cyan', 'magenta', 'green', 'red', 'blue', 'white']
const TABLE_PANES = ['nodes', 'workloads', 'workflows'] as const
const MESSAGE_MS = 6000

type Widget = blessed.Widgets.BoxElement

export interface ScreenOptions {
  api: NodeApi
  model: DashboardModel
  source: DashboardSource
  /** Who approves, for the audit trail. */
  user: string
  /** What `:deploy FILE` and `:execute NAME` send, built by the caller (which knows files and the working dir). */
  requests: ScreenRequests
  output?: NodeJS.WriteStream
  input?: NodeJS.ReadStream
}

export interface ScreenRequests {
  deploy (file: string): Promise<DeployRequest>
  execute (name: string): WorkflowRequest
}

export class DashboardScreen {
  readonly screen: blessed.Widgets.Screen
  private panes = new Map<PaneId, Widget>()
  private cpu: ReturnType<typeof contrib.line> | null = null
  private memory: ReturnType<typeof contrib.line> | null = null
  private gauges: Widget | null = null
  private status: Widget | null = null
  private prompt: Widget | null = null
  private overlay: Widget | null = null
  private stopOverlay: (() => void) | null = null
  private inputOpen = false
  private closed: (() => void) | null = null
  readonly done: Promise<void>

  constructor (private readonly o: ScreenOptions) {
    this.screen = blessed.screen({
      smartCSR: true,
      fullUnicode: true,
      title: 'SE Mesh',
      autoPadding: true,
      ...(o.output === undefined ? {} : { output: o.output }),
      ...(o.input === undefined ? {} : { input: o.input })
    })
    this.done = new Promise(resolve => { this.closed = resolve })
    this.layout()
    this.screen.on('resize', () => { this.layout(); this.render() })
    this.bindKeys()
    o.model.onChange(() => this.render())
    this.render()
  }

  /** Builds the widgets for the current size: graphs beside the tables when wide, tables alone when narrow. */
  private layout (): void {
    for (const w of [...this.panes.values(), this.cpu, this.memory, this.gauges, this.status, this.prompt]) w?.destroy()
    this.panes.clear()
    const wide = (this.screen.width as number) >= WIDE
    const tableWidth = wide ? '66%' : '100%'
    const body = (this.screen.height as number) - 1
    // Shares of the body's height: nodes, workloads, workflows, audit.
    const shares = [0.28, 0.24, 0.24, 0.24]
    let top = 0
    PANE_ORDER.forEach((pane, i) => {
      const height = i === PANE_ORDER.length - 1 ? body - top : Math.max(3, Math.round(body * (shares[i] as number)))
      const box = blessed.box({
        parent: this.screen,
        top,
        left: 0,
        width: pane === 'audit' ? '100%' : tableWidth,
        height,
        label: ` ${pane} `,
        border: { type: 'line' },
        tags: false,
        wrap: false,
        style: { border: { fg: 'gray' }, label: { bold: true } }
      })
      this.panes.set(pane, box)
      top += height
    })
    this.cpu = this.memory = null
    this.gauges = null
    if (wide) {
      const chartHeight = Math.floor((body - (this.panes.get('audit')?.height as number)) / 3)
      // Appended after construction: the chart makes its canvas on 'attach', which `parent` fires too early.
      const chart = (label: string, row: number): ReturnType<typeof contrib.line> => this.attach(contrib.line({
        top: row * chartHeight, left: '66%', width: '34%', height: chartHeight,
        label, showLegend: true, legend: { width: 14 }, minY: 0, maxY: 100, wholeNumbersOnly: true, border: { type: 'line' }, style: { line: 'yellow', text: 'green', baseline: 'black', border: { fg: 'gray' } }
      }))
      this.cpu = chart(' cpu % ', 0)
      this.memory = chart(' memory % ', 1)
      this.gauges = blessed.box({ parent: this.screen, top: 2 * chartHeight, left: '66%', width: '34%', height: body - (this.panes.get('audit')?.height as number) - 2 * chartHeight, label: ' selected ', border: { type: 'line' }, style: { border: { fg: 'gray' } } })
    }
    this.status = blessed.box({ parent: this.screen, bottom: 0, left: 0, width: '100%', height: 1, style: { inverse: true } })
    this.prompt = blessed.box({
      parent: this.screen, top: 'center', left: 'center', width: '70%', height: 9, hidden: true,
      label: ' intervention ', border: { type: 'line' }, tags: false, style: { border: { fg: 'yellow' } }
    })
  }

  private attach<T extends Widget> (widget: T): T {
    this.screen.append(widget)
    return widget
  }

  render (): void {
    const m = this.o.model
    for (const pane of TABLE_PANES) {
      const box = this.panes.get(pane)
      if (box === undefined) continue
      const t = m.table(pane)
      const width = (box.width as number) - 2
      const height = (box.height as number) - 2
      const lines = tableLines(t.header, t.rows, width)
      // Keep the selected row in view: scroll by whole pages.
      const bodyRows = Math.max(1, height - 1)
      const first = t.selected < 0 ? 0 : Math.floor(t.selected / bodyRows) * bodyRows
      const shown = [lines[0] ?? '', ...lines.slice(1 + first, 1 + first + bodyRows).map((l, i) => (first + i === t.selected && m.focus === pane ? `▶${l.slice(1)}` : l))]
      box.setContent(shown.join('\n'))
      const filter = m.filter(pane)
      box.setLabel(` ${pane} ${t.rows.length}${t.rows.length === t.total ? '' : `/${t.total}`}${filter === '' ? '' : ` /${filter}`} `)
      box.style.border = { fg: m.focus === pane ? 'cyan' : 'gray' }
    }
    const audit = this.panes.get('audit')
    if (audit !== undefined) {
      const lines = m.auditLines()
      audit.setContent(lines.slice(-Math.max(1, (audit.height as number) - 2)).map(l => l.slice(0, (audit.width as number) - 2)).join('\n'))
      audit.setLabel(` audit${m.filter('audit') === '' ? '' : ` /${m.filter('audit')}`} `)
      audit.style.border = { fg: m.focus === 'audit' ? 'cyan' : 'gray' }
    }
    if (this.cpu !== null) this.cpu.setData(seriesOrEmpty(m.cpuSeries()))
    if (this.memory !== null) this.memory.setData(seriesOrEmpty(m.memorySeries()))
    if (this.gauges !== null) {
      const width = Math.max(5, (this.gauges.width as number) - 22)
      this.gauges.setContent(m.gauges().map(g => `${g.label.padEnd(12).slice(0, 12)} ${bar(g.percent, width)} ${String(Math.round(g.percent)).padStart(3)}%`).join('\n'))
    }
    this.renderPrompt()
    this.status?.setContent(m.statusBar(this.screen.width as number))
    this.screen.render()
  }

  private renderPrompt (): void {
    const box = this.prompt
    if (box === null) return
    const m = this.o.model
    const current = m.current()
    if (current === null || this.overlay !== null) { box.hide(); return }
    const queue = m.interventions()
    const index = queue.findIndex(i => i.workflowId === current.workflowId)
    const keys = m.readonly
      ? 'read-only: answer with se approve'
      : `${current.choices.includes('approve') ? 'a approve  ' : ''}${current.choices.includes('reject') || current.choices.includes('abort') ? 'r reject  ' : ''}1-${current.choices.length} choose  c comment  n/p next/prev`
    box.setLabel(` intervention ${index + 1} of ${queue.length} `)
    box.setContent([
      `${current.workflowName} ${current.workflowId}`,
      `step ${current.stepId} on ${current.node}`,
      '',
      current.prompt,
      current.choices.map((c, i) => `[${i + 1}] ${c}`).join('  '),
      m.comment === '' ? '' : `comment: ${m.comment}`,
      keys
    ].join('\n'))
    box.show()
    box.setFront()
  }

  private bindKeys (): void {
    const s = this.screen
    const m = this.o.model
    const guarded = (fn: () => void) => () => { if (!this.inputOpen) fn() }
    // q closes an open overlay first; only ctrl-c quits from anywhere but an input line.
    s.key(['q'], () => { if (this.inputOpen) return; if (this.overlay !== null) this.closeOverlay(); else this.close() })
    s.key(['C-c'], () => { if (!this.inputOpen) this.close() })
    s.key(['tab'], guarded(() => m.focusNext()))
    s.key(['S-tab'], guarded(() => m.focusPrev()))
    s.key(['down', 'j'], guarded(() => m.move(1)))
    s.key(['up', 'k'], guarded(() => m.move(-1)))
    s.key(['pagedown'], guarded(() => m.move(10)))
    s.key(['pageup'], guarded(() => m.move(-10)))
    s.key(['escape'], () => { if (this.overlay !== null) this.closeOverlay() })
    s.key(['/'], guarded(() => this.ask(`filter ${m.focus}: `, m.filter(m.focus), text => m.setFilter(m.focus, text))))
    s.key([':'], guarded(() => this.ask(':', '', text => { void this.command(text) })))
    s.key(['?'], guarded(() => this.showOverlay(' help ', m.help())))
    s.key(['d'], guarded(() => this.showDetails()))
    s.key(['l'], guarded(() => this.followLogs()))
    s.key(['x'], guarded(() => { void this.pickWorkflow() }))
    s.key(['n'], guarded(() => m.nextIntervention()))
    s.key(['p'], guarded(() => m.prevIntervention()))
    s.key(['c'], guarded(() => { if (m.current() !== null && !m.readonly) this.ask('comment: ', m.comment, text => m.setComment(text)) }))
    s.key(['a', 'r', '1', '2', '3', '4', '5', '6', '7', '8', '9'], (ch: string) => {
      if (this.inputOpen || this.overlay !== null) return
      const current = m.current()
      const choice = m.choiceForKey(ch)
      if (current === null || choice === null) return
      void this.act(`${choice} ${current.workflowId}`, async () => {
        const s = await this.o.api.resumeWorkflow(current.workflowId, { choice, comment: m.comment === '' ? null : m.comment, decidedBy: this.o.user, stepId: current.stepId })
        return `${s.id}: ${choice} → ${s.state}`
      })
    })
  }

  /** Runs an action through the node API and shows its outcome in the status bar. */
  private async act (what: string, fn: () => Promise<string>): Promise<void> {
    if (this.o.model.readonly) { this.o.model.setMessage('read-only: actions are off'); return }
    this.o.model.setMessage(`${what}…`)
    let outcome: string
    try {
      outcome = await fn()
    } catch (err) {
      outcome = `${what} failed: ${(err as Error).message}`
    }
    this.o.model.setMessage(outcome)
    // An outcome stays long enough to read, then gives the status bar back to the key hints.
    setTimeout(() => { if (this.o.model.message === outcome) this.o.model.setMessage(null) }, MESSAGE_MS).unref()
    await this.o.source.poll()
  }

  private async command (line: string): Promise<void> {
    const m = this.o.model
    const [verb = '', ...rest] = line.trim().split(/\s+/)
    const arg = rest.join(' ')
    switch (verb) {
      case 'q': case 'quit': this.close(); return
      case 'nodes': case 'workloads': case 'workflows': case 'audit': m.setFocus(verb); return
      case 'execute': case 'x':
        if (arg === '') { await this.pickWorkflow(); return }
        await this.execute(arg)
        return
      case 'deploy': {
        if (arg === '') { m.setMessage('usage: :deploy FILE'); return }
        await this.act(`deploy ${arg}`, async () => {
          const s = await this.o.api.deployWorkload(await this.o.requests.deploy(arg))
          return `${s.id}: ${s.state} on ${s.engine}${s.reason === null ? '' : ` (${s.reason})`}`
        })
        return
      }
      case '': return
      default: m.setMessage(`unknown command :${verb} (try :execute NAME, :deploy FILE, :nodes, :workloads, :workflows, :audit, :quit)`)
    }
  }

  private async execute (name: string): Promise<void> {
    await this.act(`execute ${name}`, async () => {
      const s = await this.o.api.executeWorkflow(this.o.requests.execute(name))
      return `${s.name} ${s.id}: ${s.state}`
    })
  }

  private async pickWorkflow (): Promise<void> {
    const entries = await this.o.api.listCatalogue().catch(() => [])
    if (entries.length === 0) { this.o.model.setMessage('the catalogue is empty'); return }
    const list = blessed.list({
      parent: this.screen, top: 'center', left: 'center', width: '60%', height: Math.min(entries.length + 2, 16),
      label: ' run which workflow? (enter, esc) ', border: { type: 'line' }, keys: true, vi: true,
      items: entries.map(e => `${e.name}${e.inputs.length === 0 ? '' : ` (${e.inputs.join(', ')})`}  ${e.description}`),
      style: { selected: { inverse: true }, border: { fg: 'cyan' } }
    })
    this.inputOpen = true
    list.focus()
    this.screen.render()
    const finish = (): void => { this.inputOpen = false; list.destroy(); this.render() }
    list.key(['escape', 'q'], finish)
    list.on('select', (_item: unknown, index: number) => {
      finish()
      const entry = entries[index]
      if (entry !== undefined) void this.execute(entry.name)
    })
  }

  private followLogs (): void {
    const w = this.o.model.selectedWorkload()
    if (w === null) { this.o.model.setMessage('select a workload first (tab to the workloads pane)'); return }
    const box = this.showOverlay(` logs ${w.id} (esc to close) `, [])
    let cancelled = false
    const lines: string[] = []
    this.stopOverlay = () => { cancelled = true }
    this.o.api.workloadLogs(w.id, true, 50, line => {
      if (cancelled) return false
      lines.push(`${line.container} │ ${line.text}`)
      if (lines.length > 500) lines.shift()
      box.setContent(lines.slice(-((box.height as number) - 2)).join('\n'))
      this.screen.render()
    }).catch(err => { if (!cancelled) { lines.push(`logs ended: ${(err as Error).message}`); box.setContent(lines.join('\n')); this.screen.render() } })
  }

  // Details follow the data while open, so a workflow's graph shows its states as they change.
  private showDetails (): void {
    const m = this.o.model
    const box = this.showOverlay(' details ', m.details())
    this.stopOverlay = m.onChange(() => {
      box.setContent(m.details().join('\n'))
      this.screen.render()
    })
  }

  private showOverlay (label: string, lines: string[]): Widget {
    this.closeOverlay()
    this.overlay = blessed.box({
      parent: this.screen, top: 'center', left: 'center', width: '80%', height: '80%', label,
      content: lines.join('\n'), border: { type: 'line' }, scrollable: true, alwaysScroll: true, keys: true, vi: true,
      style: { border: { fg: 'cyan' } }
    })
    this.overlay.focus()
    this.render()
    return this.overlay
  }

  private closeOverlay (): void {
    this.stopOverlay?.()
    this.stopOverlay = null
    this.overlay?.destroy()
    this.overlay = null
    this.render()
  }

  /** A one-line input at the bottom; enter applies, esc cancels. */
  private ask (label: string, initial: string, apply: (text: string) => void): void {
    this.inputOpen = true
    const input = blessed.textbox({ parent: this.screen, bottom: 0, left: 0, width: '100%', height: 1, inputOnFocus: false, value: initial, style: { bg: 'blue' } })
    const caption = blessed.text({ parent: this.screen, bottom: 0, left: 0, content: label, style: { bg: 'blue', bold: true } })
    input.left = label.length
    this.screen.render()
    input.readInput((err, value) => {
      input.destroy()
      caption.destroy()
      this.inputOpen = false
      if (err === null && value !== undefined && value !== null) apply(value)
      this.render()
    })
  }

  close (): void {
    if (this.closed === null) return
    this.stopOverlay?.()
    this.o.source.stop()
    this.screen.destroy()
    const resolve = this.closed
    this.closed = null
    resolve()
  }
}

const PANE_ORDER: PaneId[] = ['nodes', 'workloads', 'workflows', 'audit']

/** Column-aligned lines: a header and one line per row, cut to the pane's width. */
export function tableLines (header: string[], rows: string[][], width: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  // The last column takes what is left; earlier ones are capped so one long cell cannot push the rest off screen.
  const capped = widths.map((w, i) => i === widths.length - 1 ? w : Math.min(w, 28))
  const line = (cells: string[]): string => ` ${cells.map((c, i) => (i === cells.length - 1 ? c : c.slice(0, capped[i]).padEnd(capped[i] ?? 0))).join('  ')}`.slice(0, width)
  return [line(header), ...rows.map(line)]
}

function seriesOrEmpty (series: Series[]): Array<Series & { style: { line: string } }> {
  const out = series.map((s, i) => ({ ...s, style: { line: COLORS[i % COLORS.length] as string } }))
  // The chart cannot draw no series at all.
  return out.length > 0 ? out : [{ title: 'no data', x: ['now'], y: [0], style: { line: 'gray' } }]
}

function bar (percent: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(width * percent / 100)))
  return '█'.repeat(filled) + '░'.repeat(width - filled)
}
