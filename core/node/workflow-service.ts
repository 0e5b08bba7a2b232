// The node's workflows as people and members ask for them: a request is parsed
// once, routed once, and started; a workflow held by another member is answered
// by that member.
import { stepRequirements } from '../workflow/step-kind.js'
import { RPC_TIMEOUT_MS } from '../constants.js'
import { SeError } from '../errors.js'
import { approversProblem } from '../access/policy.js'
import { resolve } from '../paths.js'
import type { Clock } from '../ports.js'
import type { ArtifactRecord, InterventionResult, SignedDecision, WorkflowEvent, WorkflowRequest, WorkflowStatus } from '../protocol/types.js'
import type { WorkflowDefinition } from '../workflow/definition.js'
import type { WorkflowEngine } from '../workflow/engine.js'
import { resolveInputs } from '../workflow/inputs.js'
import { isFinished, type WorkflowRun } from '../workflow/run.js'
import { toStatus } from '../workflow/status.js'
import { askTheHolder, gatherFromMembers, type AskOptions } from '../mesh/ask-members.js'
import type { Member } from '../mesh/mesh.js'
import type { Router, Routing } from '../mesh/router.js'
import type { Catalogue } from './catalogue.js'
import { checkedCancel, checkedResult, type DecisionCheck } from './decision-check.js'

export interface WorkflowServiceOptions {
  engine: WorkflowEngine
  catalogue: Catalogue
  router: Router
  /** Looks for members with capabilities this node knows nobody to have (the DHT), before routing. */
  findCapable?: (capabilities: string[]) => Promise<void>
  clock: Clock
  nodeId: string
  /** Members that answer for workflows they hold; none without a mesh. */
  members: () => Member[]
  /** False once the node is stopping: no new workflows then. */
  accepting: () => boolean
  meshQuery: (what: string) => AskOptions
  /** Checks a person's signed decision before the node acts on it. */
  decisions: DecisionCheck
  /** Refuses a workflow whose steps name a command no node that may run them has. */
  checkCommands: (definition: WorkflowDefinition, file: string, routing: Routing | undefined) => Promise<void>
  /** A person's decision made at this node refused (forged, stale, or not allowed here): kept in the trail as action_refused. */
  refused?: (message: string, workflowId: string) => void
}

export class WorkflowService {
  constructor (private readonly o: WorkflowServiceOptions) {}

  async execute (request: WorkflowRequest): Promise<WorkflowStatus> {
    if (!this.o.accepting()) throw SeError.notAcceptingWorkflows()
    let definition: WorkflowDefinition
    let sourceFile: string | null
    if (request.definition === null || request.definition === '') {
      const item = await this.o.catalogue.find(request.source)
      definition = item.definition
      sourceFile = item.file
    } else {
      sourceFile = resolve(request.workdir, request.source)
      // Loaded on first use: a node that is never handed a workflow file never loads YAML and the schema.
      const { parseWorkflow } = await import('../workflow/validate.js')
      definition = parseWorkflow(request.definition, request.source)
    }
    // Held here, its questions are decided here: approvers this node's policy cannot resolve would leave it waiting for ever.
    const problems = definition.steps.flatMap((s, i) => {
      const ask = s.intervention
      if (ask?.approvers === undefined) return []
      const problem = approversProblem(this.o.decisions.policy(), ask.approvers, ask.quorum ?? 1)
      return problem === null ? [] : [{ file: sourceFile ?? request.source, path: `steps[${i}].intervention.approvers`, message: problem }]
    })
    if (problems.length > 0) throw SeError.validation(`workflow ${definition.name}`, problems)
    // A capability gossip has not told of yet (a node that has just joined) is looked for on the DHT first.
    const needed = [...(definition.requires?.capabilities ?? []), ...definition.steps.flatMap(s => stepRequirements(s)?.capabilities ?? [])]
    if (needed.length > 0) await this.o.findCapable?.(needed)
    const routing = this.o.router.plan(definition)
    const inputs = resolveInputs(definition, request.inputs, request.workdir, request.source)
    await this.o.checkCommands(definition, sourceFile ?? request.source, routing)
    const run = await this.o.engine.start({ definition, source: sourceFile ?? request.source, sourceFile, inputs, workdir: request.workdir, requestedBy: request.requestedBy === '' ? this.o.nodeId : request.requestedBy, ...(routing === undefined ? {} : { routing }) })
    return toStatus(run)
  }

  status (workflowId: string): WorkflowStatus {
    return toStatus(this.find(workflowId))
  }

  list (states: string[]): WorkflowStatus[] {
    return this.o.engine.list().filter(r => states.length === 0 || states.includes(r.state)).map(toStatus)
  }

  async cancel (workflowId: string, reason: string, signed: SignedDecision | null = null): Promise<WorkflowStatus> {
    const run = this.find(workflowId)
    if (signed === null) return toStatus(await this.o.engine.cancel(run.id, reason))
    // A person's signed cancel: checked like an answer to a question, and named in the trail.
    const checked = await this.keepRefusal(run.id, 'a cancel', () => checkedCancel(this.o.decisions, run, reason, signed))
    return toStatus(await this.o.engine.cancel(run.id, `${reason} (by ${checked.decidedBy})`, signed))
  }

  async resume (workflowId: string, result: InterventionResult): Promise<WorkflowStatus> {
    let run: WorkflowRun
    try {
      run = this.find(workflowId)
    } catch (err) {
      // Not held here: the member holding it answers (the dashboard shows the whole mesh's interventions).
      if (!(err instanceof SeError) || err.code !== 'UNKNOWN_WORKFLOW') throw err
      // Only members holding questions for a person can hold this one (each says so by gossip).
      const members = this.o.members().filter(m => m.holds('waiting'))
      if (members.length === 0) throw err
      // All at once: only the holder can act on it, and a member that stopped answering
      // must not keep the holder from being asked. One that is no neighbour is connected to for it.
      const { reach } = this.o.meshQuery('an answer to an intervention')
      return await askTheHolder(members, async api => await api.resumeWorkflow(workflowId, result),
        remote => remote instanceof SeError && remote.code === 'UNKNOWN_WORKFLOW', () => err, { deadlineMs: RPC_TIMEOUT_MS, ...(reach === undefined ? {} : { reach }) })
    }
    return toStatus(await this.keepRefusal(run.id, 'a decision', async () => await this.o.engine.resolve(run.id, checkedResult(this.o.decisions, run, result, null))))
  }

  /** A person at another member answers; only exact ids, so a member cannot probe by prefix. */
  async resumeForMember (memberName: string, workflowId: string, result: InterventionResult, memberKey: string | null = null): Promise<WorkflowStatus> {
    const run = this.o.engine.get(workflowId)
    if (run === undefined) throw SeError.unknownWorkflow(workflowId)
    const checked = checkedResult(this.o.decisions, run, result, memberKey)
    // A signed decision names its person; an unsigned one says who claimed it, and through whom.
    const by = checked.signed !== null && checked.signed !== undefined ? `${checked.decidedBy} via ${memberName}` : `${result.decidedBy === '' ? 'someone' : result.decidedBy} via ${memberName}`
    return toStatus(await this.o.engine.resolve(workflowId, { ...checked, decidedBy: by }))
  }

  /** Runs a check of a person's decision made here; a refusal goes to the trail before it goes back to the caller. */
  private async keepRefusal<T> (workflowId: string, what: string, check: () => T | Promise<T>): Promise<T> {
    try {
      return await check()
    } catch (err) {
      if (err instanceof SeError && err.code === 'NOT_ALLOWED') this.o.refused?.(`${what} made on this node was refused: ${err.reason}`, workflowId)
      throw err
    }
  }

  async listInterventions (): Promise<WorkflowStatus[]> {
    // A branch may wait for a person while others of its workflow run.
    const asking = (w: WorkflowStatus): boolean => w.interventions.length > 0 || w.intervention !== null
    const local = this.list(['waiting_intervention', 'running']).filter(asking)
    // A member whose policy has said this node may not read there is not asked (it would only refuse, every refresh).
    const readable = this.o.members().filter(m => (m.allows === null || m.allows.includes('read')) && m.holds('waiting'))
    const remote = await gatherFromMembers(readable, async api => await api.listWorkflows(['waiting_intervention', 'running']), this.o.meshQuery('waiting interventions'))
    return [...local, ...remote.filter(asking)]
  }

  /** Streams a workflow's events until it finishes; `onEvent` returning false stops the watch. */
  watch (workflowId: string, onEvent: (event: WorkflowEvent) => boolean | void, onCancel?: (listener: () => void) => void): Promise<WorkflowStatus> {
    const engine = this.o.engine
    const found = this.find(workflowId)
    if (isFinished(found)) return Promise.resolve(toStatus(found))
    // What the engine shows is read anew at each event: it is the durable state, a new object when it changes.
    const current = (): WorkflowRun => engine.get(found.id) ?? found
    return new Promise(resolve => {
      let stopped = false
      const finish = (): void => {
        stopped = true
        stop()
        resolve(toStatus(current()))
      }
      const deliver = (event: WorkflowEvent): void => {
        if (stopped || event.workflowId !== found.id) return
        const wanted = onEvent(event)
        if (wanted === false || (event.kind === 'WORKFLOW' && isFinished(current()))) finish()
      }
      const stop = engine.onEvent(deliver)
      // A client that goes away stops its watch now, not when the workflow ends (which may be days later).
      onCancel?.(() => { if (!stopped) finish() })
      // A watcher that arrives while the workflow already waits must still hear the question.
      const run = current()
      for (const asked of run.interventions) {
        deliver({ workflowId: run.id, kind: 'INTERVENTION', state: run.state, stepId: asked.stepId, text: asked.prompt, at: this.o.clock.now() })
      }
    })
  }

  /** Every artifact the workflow's steps published, with the nodes that hold a copy. */
  artifacts (idOrPrefix: string): ArtifactRecord[] {
    return this.find(idOrPrefix).steps.flatMap(s => s.artifacts)
  }

  /** One artifact by NAME, or by STEP.NAME when instances of a matrix step each published one. */
  artifact (idOrPrefix: string, name: string): ArtifactRecord {
    const run = this.find(idOrPrefix)
    const all = run.steps.flatMap(s => s.artifacts)
    const dot = name.lastIndexOf('.')
    const byStep = dot > 0 ? all.filter(a => a.step === name.slice(0, dot) && a.name === name.slice(dot + 1)) : []
    const found = byStep.length > 0 ? byStep : all.filter(a => a.name === name)
    if (found.length === 0) throw SeError.unknownArtifact(run.id, name, all.map(a => `${a.step}.${a.name}`))
    if (found.length > 1) throw SeError.ambiguousArtifact(run.id, name, found.map(a => a.step))
    return found[0] as ArtifactRecord
  }

  /** A workflow by id, or by an unambiguous prefix of at least four characters. */
  find (idOrPrefix: string): WorkflowRun {
    const engine = this.o.engine
    const exact = engine.get(idOrPrefix)
    if (exact !== undefined) return exact
    const matches = idOrPrefix.length >= 4 ? engine.list().filter(r => r.id.startsWith(idOrPrefix)) : []
    if (matches.length === 1) return matches[0] as WorkflowRun
    if (matches.length > 1) throw SeError.ambiguousWorkflow(idOrPrefix, matches.map(r => r.id))
    throw SeError.unknownWorkflow(idOrPrefix)
  }
}
