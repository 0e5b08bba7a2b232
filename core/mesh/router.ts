// Where a workflow and each of its steps run. Local when this node meets the
// requirements; otherwise the best capable member: meets every requirement, then
// least loaded, then lowest latency, then node id, so every node ranks alike.
import { SeError } from '../errors.js'
import type { Clock, ProcessHandle, ProcessResult, ProcessSpec } from '../ports.js'
import type { AuditInput } from '../audit/log.js'
import type { NodeCapabilities, NodeMatch, Requirements, StepOutcome, StepRequest } from '../protocol/types.js'
import type { Placement, StepPlacement } from '../workflow/engine.js'
import type { WorkflowRun } from '../workflow/run.js'
import { stepRequirements } from '../workflow/definition.js'
import { unmetRequirements } from '../workflow/requirements.js'
import type { Mesh, Member } from './mesh.js'

export interface Candidate { caps: NodeCapabilities, latencyMs: number | null }
export interface RouteChoice { nodeId: string, name: string }

export class MeshRouter implements StepPlacement {
  constructor (
    private readonly mesh: Mesh,
    private readonly local: () => NodeCapabilities,
    private readonly clock: Clock,
    private readonly audit: (input: AuditInput) => void
  ) {}

  /** This node first, then every usable member, with load taken from its latest heartbeat. */
  candidates (): Candidate[] {
    const out: Candidate[] = [{ caps: this.local(), latencyMs: 0 }]
    for (const m of this.mesh.usableMembers()) {
      const caps = m.capabilities as NodeCapabilities
      out.push({ caps: m.sample === null ? caps : { ...caps, loadAverage: m.sample.loadAverage }, latencyMs: m.latencyMs })
    }
    return out
  }

  /** Null for this node, else the member to send the work to. Throws NO_CAPABLE_NODE naming what nobody meets. */
  choose (requirements: Partial<Requirements> | undefined, what: string): RouteChoice | null {
    const candidates = this.candidates()
    const self = candidates[0] as Candidate
    if (unmetRequirements(self.caps, requirements).length === 0) return null
    const best = rankNodes(candidates.slice(1), requirements ?? {})[0]
    if (best?.capable === true) return { nodeId: best.nodeId, name: best.name }
    throw noCapableNode(candidates, requirements ?? {}, what)
  }

  place (run: WorkflowRun, index: number): Placement | null {
    const def = run.definition.steps[index]
    if (def === undefined) return null
    let choice: RouteChoice | null
    const own = stepRequirements(def, run.definition.requires)
    if (own !== undefined) {
      choice = this.choose(own, `step ${def.id} of ${run.name}`)
    } else {
      const routed = run.routedTo ?? null
      const member = routed === null ? undefined : this.mesh.member(routed)
      if (routed !== null && member?.usable === true) {
        choice = { nodeId: routed, name: member.name }
      } else {
        choice = this.choose(run.definition.requires, run.name)
        if (routed !== null && choice?.nodeId !== routed) {
          // The node the workflow was routed to is gone: the rest of it moves.
          run.routedTo = choice?.nodeId ?? null
          this.audit({ event: 'workflow_handoff', message: `${run.name} ${run.id} handed from ${member?.name ?? routed.slice(0, 8)} to ${choice?.name ?? 'this node'} at step ${def.id}`, workflowId: run.id, workflowStep: def.id, domains: ['workflow', 'mesh'] })
        }
      }
    }
    if (choice === null) return null
    const member = this.mesh.member(choice.nodeId) as Member
    return { nodeId: choice.nodeId, name: choice.name, run: (spec, onOutput) => this.runRemote(member, run, def.id, spec, onOutput) }
  }

  private runRemote (member: Member, run: WorkflowRun, stepId: string, spec: ProcessSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle {
    const step = run.steps.find(s => s.id === stepId)
    const request: StepRequest = {
      workflowId: run.id,
      workflowName: run.name,
      stepId,
      attempt: step?.attempts ?? 1,
      command: spec.command,
      args: spec.args,
      cwd: spec.cwd ?? null,
      env: spec.env ?? {},
      timeoutMs: spec.timeoutMs ?? null,
      container: spec.container ?? null
    }
    const api = member.api
    const started = this.clock.now()
    let killed = false
    const lost = (why: string): ProcessResult => ({ exitCode: null, signal: null, stdout: '', stderr: why, durationMs: this.clock.now() - started, timedOut: false, spawnError: null, lostNode: member.nodeId })
    const result: Promise<ProcessResult> = api === null
      ? Promise.resolve(lost(`not connected to ${member.name}`))
      : api.runStep(request, event => {
        if (killed) return false
        if (event.kind === 'OUTPUT') onOutput(event.state === 'stderr' ? 'stderr' : 'stdout', event.text)
      }).then((outcome: StepOutcome): ProcessResult => ({
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        durationMs: outcome.durationMs,
        timedOut: outcome.timedOut,
        spawnError: outcome.spawnError,
        networkMs: Math.max(0, this.clock.now() - started - outcome.durationMs)
      }), (err: SeError): ProcessResult => {
        if (killed) return { exitCode: null, signal: 'SIGTERM', stdout: '', stderr: '', durationMs: this.clock.now() - started, timedOut: false, spawnError: null }
        if (err.code === 'CONNECTION_CLOSED' || err.code === 'TIMEOUT') return lost(err.message)
        return { exitCode: null, signal: null, stdout: '', stderr: '', durationMs: this.clock.now() - started, timedOut: false, spawnError: `${member.name} did not run the step: ${err.message}` }
      })
    return {
      result,
      kill: () => {
        killed = true
        member.api?.cancelStep(run.id, stepId).catch(() => {})
      }
    }
  }
}

/** Capable nodes first; then least loaded (per CPU), lowest latency, and node id so ties are broken the same way everywhere. */
export function rankNodes (candidates: Candidate[], requirements: Partial<Requirements>): NodeMatch[] {
  const matches = candidates.map(({ caps, latencyMs }): NodeMatch => {
    const unmet = unmetRequirements(caps, requirements)
    return { nodeId: caps.nodeId, name: caps.name, capable: unmet.length === 0, unmet, loadAverage: caps.loadAverage / Math.max(caps.cpus, 1), latencyMs }
  })
  return matches.sort((a, b) =>
    Number(b.capable) - Number(a.capable) ||
    a.loadAverage - b.loadAverage ||
    (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity) ||
    a.nodeId.localeCompare(b.nodeId))
}

/** Names each requirement that no node that is up meets, one by one. */
export function noCapableNode (candidates: Candidate[], requirements: Partial<Requirements>, what: string): SeError {
  const single = (r: Partial<Requirements>): boolean => candidates.some(c => unmetRequirements(c.caps, r).length === 0)
  const missing: string[] = []
  for (const c of requirements.capabilities ?? []) if (!single({ capabilities: [c] })) missing.push(`capability '${c}'`)
  if (requirements.memoryMb != null && !single({ memoryMb: requirements.memoryMb })) missing.push(`memoryMb >= ${requirements.memoryMb}`)
  if (requirements.cpus != null && !single({ cpus: requirements.cpus })) missing.push(`cpus >= ${requirements.cpus}`)
  const names = candidates.map(c => c.caps.name).join(', ')
  const reason = missing.length > 0
    ? `no node that is up meets ${missing.join(', ')} (needed by ${what}; up: ${names})`
    : `no single node that is up meets all of ${what}'s requirements together (up: ${names})`
  return new SeError('NO_CAPABLE_NODE', reason, { hint: 'start a node that has it, add a tag with --capability, or check `se nodes`' })
}
