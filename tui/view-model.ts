// Everything `se dashboard` shows, without blessed: tables, selection, filters,
// graph history and the intervention queue. tui/screen.ts only draws this and
// sends key actions back, so what a person sees can be tested without a terminal.
import { formatAsciiAuditLine, formatAuditLine } from '../core/audit/format.js'
import { shortDuration } from '../core/duration.js'
import { capabilityList, cpuPercent, policyRefusals } from '../core/node/node-facts.js'
import { ageText, byStateThenName, knownAgeMs, linkText, matchesFilter, nodeSummary } from '../core/node/node-summary.js'
import { approvalsLine } from '../core/workflow/approvals.js'
import { graphRows, pendingInterventions, runningSteps, type GraphRow } from '../core/workflow/graph-view.js'
import type { AuditRecord, MeshNode, NodeSample, WorkflowStatus, WorkloadStatus } from '../core/protocol/types.js'
import { glyphsFor, type Glyphs } from './glyphs.js'
import { cancelWorkflow, confirmChoice, defaultChoice, removeWorkload, type Confirmation, type Deletion } from './decisions.js'

export type PaneId = 'nodes' | 'workloads' | 'workflows' | 'audit'
export const PANES: PaneId[] = ['nodes', 'workloads', 'workflows', 'audit']

const DEFAULT_HISTORY_MS = 5 * 60_000
const DEFAULT_AUDIT_LINES = 200
/** What `s` cycles the nodes pane through. */
export const NODE_SORTS = ['state', 'name', 'load', 'age'] as const
export type NodeSort = typeof NODE_SORTS[number]
/** The graphs draw this many nodes at most: the selected one and the first of the nodes pane. */
export const GRAPH_NODES = 8
const ACTIVE_WORKFLOW_STATES = new Set(['running', 'pending', 'waiting_node'])
const FINISHED_WORKFLOW_STATES = new Set(['completed', 'failed', 'cancelled'])
const HEADERS = {
  nodes: ['NAME', 'STATE', 'AGE', 'LINK', 'LOAD', 'MEMORY', 'RTT', 'WORKLOADS', 'WORKFLOWS', 'CAPABILITIES'],
  workloads: ['ID', 'NODE', 'ENGINE', 'STATE', 'PORTS', 'RESTARTS', 'UPTIME'],
  workflows: ['NAME', 'ID', 'STATE', 'STEP', 'NODE', 'ELAPSED']
}
/** Status bar hints; the flagged ones change something and are hidden when read-only. */
const HINTS: Array<[string, boolean]> = [
  ['tab pane', false], ['UPDOWN row', false], ['/ filter', false], [': command', false], ['? help', false],
  ['l logs', false], ['d details', false], ['x run', true], ['a/r approve/reject', true], ['ctrl-d cancel/remove', true], ['q quit', false]
]
/** Help overlay: [keys, what they do, changes something]. */
export const HELP_KEYS: Array<[string, string, boolean]> = [
  ['tab / shift-tab', 'next / previous pane', false],
  ['UPDOWN', 'move the selection', false],
  ['/', 'filter the focused pane (empty text clears); on nodes every word must match a name, key, capability or state', false],
  ['s', 'sort the nodes pane: by state, name, load (busiest first), age (stalest first)', false],
  [':', 'type a command', false],
  ['?', 'this help', false],
  ['l', 'logs of the selected workload, or live output of the selected workflow\'s steps', false],
  ['d', 'details of the selected row', false],
  ['x', 'run a workflow (asks for its inputs)', true],
  ['a', 'approve the current intervention (one key: the default choice)', true],
  ['r', 'reject (or abort) the current intervention; asks y/n first', true],
  ['1-9', 'pick that choice; any but the default asks y/n first', true],
  ['ctrl-d', 'cancel the selected workflow / remove the selected workload; asks y/n first', true],
  ['n / p', 'next / previous pending intervention', false],
  ['c', 'comment on the current intervention', true],
  ['q', 'quit', false]
]
export const HELP_COMMANDS: Array<[string, string, boolean]> = [
  [':execute NAME', 'run the catalogue workflow NAME (a form asks for missing inputs)', true],
  [':execute NAME -i k=v', 'run it with inputs given (repeat -i; --input works too)', true],
  [':deploy FILE', 'deploy the workload manifest FILE', true],
  [':nodes', 'focus the nodes pane', false],
  [':workloads', 'focus the workloads pane', false],
  [':workflows', 'focus the workflows pane', false],
  [':audit', 'focus the audit pane', false],
  [':quit', 'quit', false]
]

export interface Snapshot {
  nodes: MeshNode[]
  workloads: WorkloadStatus[]
  workflows: WorkflowStatus[]
  meshName: string | null
  at: number
}

export interface Table { header: string[], rows: string[][], selected: number, total: number }
export interface Series { title: string, x: string[], y: number[] }

export interface PendingIntervention {
  workflowId: string
  workflowName: string
  stepId: string
  node: string
  prompt: string
  choices: string[]
  requestedAt: number
  /** `approvals 1/2: ann; needs 1 more of release`, when it counts people's signed approvals. */
  approvals: string | null
}

export interface ModelOptions { now?: () => number, historyMs?: number, auditLines?: number, readonly?: boolean, ascii?: boolean }


type TablePane = Exclude<PaneId, 'audit'>
// `matches` replaces matching the joined cells, for a pane whose filter knows its items (nodes).
interface Row<T> { key: string, cells: string[], item: T, matches?: (needle: string) => boolean }
interface Point { at: number, cpu: number, memory: number }

export { cpuPercent }

export function memoryPercent (s: NodeSample): number { return s.memoryTotalMb > 0 ? Math.min(100, s.memoryUsedMb / s.memoryTotalMb * 100) : 0 }

export function truncate (text: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return ''
  return text.length <= width ? text : `${text.slice(0, width - 1)}${ellipsis}`
}

function gib (mb: number): string { return (mb / 1024).toFixed(1).replace(/\.0$/, '') }

function bytes (n: number | null): string {
  if (n === null) return 'none'
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`
}

function iso (ms: number | null): string { return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') }

function clamp (n: number, lo: number, hi: number): number { return Math.max(lo, Math.min(hi, n)) }

function field (label: string, value: string): string { return `${label.padEnd(13)}${value}` }

function byRequest (a: { requestedAt: number, workflowId: string }, b: { requestedAt: number, workflowId: string }): number {
  return a.requestedAt - b.requestedAt || a.workflowId.localeCompare(b.workflowId)
}

export class DashboardModel {
  readonly readonly: boolean
  readonly glyphs: Glyphs
  private readonly now: () => number
  private readonly historyMs: number
  private readonly auditCap: number
  private readonly listeners = new Set<() => void>()
  private snap: Snapshot = { nodes: [], workloads: [], workflows: [], meshName: null, at: 0 }
  private names = new Map<string, string>()
  private readonly history = new Map<string, Point[]>()
  private audit: Array<{ seq: number, line: string }> = []
  private focused: PaneId = 'nodes'
  private readonly filters: Record<PaneId, string> = { nodes: '', workloads: '', workflows: '', audit: '' }
  // The key keeps a row selected while rows move; the index is where to clamp to when it goes.
  private readonly selection: Record<TablePane, { key: string | null, index: number }> = {
    nodes: { key: null, index: 0 }, workloads: { key: null, index: 0 }, workflows: { key: null, index: 0 }
  }
  private nodeOrder: NodeSort = 'state'
  // The nodes pane's rows for one snapshot, order and instant: several calls per refresh ask for them.
  private nodeCache: { snap: Snapshot, order: NodeSort, now: number, rows: Array<Row<MeshNode>> } | null = null
  private currentId: string | null = null
  private currentRef: { requestedAt: number, workflowId: string } | null = null
  private currentToken: string | null = null
  private draft = ''
  private msg: string | null = null
  // The workflow an outcome was about and its state then: once it moves on, the outcome is stale.
  private msgAbout: { workflowId: string, state: string } | null = null

  constructor (opts: ModelOptions = {}) {
    this.now = opts.now ?? Date.now
    this.historyMs = opts.historyMs ?? DEFAULT_HISTORY_MS
    this.auditCap = opts.auditLines ?? DEFAULT_AUDIT_LINES
    this.readonly = opts.readonly ?? false
    this.glyphs = glyphsFor(opts.ascii ?? false)
  }

  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private changed (): void {
    for (const listener of [...this.listeners]) listener()
  }

  update (snapshot: Snapshot): void {
    this.snap = snapshot
    this.names = new Map(snapshot.nodes.map(n => [n.nodeId, n.name]))
    const cutoff = snapshot.at - this.historyMs
    for (const node of snapshot.nodes) {
      if (node.sample === null) continue
      const points = this.history.get(node.nodeId) ?? []
      // A repeated poll result must not draw the same instant twice.
      if (points.at(-1)?.at !== snapshot.at) points.push({ at: snapshot.at, cpu: cpuPercent(node.sample), memory: memoryPercent(node.sample) })
      this.history.set(node.nodeId, points)
    }
    for (const [id, points] of this.history) {
      const kept = points.filter(p => p.at >= cutoff)
      if (kept.length === 0 || !this.names.has(id)) this.history.delete(id)
      else this.history.set(id, kept)
    }
    for (const pane of ['nodes', 'workloads', 'workflows'] as const) this.settle(pane)
    this.settleIntervention()
    const about = this.msgAbout
    if (about !== null && snapshot.workflows.find(w => w.id === about.workflowId)?.state !== about.state) {
      this.msg = null
      this.msgAbout = null
    }
    this.changed()
  }

  addAudit (records: AuditRecord[]): void {
    // Polls overlap (the source asks from its last seq, a restart asks again), so repeats are normal.
    const seen = new Set(this.audit.map(a => a.seq))
    const fresh: Array<{ seq: number, line: string }> = []
    for (const r of records) {
      if (seen.has(r.seq)) continue
      seen.add(r.seq)
      fresh.push({ seq: r.seq, line: this.glyphs.ascii ? formatAsciiAuditLine(r) : formatAuditLine(r) })
    }
    if (fresh.length === 0) return
    this.audit = [...this.audit, ...fresh]
      .sort((a, b) => a.seq - b.seq)
      .slice(-this.auditCap)
    this.changed()
  }

  // Panes, selection, filter

  get focus (): PaneId { return this.focused }
  focusNext (): void { this.cycle(1) }
  focusPrev (): void { this.cycle(-1) }
  setFocus (pane: PaneId): void { this.focused = pane; this.changed() }

  private cycle (delta: number): void {
    this.setFocus(PANES[(PANES.indexOf(this.focused) + delta + PANES.length) % PANES.length] ?? 'nodes')
  }

  /** The audit pane has no selection (the renderer scrolls it), so this does nothing there. */
  move (delta: number): void {
    if (this.focused === 'audit') return
    const pane = this.focused
    const rows = this.visible(pane)
    if (rows.length === 0) return
    const index = clamp(this.resolve(pane, rows) + delta, 0, rows.length - 1)
    this.selection[pane] = { key: rows[index]?.key ?? null, index }
    this.changed()
  }

  table (pane: TablePane): Table {
    const all = this.rows(pane)
    const rows = this.filtered(pane, all)
    return { header: HEADERS[pane], rows: rows.map(r => r.cells), selected: this.resolve(pane, rows), total: all.length }
  }

  auditLines (): string[] {
    const needle = this.filters.audit.toLowerCase()
    return this.audit.map(a => a.line).filter(line => line.toLowerCase().includes(needle))
  }

  setFilter (pane: PaneId, text: string): void {
    this.filters[pane] = text
    if (pane !== 'audit') this.settle(pane)
    this.changed()
  }

  filter (pane: PaneId): string { return this.filters[pane] }

  selectedNode (): MeshNode | null { return this.pick('nodes', this.nodeRows()) }
  selectedWorkload (): WorkloadStatus | null { return this.pick('workloads', this.workloadRows()) }
  selectedWorkflow (): WorkflowStatus | null { return this.pick('workflows', this.workflowRows()) }

  private pick<T> (pane: TablePane, all: Array<Row<T>>): T | null {
    const rows = this.filtered(pane, all)
    return rows[this.resolve(pane, rows)]?.item ?? null
  }

  private rows (pane: TablePane): Array<Row<unknown>> {
    return pane === 'nodes' ? this.nodeRows() : pane === 'workloads' ? this.workloadRows() : this.workflowRows()
  }

  private visible (pane: TablePane): Array<Row<unknown>> { return this.filtered(pane, this.rows(pane)) }

  private filtered<T> (pane: TablePane, rows: Array<Row<T>>): Array<Row<T>> {
    const needle = this.filters[pane].toLowerCase()
    return needle === '' ? rows : rows.filter(r => r.matches?.(needle) ?? r.cells.join(' ').toLowerCase().includes(needle))
  }

  private resolve (pane: TablePane, rows: Array<Row<unknown>>): number {
    if (rows.length === 0) return -1
    const { key, index } = this.selection[pane]
    const found = key === null ? -1 : rows.findIndex(r => r.key === key)
    return found >= 0 ? found : clamp(index, 0, rows.length - 1)
  }

  // After a clamp the row now under the cursor becomes the selected one, so it then
  // stays put; with nothing visible the old selection waits for the filter to clear.
  private settle (pane: TablePane): void {
    const rows = this.visible(pane)
    const index = this.resolve(pane, rows)
    if (index >= 0) this.selection[pane] = { key: rows[index]?.key ?? null, index }
  }

  private nodeName (id: string | null): string { return id === null ? '-' : this.names.get(id) ?? id.slice(0, 8) }

  /** How the nodes pane is sorted; `s` moves to the next. */
  get nodeSort (): NodeSort { return this.nodeOrder }

  /** The next sort of the nodes pane; the selected node stays selected wherever it moves. */
  cycleNodeSort (): void {
    this.nodeOrder = NODE_SORTS[(NODE_SORTS.indexOf(this.nodeOrder) + 1) % NODE_SORTS.length] ?? 'state'
    this.settle('nodes')
    this.changed()
  }

  /**
   * Above the nodes pane's last line: the members it shows (after the filter) counted
   * by state and capability, in the words of `se nodes`.
   */
  nodeSummary (): string {
    const all = this.nodeRows()
    return nodeSummary(this.filtered('nodes', all).map(r => r.item), { of: all.length, separator: this.glyphs.ascii ? ' - ' : ' · ' })
  }

  // This node first in every order, as the anchor of the list.
  private nodeCompare (now: number): (a: MeshNode, b: MeshNode) => number {
    const load = (n: MeshNode): number => n.sample === null ? -1 : cpuPercent(n.sample)
    const age = (n: MeshNode): number => knownAgeMs(n, now) ?? -1
    const then: Record<NodeSort, (a: MeshNode, b: MeshNode) => number> = {
      state: byStateThenName,
      name: (a, b) => a.name.localeCompare(b.name) || a.nodeId.localeCompare(b.nodeId),
      load: (a, b) => load(b) - load(a) || byStateThenName(a, b),
      age: (a, b) => age(b) - age(a) || byStateThenName(a, b)
    }
    const order = then[this.nodeOrder]
    return (a, b) => Number(b.self) - Number(a.self) || order(a, b)
  }

  private nodeRows (): Array<Row<MeshNode>> {
    const now = this.now()
    const cache = this.nodeCache
    if (cache !== null && cache.snap === this.snap && cache.order === this.nodeOrder && cache.now === now) return cache.rows
    const rows = [...this.snap.nodes]
      .sort(this.nodeCompare(now))
      .map(n => {
        const s = n.sample
        const c = n.capabilities
        return {
          key: n.nodeId,
          item: n,
          matches: (needle: string) => matchesFilter(n, needle),
          cells: [
            `${n.name}${n.self ? ' *' : policyRefusals(n) === null ? '' : ` ${this.glyphs.refused}`}`,
            n.state,
            ageText(n, now),
            linkText(n),
            s === null ? '-' : `${Math.round(cpuPercent(s))}%`,
            s === null ? '-' : `${(s.memoryUsedMb / 1024).toFixed(1)}/${gib(s.memoryTotalMb)} GiB`,
            n.self ? '-' : n.latencyMs === null ? '?' : `${n.latencyMs.toFixed(1)} ms`,
            s === null ? '-' : String(s.workloadsRunning),
            s === null ? '-' : String(s.workflowsRunning),
            capabilityList(c).join(',')
          ]
        }
      })
    this.nodeCache = { snap: this.snap, order: this.nodeOrder, now, rows }
    return rows
  }

  private workloadRows (): Array<Row<WorkloadStatus>> {
    const now = this.now()
    return [...this.snap.workloads]
      .sort((a, b) => Number(b.state === 'failed') - Number(a.state === 'failed') || a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .map(w => ({
        key: w.id,
        item: w,
        cells: [
          w.id, w.nodeName, w.engine, w.state, w.ports.join(',') || '-', String(w.restarts),
          w.state === 'running' && w.startedAt !== null ? shortDuration(now - w.startedAt) : '-'
        ]
      }))
  }

  private workflowRows (): Array<Row<WorkflowStatus>> {
    const rank = (w: WorkflowStatus): number => w.state === 'waiting_intervention' ? 0 : ACTIVE_WORKFLOW_STATES.has(w.state) ? 1 : 2
    // Unfinished ones oldest first (longest waiting on top), finished ones newest first.
    const order = (w: WorkflowStatus): number => rank(w) === 2 ? -(w.endedAt ?? w.createdAt) : w.createdAt
    return [...this.snap.workflows]
      .sort((a, b) => rank(a) - rank(b) || order(a) - order(b) || a.id.localeCompare(b.id))
      .map(w => ({
        key: w.id,
        item: w,
        cells: [w.name, w.id, w.state, runningSteps(w.steps) ?? w.currentStep ?? '-', this.nodeName(this.stepNode(w)), shortDuration(this.elapsed(w))]
      }))
  }

  private stepNode (w: WorkflowStatus): string | null { return w.steps.find(s => s.id === w.currentStep)?.node ?? null }

  private elapsed (w: WorkflowStatus): number {
    const start = w.startedAt ?? w.createdAt
    return (FINISHED_WORKFLOW_STATES.has(w.state) ? w.endedAt ?? this.now() : this.now()) - start
  }

  /** The selected row of the focused pane, every field; nothing for the audit pane, whose lines are already whole. */
  details (): string[] {
    if (this.focused === 'nodes') { const n = this.selectedNode(); return n === null ? [] : this.nodeDetails(n) }
    if (this.focused === 'workloads') { const w = this.selectedWorkload(); return w === null ? [] : this.workloadDetails(w) }
    if (this.focused === 'workflows') { const w = this.selectedWorkflow(); return w === null ? [] : this.workflowDetails(w) }
    return []
  }

  /** What `d` says when there is nothing to detail. */
  detailsEmpty (): string {
    if (this.focused === 'audit') return 'the audit lines are shown whole; d details a row of the nodes, workloads or workflows pane'
    return `nothing selected in ${this.focused}${this.table(this.focused).total === 0 ? ` (there are no ${this.focused})` : ' (the filter hides every row; / then enter clears it)'}`
  }

  private nodeDetails (n: MeshNode): string[] {
    const c = n.capabilities
    const s = n.sample
    return [
      field('node', `${n.name}${n.self ? ' (this node)' : ''}`),
      field('key', n.nodeId),
      field('state', `${n.state}${n.self || n.lastSeen === null ? '' : `, last seen ${ageText(n, this.now())} ago`}`),
      field('known', n.self ? '-' : `${n.learned === 'gossip' ? 'by gossip (from other members)' : n.learned === 'direct' ? 'directly' : 'not said (an older node)'}; link: ${linkText(n, 'none')}`),
      field('rtt', n.self ? '-' : n.latencyMs === null ? 'unknown' : `${n.latencyMs.toFixed(1)} ms`),
      field('its policy', n.self ? '-' : n.allows === null ? 'not known (an older node)' : `refuses this node: ${policyRefusals(n) ?? 'nothing'}`),
      field('runtime', `${c.runtime} on ${c.platform}/${c.arch}, se ${c.version}`),
      field('cpus', `${c.cpus} (load ${(s?.loadAverage ?? c.loadAverage).toFixed(2)}${s === null ? '' : `, ${Math.round(cpuPercent(s))}%`})`),
      field('memory', s === null ? `${c.memoryFreeMb} MiB free of ${c.memoryTotalMb} MiB` : `${(s.memoryUsedMb / 1024).toFixed(1)}/${gib(s.memoryTotalMb)} GiB (${Math.round(memoryPercent(s))}%)`),
      field('running', s === null ? 'unknown' : `${s.workloadsRunning} workloads, ${s.workflowsRunning} workflows`),
      field('engines', c.engines.join(', ') || 'none'),
      field('tools', c.tools.join(', ') || 'none found'),
      field('credentials', c.credentials.join(', ') || 'none'),
      field('tags', c.tags.join(', ') || 'none')
    ]
  }

  private workloadDetails (w: WorkloadStatus): string[] {
    const lines = [
      field('workload', `${w.name} (${w.id})`),
      field('kind', w.kind),
      field('source', w.source),
      field('engine', w.engine),
      field('node', `${w.nodeName} (${w.node})`),
      field('state', `${w.state}${w.reason === null ? '' : `: ${w.reason}`}`),
      field('replicas', String(w.replicas)),
      field('pods', w.pods.join(', ') || 'none'),
      field('ports', w.ports.join(', ') || 'none'),
      field('restarts', String(w.restarts)),
      field('created', iso(w.createdAt)),
      field('started', w.startedAt === null ? '-' : `${iso(w.startedAt)} (${shortDuration(this.now() - w.startedAt)} ago)`),
      field('memory limit', bytes(w.memoryLimitBytes)),
      field('cpus', w.cpus === null ? 'no limit' : String(w.cpus)),
      `containers (${w.containers.length})`
    ]
    for (const c of w.containers) {
      lines.push(`  ${c.pod}/${c.name}  ${c.image}  ${c.state}${c.exitCode === null ? '' : `  exit ${c.exitCode}`}  restarts ${c.restarts}`)
    }
    return lines
  }

  private workflowDetails (w: WorkflowStatus): string[] {
    const lines = [
      field('workflow', `${w.name} (${w.id})`),
      field('state', `${w.state}${w.error === null ? '' : `: ${w.error}`}`),
      field('source', w.source),
      field('node', `${this.nodeName(w.node)} (${w.node})`),
      field('requested by', w.requestedBy),
      field('inputs', Object.entries(w.inputs).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'),
      field('created', iso(w.createdAt)),
      field('started', iso(w.startedAt)),
      field('ended', iso(w.endedAt)),
      field('elapsed', shortDuration(this.elapsed(w))),
      field('current step', w.currentStep ?? '-'),
      `steps (${w.steps.length})`
    ]
    // Indented by depth, instances under their matrix step; labels padded so states line up.
    const rows = graphRows(w.steps)
    const indent = (r: GraphRow): number => r.depth * 2 + (r.instance ? 4 : 0)
    const width = Math.max(0, ...rows.map(r => indent(r) + r.label.length))
    const g = this.glyphs
    for (const r of rows) {
      const parts = [`  ${' '.repeat(indent(r))}${g.stepMark[r.state] ?? ' '} ${r.label.padEnd(width - indent(r))}  ${r.summary ?? r.state}`]
      const s = r.entry
      if (s !== null) {
        parts.push(`on ${this.nodeName(s.node)}`)
        if (s.exitCode !== null) parts.push(`exit ${s.exitCode}`)
        if (s.attempts > 1) parts.push(`attempts ${s.attempts}`)
        if (s.durationMs !== null) parts.push(`${(s.durationMs / 1000).toFixed(1)} s`)
        if (s.retryAt !== null) parts.push(`retry in ${shortDuration(s.retryAt - this.now())}`)
        if (s.choice !== null) parts.push(`chose ${s.choice}${s.comment === null ? '' : ` (${s.comment})`}`)
        if (s.error !== null) parts.push(`${g.ascii ? '-' : '—'} ${s.error}`)
      }
      if (r.needs !== null) parts.push(`${g.needs} needs ${r.needs.join(', ') || 'nothing'}`)
      lines.push(parts.join('  '))
    }
    for (const i of pendingInterventions(w)) {
      lines.push(`waiting for a person at ${i.stepId}: ${i.prompt}`, `  choices: ${i.choices.join(', ')}`)
      const approvals = approvalsLine(i)
      if (approvals !== null) lines.push(`  ${approvals}`)
    }
    return lines
  }

  /**
   * What `l` on a workflow starts from: the output its steps kept, each line led
   * by the step's id; live OUTPUT events are added by `outputLine` as they come.
   */
  workflowOutput (w: WorkflowStatus): string[] {
    const lines: string[] = []
    for (const s of w.steps) {
      for (const text of [s.stdout, s.stderr]) {
        if (text !== '') lines.push(...text.replace(/\n$/, '').split('\n').map(l => this.outputLine(s.id, l)))
      }
    }
    return lines
  }

  outputLine (stepId: string, text: string): string { return `${stepId} ${this.glyphs.column} ${text}` }

  /** The step `l` follows: the one running now, else the current one, else the last that ran. */
  followedStep (w: WorkflowStatus): string | null {
    const running = w.steps.find(s => s.state === 'running')
    return running?.id ?? w.currentStep ?? [...w.steps].reverse().find(s => s.state !== 'pending')?.id ?? null
  }

  // Graphs

  cpuSeries (): Series[] { return this.series(p => p.cpu) }
  memorySeries (): Series[] { return this.series(p => p.memory) }

  // Labels count back from the newest sample of any node, so all lines share one time axis.
  // With hundreds of nodes a line each is no graph: the first GRAPH_NODES of the nodes
  // pane as sorted and filtered, the selected node in place of the last when not among them.
  private series (value: (p: Point) => number): Series[] {
    const newest = Math.max(...[...this.history.values()].map(points => points.at(-1)?.at ?? 0))
    const graphed = this.filtered('nodes', this.nodeRows()).map(r => r.item).filter(n => this.history.has(n.nodeId)).slice(0, GRAPH_NODES)
    const selected = this.selectedNode()
    if (selected !== null && this.history.has(selected.nodeId) && !graphed.includes(selected)) graphed.splice(GRAPH_NODES - 1, 1, selected)
    return graphed.map(node => {
      const points = this.history.get(node.nodeId) ?? []
      return { title: node.name, x: points.map(p => p.at === newest ? '0s' : `-${Math.round((newest - p.at) / 1000)}s`), y: points.map(value) }
    })
  }

  /**
   * Cpu and memory of one node: the selected node, or, with the workloads pane
   * focused, the node the selected workload runs on (per-workload stats are not
   * in the snapshot). Empty when that node has no sample.
   */
  gauges (): Array<{ label: string, percent: number }> {
    let node = this.selectedNode()
    const workload = this.focused === 'workloads' ? this.selectedWorkload() : null
    if (workload !== null) node = this.snap.nodes.find(n => n.nodeId === workload.node) ?? null
    if (node === null || node.sample === null) return []
    return [
      { label: `${node.name} cpu`, percent: Math.round(cpuPercent(node.sample)) },
      { label: `${node.name} memory`, percent: Math.round(memoryPercent(node.sample)) }
    ]
  }

  // Interventions

  interventions (): PendingIntervention[] {
    const out: PendingIntervention[] = []
    for (const w of this.snap.workflows) {
      for (const i of pendingInterventions(w)) out.push({ workflowId: w.id, workflowName: w.name, stepId: i.stepId, node: this.nodeName(w.node), prompt: i.prompt, choices: i.choices, requestedAt: i.requestedAt, approvals: approvalsLine(i) })
    }
    return out.sort(byRequest)
  }

  current (): PendingIntervention | null { return this.interventions().find(p => p.workflowId === this.currentId) ?? null }

  // The current one stays while pending; once answered, the one queued after it takes
  // its place (the oldest when it was last), as a person works down the queue.
  private settleIntervention (): void {
    const queue = this.interventions()
    const ref = this.currentRef
    const next = queue.find(p => p.workflowId === this.currentId) ??
      (ref === null ? undefined : queue.find(p => byRequest(p, ref) > 0)) ?? queue[0]
    this.setCurrent(next ?? null)
  }

  private setCurrent (p: PendingIntervention | null): void {
    // A new step of the same workflow is a new question: the draft was for the old one.
    const token = p === null ? null : `${p.workflowId}\n${p.stepId}\n${p.requestedAt}`
    if (token !== this.currentToken) this.draft = ''
    this.currentToken = token
    this.currentId = p?.workflowId ?? null
    this.currentRef = p === null ? null : { requestedAt: p.requestedAt, workflowId: p.workflowId }
  }

  nextIntervention (): void { this.step(1) }
  prevIntervention (): void { this.step(-1) }

  private step (delta: number): void {
    const queue = this.interventions()
    if (queue.length === 0) return
    const at = queue.findIndex(p => p.workflowId === this.currentId)
    this.setCurrent(queue[((at < 0 ? 0 : at + delta) % queue.length + queue.length) % queue.length] ?? null)
    this.changed()
  }

  get comment (): string { return this.draft }
  set comment (text: string) { this.setComment(text) }
  setComment (text: string): void { this.draft = text; this.changed() }

  choiceForKey (key: string): string | null {
    const current = this.current()
    if (this.readonly || current === null) return null
    const offered = (c: string): string | null => current.choices.includes(c) ? c : null
    if (key === 'a') return offered('approve')
    if (key === 'r') return offered('reject') ?? offered('abort')
    if (/^[1-9]$/.test(key)) return current.choices[Number(key) - 1] ?? null
    return null
  }

  /** What one key press decides without asking (tui/decisions.ts says which). */
  defaultChoice (): string | null {
    const current = this.current()
    return current === null ? null : defaultChoice(current.choices)
  }

  confirmChoice (choice: string): Confirmation | null {
    const current = this.current()
    return current === null ? null : confirmChoice(current, choice)
  }

  /** ctrl-d on the focused pane: cancel the selected workflow or remove the selected workload, or why it cannot. */
  deletion (): Deletion | { error: string } {
    if (this.readonly) return { error: 'read-only: actions are off' }
    if (this.focused === 'workflows') return cancelWorkflow(this.selectedWorkflow())
    if (this.focused === 'workloads') return removeWorkload(this.selectedWorkload())
    return { error: 'ctrl-d cancels a workflow or removes a workload: tab to the workflows or workloads pane first' }
  }

  // Status

  get message (): string | null { return this.msg }
  set message (text: string | null) { this.setMessage(text) }
  /** With `about`, the message is an outcome for that workflow and goes once its state is no longer `about.state`. */
  setMessage (text: string | null, about: { workflowId: string, state: string } | null = null): void {
    this.msg = text
    this.msgAbout = text === null ? null : about
    this.changed()
  }

  /** Whether the whole message shows in a status bar this wide; if not, the screen opens it in a popup. */
  messageFits (width: number): boolean {
    if (this.msg === null || this.msg === '') return true
    return [...this.statusParts(), this.msg].join(this.glyphs.separator).length <= width
  }

  private statusParts (): string[] {
    const nodes = this.snap.nodes
    const parts = [
      this.snap.meshName ?? 'no mesh',
      `${nodes.filter(n => n.state === 'up').length}/${nodes.length} nodes up`,
      `${this.interventions().length} pending`
    ]
    if (this.readonly) parts.push('read-only')
    return parts
  }

  /** The message goes before the hints, so a narrow terminal loses hints first. */
  statusBar (width: number): string {
    const parts = this.statusParts()
    if (this.msg !== null && this.msg !== '') parts.push(this.msg)
    parts.push(HINTS.filter(([, action]) => !this.readonly || !action).map(([hint]) => hint.replace('UPDOWN', this.glyphs.upDown)).join('  '))
    return truncate(parts.join(this.glyphs.separator), width, this.glyphs.ellipsis)
  }

  help (): string[] {
    const line = ([keys, what, action]: [string, string, boolean]): string =>
      `  ${keys.replace('UPDOWN', this.glyphs.ascii ? 'up down' : '↑ ↓').padEnd(22)}${what}${action && this.readonly ? ' (disabled: read-only)' : ''}`
    return ['keys', ...HELP_KEYS.map(line), '', 'commands', ...HELP_COMMANDS.map(line), '', 'marks', `  ${'*'.padEnd(22)}this node`, `  ${this.glyphs.refused.padEnd(22)}its policy refuses this node something (d shows what)`]
  }
}
