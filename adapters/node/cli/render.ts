// How the CLI shows things to a person. JSON output never passes through here.
import { SeError } from '../../../core/errors.js'
import { shortDuration } from '../../../core/duration.js'
import { STEP_MARK } from '../../../core/workflow/step-mark.js'
import { graphRows, pendingInterventions, runningSteps, type GraphRow } from '../../../core/workflow/graph-view.js'
import { approvalsLine } from '../../../core/workflow/approvals.js'
import { formatBytes } from '../../../core/workload/quantity.js'
import { capabilityList, cpuPercent, policyRefusals } from '../../../core/node/node-facts.js'
import { ageText, linkText, nodeSummary } from '../../../core/node/node-summary.js'
import type { ArtifactRecord, MeshNode, NodeCapabilities, StepStatus, WorkflowEvent, WorkflowStatus } from '../../../core/protocol/types.js'
// Shared with the Bare node, which prints a failed start the same way.
export { renderError } from '../../shared/error-text.js'

export function seconds (ms: number | null): string {
  if (ms === null) return ''
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

export function shortNode (id: string | null): string {
  return id === null ? '' : id.slice(0, 12)
}

const ENTRY_INDENT = 2
const INSTANCE_INDENT = 4
const HASH_CHARS = 12

/**
 * A workflow as a graph: steps that simply follow one another as a list, as always;
 * otherwise under a `stage N` header per depth (longest path from a step that waits
 * for nothing). A matrix step shows once with a summary, its instances under it.
 */
export function renderStatus (s: WorkflowStatus, now = Date.now()): string {
  const lines = [`${s.id}  ${s.name}  ${s.state}${s.error === null ? '' : `: ${s.error}`}`]
  const rows = graphRows(s.steps)
  const staged = rows.some(r => r.depth > 0)
  const indent = (r: GraphRow): number => (staged ? ENTRY_INDENT : 0) + (r.instance ? INSTANCE_INDENT : 0)
  const width = Math.max(0, ...rows.map(r => indent(r) + r.label.length))
  const stateWidth = Math.max(0, ...rows.map(r => r.summary === null ? r.state.length : 0))
  let stage = -1
  for (const r of rows) {
    if (staged && r.depth !== stage) lines.push(`  stage ${r.depth + 1}`)
    stage = r.depth
    const lead = `  ${' '.repeat(indent(r))}${STEP_MARK[r.state] ?? ' '} ${r.label.padEnd(width - indent(r))}  `
    const parts = [r.summary ?? r.state.padEnd(stateWidth), ...(r.entry === null ? [] : entryFacts(r.entry, now))]
    if (r.needs !== null) parts.push(`← needs ${r.needs.join(', ') || 'nothing'}`)
    lines.push(`${lead}${parts.join('  ')}`.trimEnd())
    for (const a of r.entry?.artifacts ?? []) lines.push(`${' '.repeat(lead.length)}↑ ${a.name}  ${a.hash.slice(0, HASH_CHARS)}  ${bytes(a.size)}${a.files > 1 ? `, ${a.files} files` : ''}`)
  }
  const asked = pendingInterventions(s)
  for (const i of asked) {
    lines.push(`  waiting for a person at ${i.stepId}: ${i.prompt}`)
    const approvals = approvalsLine(i)
    if (approvals !== null) lines.push(`    ${approvals}`)
    const step = asked.length > 1 ? ` --step ${i.stepId}` : ''
    lines.push(`    choices: ${i.choices.join(', ')}   →   se approve ${s.id}${step}${i.choices.includes('approve') ? '' : ` --choice ${i.choices[0] ?? ''}`}`)
  }
  return lines.join('\n')
}

function entryFacts (step: StepStatus, now: number): string[] {
  const parts: string[] = []
  if (step.attempts > 1) parts.push(`attempts ${step.attempts}`)
  if (step.exitCode !== null) parts.push(`exit ${step.exitCode}`)
  if (step.durationMs !== null && step.state !== 'waiting_intervention') parts.push(seconds(step.durationMs))
  if (step.retryAt !== null) parts.push(`retry in ${seconds(Math.max(0, step.retryAt - now))}`)
  if (step.node !== null) parts.push(`on ${shortNode(step.node)}`)
  if (step.choice !== null) parts.push(`chose ${step.choice}`)
  const outputs = Object.keys(step.outputs).length
  if (outputs > 0) parts.push(`${outputs} output${outputs === 1 ? '' : 's'}`)
  if (step.error !== null && step.state === 'failed') parts.push(`— ${step.error}`)
  return parts
}

/** A size in the unit people read it in. */
function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value.toFixed(1)} ${units[unit] ?? ''}`
}

export function renderList (list: WorkflowStatus[], now: number): string {
  if (list.length === 0) return 'no workflows on this node'
  const rows = list.map(s => [s.id, s.name, s.state, runningSteps(s.steps) ?? s.currentStep ?? '', shortDuration(now - s.createdAt)])
  return table(['ID', 'NAME', 'STATE', 'STEP', 'AGE'], rows)
}

export function renderCapabilities (c: NodeCapabilities): string {
  return [
    `node         ${c.name} (${c.nodeId})`,
    `runtime      ${c.runtime} on ${c.platform}/${c.arch}, se ${c.version}`,
    `engines      ${c.engines.join(', ')}`,
    `tools        ${c.tools.join(', ') || 'none found'}`,
    `credentials  ${c.credentials.join(', ') || 'none'}`,
    `tags         ${c.tags.join(', ') || 'none'}`,
    `cpus         ${c.cpus} (load ${c.loadAverage.toFixed(2)})`,
    `memory       ${c.memoryFreeMb} MiB free of ${c.memoryTotalMb} MiB`
  ].join('\n')
}

export function renderEvent (e: WorkflowEvent): string | null {
  switch (e.kind) {
    case 'WORKFLOW': return `${e.state === 'completed' ? '✓' : e.state === 'running' ? '▶' : e.state === 'pending' ? '·' : '✗'} ${e.text}`
    case 'STEP': return `  ${STEP_MARK[e.state] ?? ' '} ${e.text}`
    case 'INTERVENTION': return `  ? ${e.stepId ?? ''}: ${e.text}`
    case 'OUTPUT': return e.text.replace(/\n$/, '').split('\n').map(l => `    │ ${l}`).join('\n')
  }
}

export function errorJson (err: SeError): unknown {
  return { error: { code: err.code, message: err.reason, details: err.details, ...(err.hint === undefined ? {} : { hint: err.hint }) } }
}

export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  return [header, ...rows].map(r => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join('  ')).join('\n')
}

export interface NodesView {
  now?: number
  /** Every member that matched the filters, of which `nodes` are the ones listed (--limit). */
  matched?: readonly MeshNode[]
  /** How many members this node knows, filtered or not. */
  total?: number
}

/**
 * The `se nodes` table, in the order given (nodes.ts sorts): AGE is how long ago this
 * node last learned anything about the member, LINK the connection it holds to it.
 * Under it what each member marked ⊘ refuses, then one summary line.
 */
export function renderNodes (nodes: readonly MeshNode[], view: NodesView = {}): string {
  const { now = Date.now(), matched = nodes, total = matched.length } = view
  const rows = table(['NAME', 'KEY', 'STATE', 'AGE', 'LINK', 'LOAD', 'MEMORY', 'RTT', 'CAPABILITIES'], nodes.map(n => {
    const s = n.sample
    return [
      `${n.name}${n.self ? ' *' : policyRefusals(n) === null ? '' : ' ⊘'}`,
      n.nodeId.slice(0, 16),
      n.state,
      ageText(n, now),
      linkText(n),
      s === null ? '-' : `${Math.round(cpuPercent(s))}%`,
      s === null ? '-' : `${(s.memoryUsedMb / 1024).toFixed(1)}/${(s.memoryTotalMb / 1024).toFixed(1)} GiB`,
      n.self ? '-' : n.latencyMs === null ? '?' : `${n.latencyMs.toFixed(1)} ms`,
      capabilityList(n.capabilities).join(',')
    ]
  }))
  const hidden = matched.length - nodes.length
  const more = hidden > 0 ? [`… ${hidden} more not listed (--limit ${nodes.length})`] : []
  return [rows + refusalNotes(nodes), ...more, nodeSummary(matched, { of: total })].join('\n')
}

/** Under the table: what each member marked ⊘ refuses this node. */
function refusalNotes (nodes: readonly MeshNode[]): string {
  const notes = nodes.flatMap(n => { const r = policyRefusals(n); return r === null ? [] : [`⊘ ${n.name} refuses this node: ${r}`] })
  return notes.length === 0 ? '' : `\n${notes.join('\n')}`
}

export function renderArtifacts (list: ArtifactRecord[]): string {
  if (list.length === 0) return 'no artifacts published (yet)'
  return table(['NAME', 'STEP', 'NODES', 'SIZE', 'FILES', 'HASH'], list.map(a => [a.name, a.step, a.nodes.map(shortNode).join(','), formatBytes(a.size), String(a.files), `sha256:${a.hash}`]))
}
