// Where a workflow and each of its steps run. Local when this node meets the
// requirements; otherwise the best capable member: meets every requirement, then
// least loaded, then lowest latency, then node id, so every node ranks alike.
import { SeError } from '../errors.js'
import { shortId } from '../hex.js'
import type { Clock, ProcessSpec } from '../ports.js'
import type { AuditInput } from '../audit/log.js'
import type { MeshPeerApi, NodeCapabilities, NodeMatch, Requirements, StepOutcome, StepRequest, WorkflowEvent } from '../protocol/types.js'
import type { PlacementDecision, StepFilesRequest, StepHandle, StepPlacement, StepResult } from '../workflow/placement.js'
import type { StepRun, WorkflowRun } from '../workflow/run.js'
import { definitionOf } from '../workflow/graph.js'
import type { StepDefinition, WorkflowDefinition } from '../workflow/definition.js'
import { stepRequirements } from '../workflow/step-kind.js'
import { unmetRequirements } from '../workflow/requirements.js'
import type { Member } from './mesh.js'

/** `allows`: what the member's policy lets this node do there (null: not known, or this node). */
export interface Candidate { caps: NodeCapabilities, latencyMs: number | null, allows?: string[] | null }
export interface RouteChoice { nodeId: string, name: string }
/** Where a workflow was sent when it started; absent for a node without a mesh. */
export interface Routing { nodeId: string | null, name: string, ms: number }

/** The members a router may send work to: the mesh's, or none for a node on its own. */
export interface MemberDirectory {
  usableMembers: () => Member[]
  member: (nodeId: string) => Member | undefined
  /** The member's API, over a connection opened now if this node holds none (most members are known by gossip only). */
  reach: (nodeId: string, opts?: { timeoutMs?: number }) => Promise<MeshPeerApi>
  /** How long a step whose connection dropped is tried to be joined again (none: lost at once). */
  readonly reattachMs?: number
}

export interface RouterOptions {
  /** Null for a node without a mesh: everything runs here or nowhere. */
  members: MemberDirectory | null
  local: () => NodeCapabilities
  clock: Clock
  audit: (input: AuditInput) => void
}

/** The one place a node decides where work runs, with or without a mesh. */
export class Router implements StepPlacement {
  constructor (private readonly opts: RouterOptions) {}

  /** This node first, then every usable member, with load taken from what it last gossiped. */
  candidates (): Candidate[] {
    const out: Candidate[] = [{ caps: this.opts.local(), latencyMs: 0 }]
    for (const m of this.opts.members?.usableMembers() ?? []) {
      const caps = m.capabilities as NodeCapabilities
      out.push({ caps: m.sample === null ? caps : { ...caps, loadAverage: m.sample.loadAverage }, latencyMs: m.latencyMs, allows: m.allows })
    }
    return out
  }

  /**
   * Decides where a new workflow goes, once, when it is asked for: every step
   * with requirements of its own must have a node that meets them, and the
   * workflow's own requirements pick its node. NO_CAPABLE_NODE when not.
   */
  plan (definition: WorkflowDefinition): Routing | undefined {
    const started = this.opts.clock.now()
    const candidates = this.candidates()
    if (this.opts.members === null) {
      // On its own, the node names everything it lacks at once: the person fixes one machine.
      const caps = (candidates[0] as Candidate).caps
      const unmet = [
        ...unmetRequirements(caps, definition.requires),
        ...definition.steps.flatMap(s => unmetRequirements(caps, stepRequirements(s)).map(u => `${u} for step ${s.id}`))
      ]
      if (unmet.length > 0) throw noCapableNode(candidates, { unmet }, definition.name, false)
      return undefined
    }
    for (const s of definition.steps) {
      const own = stepRequirements(s, definition.requires)
      if (own !== undefined) this.pick(candidates, own, `step ${s.id} of ${definition.name}`, true)
    }
    const choice = this.pick(candidates, definition.requires, definition.name, true)
    const ms = this.opts.clock.now() - started
    return choice === null
      ? { nodeId: null, name: `this node ${this.opts.local().name}`, ms }
      : { nodeId: choice.nodeId, name: `${choice.name} (${shortId(choice.nodeId)})`, ms }
  }

  /**
   * `busy`: how many entries of this workflow each node is running now, so the
   * instances of a fan-out spread over every capable node, per CPU.
   */
  place (run: WorkflowRun, entry: StepRun, busy?: ReadonlyMap<string, number>): PlacementDecision {
    const def = definitionOf(run.definition, entry.step === '' ? entry.id : entry.step)
    if (def === undefined) return { where: 'here' }
    const candidates = this.candidates()
    let choice: RouteChoice | null | string
    const own = stepRequirements(def, run.definition.requires)
    const routed = run.routedTo ?? null
    const member = routed === null ? undefined : this.opts.members?.member(routed)
    if (own !== undefined) {
      choice = this.pick(candidates, own, `step ${def.id} of ${run.name}`, false, busy)
    } else if (routed === null) {
      return { where: 'here' }
    } else if (member?.usable === true) {
      choice = { nodeId: routed, name: member.name }
    } else {
      choice = this.pick(candidates, run.definition.requires, run.name, false)
      if (typeof choice !== 'string') {
        // The node the workflow was routed to is gone: the rest of it moves.
        run.routedTo = choice?.nodeId ?? null
        this.opts.audit({ event: 'workflow_handoff', message: `${run.name} ${run.id} handed from ${member?.name ?? routed.slice(0, 8)} to ${choice?.name ?? 'this node'} at step ${def.id}`, workflowId: run.id, workflowStep: def.id, domains: ['workflow', 'mesh'] })
      }
    }
    if (typeof choice === 'string') return { where: 'nowhere', reason: choice }
    if (choice === null) return { where: 'here' }
    const target = this.opts.members?.member(choice.nodeId) as Member
    const name = choice.name
    return { where: 'member', placement: { nodeId: choice.nodeId, name, run: (spec, files, onOutput) => this.runRemote(target, run, entry, spec, files, onOutput) } }
  }

  /**
   * Every node that may run a step of a workflow routed as `routing` says: the step's own
   * requirements may send it to any node that meets them; without them it runs where the
   * workflow was routed. This node is `nodeId: null`.
   */
  nodesFor (definition: WorkflowDefinition, step: StepDefinition, routing: Routing | undefined): Array<{ nodeId: string | null, name: string }> {
    const own = stepRequirements(step, definition.requires)
    const self = this.opts.local()
    if (own === undefined) return routing?.nodeId == null ? [{ nodeId: null, name: self.name }] : [{ nodeId: routing.nodeId, name: routing.name }]
    return this.candidates()
      .filter(c => unmetRequirements(c.caps, own).length === 0)
      .map(c => c.caps.nodeId === self.nodeId ? { nodeId: null, name: c.caps.name } : { nodeId: c.caps.nodeId, name: c.caps.name })
  }

  reachable (nodeId: string): boolean {
    return nodeId === this.opts.local().nodeId || this.opts.members?.member(nodeId)?.usable === true
  }

  /** Null for this node, else the member; when nobody can, throws NO_CAPABLE_NODE (`strict`) or returns why. */
  private pick (candidates: Candidate[], requirements: Partial<Requirements> | undefined, what: string, strict: true): RouteChoice | null
  private pick (candidates: Candidate[], requirements: Partial<Requirements> | undefined, what: string, strict: false, busy?: ReadonlyMap<string, number>): RouteChoice | null | string
  private pick (all: Candidate[], requirements: Partial<Requirements> | undefined, what: string, strict: boolean, busy?: ReadonlyMap<string, number>): RouteChoice | null | string {
    // A member whose policy has said it will not run such steps for this node is passed over for
    // one that will. When only such members could run it, it still goes to one: that member is
    // the authority on its policy, refuses it before anything runs, keeps the refusal in its own
    // trail and names its rule to the requester.
    const permitted = all.filter((c, i) => i === 0 || mayRunThere(c, requirements))
    const candidates = permitted.slice(1).some(c => unmetRequirements(c.caps, requirements).length === 0) ? permitted : all
    const self = candidates[0] as Candidate
    if (busy !== undefined && busy.size > 0) return this.leastBusy(candidates, requirements ?? {}, busy) ?? this.pick(candidates, requirements, what, false)
    if (unmetRequirements(self.caps, requirements).length === 0) return null
    const best = rankNodes(candidates.slice(1), requirements ?? {})[0]
    if (best?.capable === true) return { nodeId: best.nodeId, name: best.name }
    const err = noCapableNode(candidates, this.opts.members === null ? { unmet: unmetRequirements(self.caps, requirements) } : requirements ?? {}, what, this.opts.members !== null)
    if (strict) throw err
    return err.reason
  }

  /** The capable node running the fewest of the workflow's entries per CPU (this node on a tie), or null when none is capable. */
  private leastBusy (candidates: Candidate[], requirements: Partial<Requirements>, busy: ReadonlyMap<string, number>): RouteChoice | null | undefined {
    const selfId = (candidates[0] as Candidate).caps.nodeId
    const perCpu = (c: Candidate): number => (busy.get(c.caps.nodeId) ?? 0) / Math.max(c.caps.cpus, 1)
    const capable = candidates.filter(c => unmetRequirements(c.caps, requirements).length === 0)
    const ranked = rankNodes(capable, requirements).map(m => capable.find(c => c.caps.nodeId === m.nodeId) as Candidate)
    const best = ranked.sort((a, b) => perCpu(a) - perCpu(b) || Number(b.caps.nodeId === selfId) - Number(a.caps.nodeId === selfId))[0]
    if (best === undefined) return undefined
    return best.caps.nodeId === selfId ? null : { nodeId: best.caps.nodeId, name: best.caps.name }
  }

  private runRemote (member: Member, run: WorkflowRun, entry: StepRun, spec: ProcessSpec, files: StepFilesRequest, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): StepHandle {
    const stepId = entry.id
    const def = definitionOf(run.definition, entry.step === '' ? entry.id : entry.step)
    const request: StepRequest = {
      workflowId: run.id,
      workflowName: run.name,
      stepId,
      // What the step needs: a member with a policy grants its credentials only to steps that declare them.
      requires: def === undefined ? [] : (stepRequirements(def, run.definition.requires) ?? run.definition.requires)?.capabilities ?? [],
      attempt: entry.attempts,
      command: spec.command,
      args: spec.args,
      cwd: spec.cwd ?? null,
      env: spec.env ?? {},
      timeoutMs: spec.timeoutMs ?? null,
      container: spec.container ?? null,
      uses: files.uses,
      publish: files.publish,
      outputs: files.outputs
    }
    const started = this.opts.clock.now()
    let killed = false
    let onKilled = (): void => {}
    const whenKilled = new Promise<void>(resolve => { onKilled = resolve })
    const lost = (why: string): StepResult => ({ exitCode: null, signal: null, stdout: '', stderr: why, durationMs: this.opts.clock.now() - started, timedOut: false, spawnError: null, lostNode: member.nodeId })
    const stopped = (): StepResult => ({ exitCode: null, signal: 'SIGTERM', stdout: '', stderr: '', durationMs: this.opts.clock.now() - started, timedOut: false, spawnError: null })
    const directory = this.opts.members as MemberDirectory
    const onEvent = (event: WorkflowEvent): boolean | undefined => {
      if (killed) return false
      if (event.kind === 'OUTPUT') onOutput(event.state === 'stderr' ? 'stderr' : 'stdout', event.text)
      return undefined
    }
    const result = (async (): Promise<StepResult> => {
      let api: MeshPeerApi
      try {
        api = await directory.reach(member.nodeId)
      } catch (err) {
        return lost(`not connected to ${member.name}: ${(err as Error).message}`)
      }
      let outcome: StepOutcome | string
      try {
        outcome = await api.runStep(request, onEvent)
      } catch (err) {
        const e = err as SeError
        if (killed) return stopped()
        if (e.code === 'TIMEOUT') return lost(e.message)
        if (e.code !== 'CONNECTION_CLOSED') return { exitCode: null, signal: null, stdout: '', stderr: '', durationMs: this.opts.clock.now() - started, timedOut: false, spawnError: `${member.name} did not run the step: ${e.message}` }
        // The step may well run on there: the connection, not the member, may be what was lost.
        outcome = await this.reattach(member, run, entry, onEvent, () => killed, whenKilled, e.message)
        // Given up on (not joined, not refused): the member may still run it; told to stop, in the background.
        if (typeof outcome === 'string' && !killed) this.cancelThere(member, run.id, stepId)
      }
      if (killed) return stopped()
      if (typeof outcome === 'string') return lost(outcome)
      return {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        durationMs: outcome.durationMs,
        timedOut: outcome.timedOut,
        spawnError: outcome.spawnError,
        outputs: outcome.outputs,
        artifacts: outcome.artifacts,
        networkMs: Math.max(0, this.opts.clock.now() - started - outcome.durationMs)
      }
    })()
    return {
      result,
      kill: () => {
        if (killed) return
        killed = true
        onKilled()
        // Over the connection there is, or one opened for it (the step's may have dropped).
        this.cancelThere(member, run.id, stepId)
      }
    }
  }

  private cancelThere (member: Member, workflowId: string, stepId: string): void {
    const directory = this.opts.members as MemberDirectory
    void (member.api !== null ? Promise.resolve(member.api) : directory.reach(member.nodeId))
      .then(async api => await api.cancelStep(workflowId, stepId)).catch(() => {})
  }

  /**
   * A step's connection dropped: a blip, a connection Hyperswarm replaced with a newer one, or a member
   * that paused past its suspicion. The member runs the step on and keeps its outcome a while, so this
   * node joins it again over a new connection; the step is lost only when the member says it does not
   * have it (it restarted) or cannot be reached within the re-attach window. A member declared down is
   * not dialled meanwhile: it comes back only by refuting that, which gossip tells at once.
   */
  private async reattach (member: Member, run: WorkflowRun, entry: StepRun, onEvent: (event: WorkflowEvent) => boolean | undefined, killed: () => boolean, whenKilled: Promise<void>, why: string): Promise<StepOutcome | string> {
    const directory = this.opts.members as MemberDirectory
    const { clock } = this.opts
    const windowMs = directory.reattachMs ?? 0
    const droppedAt = clock.now()
    let deadline = droppedAt + windowMs
    let last = why
    for (let attaches = 0; !killed() && clock.now() < deadline && attaches < MAX_REATTACHES;) {
      // It said goodbye: it stopped, and its steps with it.
      if (member.left) return `${member.name} left the mesh while running it`
      if (member.state === 'down') { await Promise.race([pause(REATTACH_POLL_MS), whenKilled]); continue }
      let api: MeshPeerApi | null
      try {
        // A kill does not wait for a connection to open.
        api = await Promise.race([directory.reach(member.nodeId, { timeoutMs: Math.max(1, deadline - clock.now()) }), whenKilled.then(() => null)])
      } catch (err) {
        last = (err as Error).message
        // A reach that fails at once (the member forgotten) must not spin the event loop until the deadline.
        await Promise.race([pause(REATTACH_POLL_MS), whenKilled])
        continue
      }
      if (api === null) break
      attaches++
      const at = clock.now()
      try {
        const outcome = await api.attachStep(run.id, entry.id, entry.attempts, onEvent)
        this.opts.audit({ event: 'step_reattached', message: `${run.name} step ${entry.id}: the connection to ${member.name} dropped (${why}); joined the step again there after ${at - droppedAt} ms`, workflowId: run.id, workflowStep: entry.id, domains: ['step', 'mesh'] })
        return outcome
      } catch (err) {
        const e = err as SeError
        last = e.message
        // Dropped again after it was joined: a new window from now.
        if (e.code === 'CONNECTION_CLOSED') { deadline = clock.now() + windowMs; continue }
        return e.code === 'STEP_NOT_HERE' ? `${member.name} no longer has it: ${e.message}` : `could not join it again on ${member.name}: ${e.message}`
      }
    }
    return `the connection to ${member.name} dropped and it could not be joined again within ${windowMs} ms: ${last}`
  }
}

/** How often a re-attach looks again at a member declared down, for its refutation. */
const REATTACH_POLL_MS = 100
/** A connection that keeps dropping is given up on after this many joins. */
const MAX_REATTACHES = 8

async function pause (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
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

/**
 * Names each requirement that no node that is up meets, one by one: the only place
 * NO_CAPABLE_NODE is worded. A node without a mesh names what it lacks itself.
 */
/** Whether a member's policy, as it said, lets this node run a step needing these capabilities there. */
function mayRunThere (c: Candidate, requirements: Partial<Requirements> | undefined): boolean {
  const allows = c.allows
  if (allows === null || allows === undefined || allows.includes('run')) return true
  return (requirements?.capabilities ?? []).some(cap => allows.includes(`run:${cap}`))
}

export function noCapableNode (candidates: Candidate[], requirements: Partial<Requirements> | { unmet: string[] }, what: string, inMesh: boolean): SeError {
  if (!inMesh || 'unmet' in requirements) {
    const unmet = 'unmet' in requirements ? requirements.unmet : unmetRequirements((candidates[0] as Candidate).caps, requirements)
    return SeError.noCapableNode(`${what} needs ${unmet.join(', ')}, which node ${(candidates[0] as Candidate).caps.name} does not have`, true)
  }
  const single = (r: Partial<Requirements>): boolean => candidates.some(c => unmetRequirements(c.caps, r).length === 0)
  const missing: string[] = []
  for (const c of requirements.capabilities ?? []) if (!single({ capabilities: [c] })) missing.push(`capability '${c}'`)
  if (requirements.memoryMb != null && !single({ memoryMb: requirements.memoryMb })) missing.push(`memoryMb >= ${requirements.memoryMb}`)
  if (requirements.cpus != null && !single({ cpus: requirements.cpus })) missing.push(`cpus >= ${requirements.cpus}`)
  const names = candidates.map(c => c.caps.name).join(', ')
  const reason = missing.length > 0
    ? `no node that is up meets ${missing.join(', ')} (needed by ${what}; up: ${names})`
    : `no single node that is up meets all of ${what}'s requirements together (up: ${names})`
  return SeError.noCapableNode(reason, false)
}
