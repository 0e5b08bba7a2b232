// The dashboard's widgets: they draw the view model and turn keys into model
// changes or node API calls. Nothing here decides anything about workflows,
// workloads or nodes; that is the model's and the node's.
import blessed from 'blessed'
import contrib from 'blessed-contrib'
import { SeError } from '../core/errors.js'
import type { CatalogueEntry, DeployRequest, NodeApi, SignedDecision, WorkflowRequest } from '../core/protocol/types.js'
import { approvalsLine } from '../core/workflow/approvals.js'
import type { DashboardModel, PaneId, Series } from './view-model.js'
import type { DashboardSource } from './source.js'
import { bar, sparkline } from './glyphs.js'
import { formFields, formInputs, formLines, missingFields, parseExecute } from './inputs-form.js'

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
  /** Signs a decision with the person's key (se key new), so the node holding the workflow knows who decided; absent without a key. */
  sign?: (workflowId: string, stepId: string, choice: string, comment: string | null) => SignedDecision
  /** What `:deploy FILE` and `:execute NAME` send, built by the caller (which knows files and the working dir). */
  requests: ScreenRequests
  output?: NodeJS.WriteStream
  input?: NodeJS.ReadStream
}

export interface ScreenRequests {
  deploy (file: string): Promise<DeployRequest>
  execute (name: string, inputs: Record<string, string>): WorkflowRequest
}

export class DashboardScreen {
  readonly screen: blessed.Widgets.Screen
  private panes = new Map<PaneId, Widget>()
  // Line charts draw in braille; a terminal without Unicode gets ASCII sparklines in plain boxes.
  private cpu: ReturnType<typeof contrib.line> | Widget | null = null
  private memory: ReturnType<typeof contrib.line> | Widget | null = null
  private gauges: Widget | null = null
  private status: Widget | null = null
  private prompt: Widget | null = null
  private overlay: Widget | null = null
  /** The long-message popup, when it is the overlay: it informs, so it never stands between a person and a decision. */
  private messageShown: Widget | null = null
  private stopOverlay: (() => void) | null = null
  /** The last message opened in a popup, so one message opens one popup. */
  private popped: string | null = null
  private inputOpen = false
  private closed: (() => void) | null = null
  readonly done: Promise<void>

  constructor (private readonly o: ScreenOptions) {
    const ascii = o.model.glyphs.ascii
    this.screen = blessed.screen({
      smartCSR: true,
      // Without Unicode nothing wide is drawn, and blessed must not assume the terminal takes UTF-8.
      fullUnicode: !ascii,
      forceUnicode: !ascii,
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
      const chart = (label: string, row: number): ReturnType<typeof contrib.line> | Widget => this.o.model.glyphs.ascii
        ? blessed.box({ parent: this.screen, top: row * chartHeight, left: '66%', width: '34%', height: chartHeight, label, border: { type: 'line' }, style: { border: { fg: 'gray' } } })
        : this.attach(contrib.line({
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
      const lines = tableLines(t.header, t.rows, width, pane === 'nodes' ? NODE_COLUMNS_DROPPED : [])
      // The nodes pane ends with its summary line (counts by state and capability).
      const footer = pane === 'nodes' && height >= 3 ? [` ${m.nodeSummary()}`.slice(0, width)] : []
      // Keep the selected row in view: scroll by whole pages.
      const bodyRows = Math.max(1, height - 1 - footer.length)
      const first = t.selected < 0 ? 0 : Math.floor(t.selected / bodyRows) * bodyRows
      const body = lines.slice(1 + first, 1 + first + bodyRows).map((l, i) => (first + i === t.selected && m.focus === pane ? `${m.glyphs.selected}${l.slice(1)}` : l))
      const shown = [lines[0] ?? '', ...body, ...Array<string>(footer.length === 0 ? 0 : bodyRows - body.length).fill(''), ...footer]
      box.setContent(shown.join('\n'))
      const filter = m.filter(pane)
      const sort = pane === 'nodes' ? ` by ${m.nodeSort}` : ''
      box.setLabel(` ${pane} ${t.rows.length}${t.rows.length === t.total ? '' : `/${t.total}`}${filter === '' ? '' : ` /${filter}`}${sort} `)
      box.style.border = { fg: m.focus === pane ? 'cyan' : 'gray' }
    }
    const audit = this.panes.get('audit')
    if (audit !== undefined) {
      const lines = m.auditLines()
      audit.setContent(lines.slice(-Math.max(1, (audit.height as number) - 2)).map(l => l.slice(0, (audit.width as number) - 2)).join('\n'))
      audit.setLabel(` audit${m.filter('audit') === '' ? '' : ` /${m.filter('audit')}`} `)
      audit.style.border = { fg: m.focus === 'audit' ? 'cyan' : 'gray' }
    }
    this.drawChart(this.cpu, m.cpuSeries())
    this.drawChart(this.memory, m.memorySeries())
    if (this.gauges !== null) {
      const width = Math.max(5, (this.gauges.width as number) - 22)
      this.gauges.setContent(m.gauges().map(g => `${g.label.padEnd(12).slice(0, 12)} ${bar(g.percent, width, m.glyphs)} ${String(Math.round(g.percent)).padStart(3)}%`).join('\n'))
    }
    this.renderPrompt()
    const width = this.screen.width as number
    this.status?.setContent(m.statusBar(width))
    this.popLongMessage(width)
    this.screen.render()
  }

  private drawChart (chart: ReturnType<typeof contrib.line> | Widget | null, series: Series[]): void {
    if (chart === null) return
    if ('setData' in chart) { chart.setData(seriesOrEmpty(series)); return }
    // name, sparkline, newest value: one node per line.
    const g = this.o.model.glyphs
    const width = Math.max(1, (chart.width as number) - 2 - 10 - 5)
    chart.setContent(series.length === 0
      ? 'no data'
      : series.map(s => `${s.title.padEnd(9).slice(0, 9)} ${sparkline(s.y, width, g).padEnd(width)} ${String(Math.round(s.y.at(-1) ?? 0)).padStart(3)}%`).join('\n'))
  }

  // A message longer than the status bar opens whole in a popup, wrapped, once.
  private popLongMessage (width: number): void {
    const m = this.o.model
    const msg = m.message
    if (msg === null || msg === this.popped || m.messageFits(width) || this.overlay !== null || this.inputOpen) return
    this.popped = msg
    const box = this.showOverlay(' message (esc or q closes) ', [msg])
    this.messageShown = box
    this.stopOverlay = m.onChange(() => {
      const now = m.message
      if (now !== null && now.length > 0) { this.popped = now; box.setContent(now) }
    })
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
      : `${current.choices.includes('approve') ? 'a approve  ' : ''}${current.choices.includes('reject') || current.choices.includes('abort') ? 'r reject (asks y/n)  ' : ''}1-${current.choices.length} choose  c comment  n/p next/prev`
    box.setLabel(` intervention ${index + 1} of ${queue.length} `)
    box.setContent([
      `${current.workflowName} ${current.workflowId}`,
      `step ${current.stepId} on ${current.node}`,
      '',
      current.prompt,
      ...current.approvals === null ? [] : [current.approvals],
      current.choices.map((c, i) => `[${i + 1}] ${c}`).join('  '),
      m.comment === '' ? '' : `comment: ${m.comment}`,
      keys
    ].join('\n'))
    box.show()
    // A y/n question or an input open over the prompt stays in front: a refresh while a person
    // reads "reject …? (y/n)" must not hide the question behind the prompt it is about.
    if (!this.inputOpen) box.setFront()
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
    s.key(['s'], guarded(() => m.cycleNodeSort()))
    s.key([':'], guarded(() => this.ask(':', '', text => { void this.command(text) })))
    s.key(['?'], guarded(() => this.showOverlay(' help ', m.help())))
    s.key(['d'], guarded(() => this.showDetails()))
    s.key(['l'], guarded(() => this.followLogs()))
    s.key(['x'], guarded(() => { void this.pickWorkflow() }))
    s.key(['n'], guarded(() => m.nextIntervention()))
    s.key(['p'], guarded(() => m.prevIntervention()))
    s.key(['c'], guarded(() => { if (m.current() !== null && !m.readonly) this.ask('comment: ', m.comment, text => m.setComment(text)) }))
    s.key(['a', 'r', '1', '2', '3', '4', '5', '6', '7', '8', '9'], (ch: string) => {
      this.closeMessage()
      if (this.inputOpen || this.overlay !== null) return
      const current = m.current()
      const choice = m.choiceForKey(ch)
      if (current === null || choice === null) return
      const decide = (): void => {
        void this.act(`${choice} ${current.workflowId}`, async () => {
          const comment = m.comment === '' ? null : m.comment
          const signed = this.o.sign?.(current.workflowId, current.stepId, choice, comment) ?? null
          const s = await this.o.api.resumeWorkflow(current.workflowId, { choice, comment, decidedBy: signed?.decision.name ?? this.o.user, stepId: current.stepId, signed })
          const still = s.interventions.find(i => i.stepId === current.stepId)
          const approvals = still === undefined ? null : approvalsLine(still)
          return { text: `${s.id}: ${choice} ${m.glyphs.ascii ? '->' : '→'} ${s.state}${signed === null ? '' : ' (signed)'}${approvals === null ? '' : `; ${approvals}`}`, about: { workflowId: s.id, state: s.state } }
        })
      }
      const ask = m.confirmChoice(choice)
      if (ask === null) decide()
      else this.confirm(ask.question, decide)
    })
    s.key(['C-d'], guarded(() => {
      this.closeMessage()
      if (this.overlay !== null) return
      const d = m.deletion()
      if ('error' in d) { m.setMessage(d.error); return }
      this.confirm(d.question, () => {
        if (d.kind === 'cancel') {
          void this.act(`cancel ${d.id}`, async () => {
            const reason = `cancelled from the dashboard by ${this.o.user}`
            const s = await this.o.api.cancelWorkflow(d.id, reason, this.o.sign?.(d.id, '', 'cancel', reason) ?? null)
            return { text: `${s.id}: ${s.state}`, about: { workflowId: s.id, state: s.state } }
          })
        } else {
          void this.act(`remove ${d.id}`, async () => {
            const s = await this.o.api.removeWorkload(d.id)
            return { text: `${s.id}: ${s.state}` }
          })
        }
      })
    }))
  }

  /** A y/n question over everything; only y goes on, any of n, esc or q says no. */
  private confirm (question: string, yes: () => void): void {
    this.inputOpen = true
    const box = blessed.box({
      parent: this.screen, top: 'center', left: 'center', width: Math.min((this.screen.width as number) - 2, Math.max(40, question.length + 4)), height: 5,
      label: ' confirm ', content: `${question}\n\ny: yes   n/esc: no`, border: { type: 'line' }, tags: false, keys: true, style: { border: { fg: 'red' } }
    })
    box.focus()
    box.setFront()
    this.screen.render()
    const finish = (ok: boolean): void => {
      this.inputOpen = false
      box.destroy()
      if (!ok) this.o.model.setMessage('not done: you said no')
      this.render()
      if (ok) yes()
    }
    box.key(['y', 'S-y'], () => finish(true))
    box.key(['n', 'S-n', 'escape', 'q'], () => finish(false))
  }

  /** Runs an action through the node API and shows its outcome in the status bar. */
  private async act (what: string, fn: () => Promise<Outcome | string>): Promise<void> {
    if (this.o.model.readonly) { this.o.model.setMessage('read-only: actions are off'); return }
    this.o.model.setMessage(`${what}${this.o.model.glyphs.ellipsis}`)
    let outcome: string
    let about: Outcome['about'] = null
    try {
      const done = await fn()
      outcome = typeof done === 'string' ? done : done.text
      if (typeof done !== 'string') about = done.about ?? null
    } catch (err) {
      // An error says what to do next: the node's hint goes with it.
      outcome = `${what} failed: ${err instanceof SeError ? `${err.reason}${err.details.map(d => `; ${d.path ?? ''} ${d.message}`).join('')}${err.hint === undefined ? '' : ` (${err.hint})`}` : (err as Error).message}`
    }
    this.o.model.setMessage(outcome, about)
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
      case 'execute': case 'x': {
        if (arg === '') { await this.pickWorkflow(); return }
        const parsed = parseExecute(arg)
        if ('error' in parsed) { m.setMessage(parsed.error); return }
        const entry = (await this.o.api.listCatalogue().catch(() => [])).find(e => e.name === parsed.name)
        // Only a missing required input opens the form; what was given on the line is in it already.
        const fields = entry === undefined ? [] : formFields(entry, parsed.inputs)
        if (entry !== undefined && missingFields(fields).length > 0) this.inputsForm(entry, fields)
        else await this.execute(parsed.name, parsed.inputs)
        return
      }
      case 'deploy': {
        if (arg === '') { m.setMessage('usage: :deploy FILE'); return }
        await this.act(`deploy ${arg}`, async () => {
          // Progress as it comes (pulls can take minutes); the answer when the first health look is in.
          const s = await this.o.api.deployWorkloadWatch(await this.o.requests.deploy(arg), e => { m.setMessage(`deploy ${arg}: ${e.event} ${e.text}`) })
          return `${s.id}: ${s.state} on ${s.engine}${s.reason === null ? '' : ` (${s.reason})`}`
        })
        return
      }
      case '': return
      default: m.setMessage(`unknown command :${verb} (try :execute NAME, :deploy FILE, :nodes, :workloads, :workflows, :audit, :quit)`)
    }
  }

  private async execute (name: string, inputs: Record<string, string> = {}): Promise<void> {
    await this.act(`execute ${name}`, async () => {
      const s = await this.o.api.executeWorkflow(this.o.requests.execute(name, inputs))
      return { text: `${s.name} ${s.id}: ${s.state}`, about: { workflowId: s.id, state: s.state } }
    })
  }

  /**
   * Asks for a workflow's inputs one after another on the input line, the whole
   * form shown above with defaults and descriptions; the last enter runs it.
   */
  private inputsForm (entry: CatalogueEntry, fields: ReturnType<typeof formFields>): void {
    const m = this.o.model
    const box = this.showOverlay(` run ${entry.name}: inputs `, [])
    // The note says what is wrong with the form; the status bar is under the input line then.
    const askField = (at: number, note = ''): void => {
      box.setContent([...formLines(entry, fields, at, m.glyphs.selected), note].join('\n'))
      const field = fields[at]
      if (field === undefined) {
        this.closeOverlay()
        void this.execute(entry.name, formInputs(fields))
        return
      }
      this.ask(`${field.name}${field.required ? '*' : ''}: `, field.value, text => {
        field.value = text.trim()
        if (field.required && field.value === '') askField(at, `${field.name} is required${field.description === '' ? '' : ` (${field.description})`}: type a value, or esc to cancel`)
        else askField(at + 1)
      }, () => {
        this.closeOverlay()
        m.setMessage(`not run: ${entry.name} was cancelled in its form`)
      })
    }
    askField(0)
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
      if (entry === undefined) return
      if (entry.inputs.length > 0) this.inputsForm(entry, formFields(entry))
      else void this.execute(entry.name)
    })
  }

  private followLogs (): void {
    if (this.o.model.focus === 'workflows') { this.followOutput(); return }
    const w = this.o.model.selectedWorkload()
    if (w === null) { this.o.model.setMessage('select a workload (tab to the workloads pane) or a workflow (the workflows pane) first'); return }
    const box = this.showOverlay(` logs ${w.id} (esc to close) `, [])
    let cancelled = false
    const lines: string[] = []
    this.stopOverlay = () => { cancelled = true }
    this.o.api.workloadLogs(w.id, true, 50, line => {
      if (cancelled) return false
      lines.push(`${line.container} ${this.o.model.glyphs.column} ${line.text}`)
      if (lines.length > 500) lines.shift()
      box.setContent(lines.slice(-((box.height as number) - 2)).join('\n'))
      this.screen.render()
    }).catch(err => { if (!cancelled) { lines.push(`logs ended: ${(err as Error).message}`); box.setContent(lines.join('\n')); this.screen.render() } })
  }

  /** The selected workflow's step output: what its steps kept, then live lines as they come. */
  private followOutput (): void {
    const m = this.o.model
    const w = m.selectedWorkflow()
    if (w === null) { m.setMessage('no workflow selected: pick one in the workflows pane with j/k, or tab to workloads for their logs'); return }
    const lines = m.workflowOutput(w)
    const step = m.followedStep(w)
    const box = this.showOverlay(` output ${w.name} ${w.id}${step === null ? '' : ` step ${step}`} (esc to close) `, [])
    let cancelled = false
    this.stopOverlay = () => { cancelled = true }
    const show = (): void => { box.setContent((lines.length === 0 ? ['no output yet'] : lines).slice(-((box.height as number) - 2)).join('\n')); this.screen.render() }
    show()
    this.o.api.watchWorkflow(w.id, e => {
      if (cancelled) return false
      if (e.kind !== 'OUTPUT') return
      lines.push(...e.text.replace(/\n$/, '').split('\n').map(l => m.outputLine(e.stepId ?? '-', l)))
      if (lines.length > 500) lines.splice(0, lines.length - 500)
      show()
    }).then(s => { if (!cancelled) { lines.push(`(${s.name} ${s.id} ${s.state}: no more output)`); show() } })
      .catch(err => { if (!cancelled) { lines.push(`output ended: ${(err as Error).message}`); show() } })
  }

  // Details follow the data while open, so a workflow's graph shows its states as they change.
  private showDetails (): void {
    const m = this.o.model
    if (m.details().length === 0) { m.setMessage(m.detailsEmpty()); return }
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

  private closeMessage (): void {
    if (this.overlay !== null && this.overlay === this.messageShown) this.closeOverlay()
  }

  private closeOverlay (): void {
    this.stopOverlay?.()
    this.stopOverlay = null
    this.overlay?.destroy()
    this.overlay = null
    this.messageShown = null
    this.render()
  }

  /** A one-line input at the bottom; enter applies, esc cancels. */
  private ask (label: string, initial: string, apply: (text: string) => void, cancel?: () => void): void {
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
      else cancel?.()
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
/**
 * `droppable`: columns (by header) left out, in this order, while the last column would get fewer than
 * LAST_COLUMN_MIN characters: on an 80-column terminal what a node can do matters more than its link.
 */
export function tableLines (header: string[], rows: string[][], width: number, droppable: string[] = []): string[] {
  const fits = (h: string[], r: string[][]): boolean => {
    const w = h.map((x, i) => Math.min(28, Math.max(x.length, ...r.map(row => (row[i] ?? '').length))))
    return 1 + w.slice(0, -1).reduce((sum, x) => sum + x + 2, 0) + LAST_COLUMN_MIN <= width
  }
  for (const name of droppable) {
    if (fits(header, rows)) break
    const at = header.indexOf(name)
    if (at < 0 || at === header.length - 1) continue
    header = header.filter((_, i) => i !== at)
    rows = rows.map(r => r.filter((_, i) => i !== at))
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  // The last column takes what is left; earlier ones are capped so one long cell cannot push the rest off screen.
  const capped = widths.map((w, i) => i === widths.length - 1 ? w : Math.min(w, 28))
  const line = (cells: string[]): string => ` ${cells.map((c, i) => (i === cells.length - 1 ? c : c.slice(0, capped[i]).padEnd(capped[i] ?? 0))).join('  ')}`.slice(0, width)
  return [line(header), ...rows.map(line)]
}

const LAST_COLUMN_MIN = 20
/** The nodes pane's columns a narrow terminal does without first (`d` still shows them). */
const NODE_COLUMNS_DROPPED = ['LINK', 'AGE', 'WORKFLOWS', 'WORKLOADS']

function seriesOrEmpty (series: Series[]): Array<Series & { style: { line: string } }> {
  const out = series.map((s, i) => ({ ...s, style: { line: COLORS[i % COLORS.length] as string } }))
  // The chart cannot draw no series at all.
  return out.length > 0 ? out : [{ title: 'no data', x: ['now'], y: [0], style: { line: 'gray' } }]
}

interface Outcome { text: string, about?: { workflowId: string, state: string } | null }
