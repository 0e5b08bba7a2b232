// The workflow state machine. Every transition is durable before it takes effect, so
// `kill -9` at any instant leaves a record the next start resumes from. The audit
// trail is the journal: a step's start, and the completion of a step that printed
// nothing, are made durable by their trail entries alone (one durable append per
// step), and reconcile.ts rebuilds them onto the run's file after a crash. The file is
// rewritten for every transition the trail cannot rebuild (output, failures, questions
// for a person, requests, the end), and otherwise lazily, a moment later.
import b4a from 'b4a'
import { DEFAULT_INTERVENTION_CHOICES, FAILURE_CHOICES, MAX_CONCURRENT_WORKFLOWS, STATE_RETRY_MAX_MS, STATE_RETRY_MS, STOPPING_CHOICES } from '../constants.js'
import { SeError } from '../errors.js'
import { AuditBacklog } from '../audit/backlog.js'
import { dirname, resolve } from '../paths.js'
import type { AuditInput, AuditLog } from '../audit/log.js'
import type { Clock, Logger, ProcessHandle, ProcessResult, ProcessRunner, ProcessSpec } from '../ports.js'
import type { InterventionResult, WorkflowEvent, WorkflowEventKind } from '../protocol/types.js'
import { stepKind, type StepDefinition, type WorkflowDefinition } from './definition.js'
import { reconcileWithTrail } from './reconcile.js'
import { currentStepIndex, isFinished, newStepRun, type StepRun, type WorkflowRun, type WorkflowState } from './run.js'
import type { WorkflowStore } from './store.js'
import { HERE, type Placement, type PlacementDecision, type StepPlacement } from './placement.js'
import { TemplateSyntaxError, expand } from './template.js'

export interface NodeIdentityInfo {
  id: string
  name: string
  dataDir: string
  /** A command line that runs this node's CLI, for ${node.cli}. */
  cli: string
}

/** Runs a step somewhere other than a local process (containers, peers). */
export interface StepExecutor {
  canRun (run: WorkflowRun, step: StepDefinition): boolean
  run (run: WorkflowRun, step: StepDefinition, spec: ProcessSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle
}

export interface EngineOptions {
  node: NodeIdentityInfo
  store: WorkflowStore
  audit: AuditLog
  processes: ProcessRunner
  clock: Clock
  newId: () => string
  env: (name: string) => string | undefined
  maxConcurrent?: number
  executors?: StepExecutor[]
  placement?: StepPlacement
  /** Told when the data dir cannot be written and when it can again. */
  log?: Logger
}

export interface StartRequest {
  definition: WorkflowDefinition
  source: string
  sourceFile: string | null
  inputs: Record<string, string>
  workdir: string
  requestedBy: string
  /** Where routing sent the workflow and how long deciding took; absent for a plain local run. */
  routing?: { nodeId: string | null, name: string, ms: number }
}

type Outcome = 'continue' | 'parked' | 'done'

/**
 * How long a run's file may stay behind its trail while the run goes on, in ms: then it
 * is rewritten in the background. It bounds what a restart reads back from the trail,
 * never what survives a crash.
 */
const FILE_CATCH_UP_MS = 1000

export class WorkflowEngine {
  private readonly runs = new Map<string, WorkflowRun>()
  private readonly active = new Set<string>()
  private readonly queue: string[] = []
  /** Runs resumed while their previous driver was still winding down. */
  private readonly rerun = new Set<string>()
  private readonly killedForShutdown = new WeakSet<ProcessHandle>()
  /** Audit entries of a step completion, written with the run's next commit (one durable write per step). */
  private readonly deferred = new Map<string, AuditInput[]>()
  /** What is told of such a transition, told once it is durable. */
  private readonly deferredEvents = new Map<string, Array<() => void>>()
  /** Runs whose state in memory is ahead of what is durable: readers are shown the durable one. */
  private readonly ahead = new Set<string>()
  /** Each unfinished run as it was when it was last made durable (file and trail): what readers see while it is ahead. */
  private readonly durableView = new Map<string, WorkflowRun>()
  /** Runs with a transition since their file was written that the trail cannot rebuild: their next commit writes the file. */
  private readonly needsFile = new Set<string>()
  /** Runs whose file is behind their trail, and the timer that will catch the file up. */
  private readonly behind = new Map<string, ReturnType<typeof setTimeout> | null>()
  private readonly backlog: AuditBacklog
  /** Set while writes to the data dir fail: the first failure is logged, and the recovery. */
  private storageTrouble: Error | null = null
  private readonly sleepers = new Set<() => void>()
  private readonly handles = new Map<string, ProcessHandle>()
  private readonly drivers = new Set<Promise<void>>()
  private readonly listeners = new Set<(event: WorkflowEvent) => void>()
  private readonly maxConcurrent: number
  private stopping = false

  constructor (private readonly opts: EngineOptions) {
    this.maxConcurrent = opts.maxConcurrent ?? MAX_CONCURRENT_WORKFLOWS
    this.backlog = new AuditBacklog(opts.audit, opts.log)
  }

  onEvent (listener: (event: WorkflowEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The run as it is on disk: a transition not yet written is not shown, as a crash could take it back. */
  get (id: string): WorkflowRun | undefined {
    const run = this.runs.get(id)
    return run === undefined ? undefined : this.shown(run)
  }

  list (): WorkflowRun[] {
    return [...this.runs.values()].map(r => this.shown(r)).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
  }

  private shown (run: WorkflowRun): WorkflowRun {
    return this.ahead.has(run.id) ? this.durableView.get(run.id) ?? this.opts.store.saved(run.id) ?? run : run
  }

  counts (): { running: number, waiting: number, pending: number } {
    let running = 0; let waiting = 0; let pending = 0
    for (const run of this.list()) {
      if (run.state === 'running') running++
      else if (run.state === 'waiting_intervention') waiting++
      else if (run.state === 'pending') pending++
    }
    return { running, waiting, pending }
  }

  /** Loads every run from disk and resumes those that were not finished. */
  async recover (): Promise<{ resumed: number, unreadable: Array<{ file: string, reason: string }> }> {
    const { runs, unreadable } = await this.opts.store.loadAll()
    // The trail may be one transition ahead of a file; it is read only when something is unfinished.
    const trail = runs.some(r => !isFinished(r) && r.state !== 'waiting_intervention') ? await this.opts.audit.read() : []
    let resumed = 0
    for (const run of runs) {
      this.runs.set(run.id, run)
      if (isFinished(run) || run.state === 'waiting_intervention') continue
      resumed++
      const caughtUp = reconcileWithTrail(run, trail)
      // What the file and the trail say together is what is durable, and what readers see.
      this.durableView.set(run.id, snapshot(run))
      await this.resumeRun(run, caughtUp === null ? 'after restart' : `after restart (${caughtUp})`)
    }
    return { resumed, unreadable }
  }

  // Applies the restart rules: an interrupted idempotent step runs again, any other
  // interrupted step counts as failed and its onFailure decides.
  private async resumeRun (run: WorkflowRun, why: string): Promise<void> {
    const index = currentStepIndex(run)
    const step = index === -1 ? undefined : run.steps[index]
    const def = run.definition.steps[index]
    let note = `${run.name} ${run.id} resumed ${why}`
    if (step !== undefined && def !== undefined && step.state === 'running') {
      if (def.idempotent === true) {
        step.state = 'pending'
        note += ` at step ${step.id}, which is idempotent and runs again`
      } else {
        step.state = 'failed'
        step.endedAt = this.opts.clock.now()
        step.error = 'interrupted: the node stopped while this step was running'
        note += ` at step ${step.id}, which was interrupted and is not idempotent: its onFailure applies`
      }
    } else if (step !== undefined) {
      note += ` at step ${step.id}`
    }
    if (run.state === 'running' || run.state === 'waiting_node') run.state = 'pending'
    await this.commit(run, [{ event: 'workflow_resume', message: note, workflowId: run.id, workflowStep: step?.id ?? '', domains: ['workflow'] }])
    if (step?.state === 'failed') {
      const outcome = await this.applyFailure(run, index)
      if (outcome !== 'continue') return
    }
    this.schedule(run)
  }

  async start (req: StartRequest): Promise<WorkflowRun> {
    if (this.stopping) throw SeError.engineStopping()
    const now = this.opts.clock.now()
    const run: WorkflowRun = {
      id: this.opts.newId(),
      name: req.definition.name,
      definition: req.definition,
      source: req.source,
      sourceDir: req.sourceFile === null ? req.workdir : dirname(req.sourceFile),
      inputs: req.inputs,
      workdir: req.workdir,
      state: 'pending',
      node: this.opts.node.id,
      requestedBy: req.requestedBy,
      createdAt: now,
      startedAt: null,
      endedAt: null,
      updatedAt: now,
      error: null,
      intervention: null,
      steps: req.definition.steps.map(s => newStepRun(s.id, stepKind(s))),
      revision: 0,
      routedTo: req.routing?.nodeId ?? null
    }
    const routing = req.routing
    await this.commitNow(run, null, [{
      event: 'workflow_start',
      message: routing === undefined ? `${run.name} on ${this.opts.node.name}` : `${run.name} routed to ${routing.name} in ${routing.ms.toFixed(2)} ms`,
      workflowId: run.id,
      domains: ['workflow'],
      files: req.sourceFile === null ? [] : [req.sourceFile],
      performanceMetrics: { steps: run.steps.length, ...(routing === undefined ? {} : { routingMs: routing.ms }) }
    }])
    this.runs.set(run.id, run)
    this.emit(run, 'WORKFLOW', run.state, null, `${run.name} started`)
    this.schedule(run)
    return run
  }

  async resolve (id: string, result: InterventionResult): Promise<WorkflowRun> {
    const run = this.mustGet(id)
    const pending = run.intervention
    if (run.state !== 'waiting_intervention' || pending === null) throw SeError.notWaiting(id, run.state)
    const before = JSON.stringify(run)
    if (!pending.choices.includes(result.choice)) {
      throw SeError.invalidChoice(result.choice, pending.stepId, id, pending.choices)
    }
    const index = run.steps.findIndex(s => s.id === pending.stepId)
    const step = run.steps[index] as StepRun
    const now = this.opts.clock.now()
    step.choice = result.choice
    step.comment = result.comment
    step.decidedBy = result.decidedBy
    run.intervention = null
    const by = result.decidedBy === '' ? '' : ` by ${result.decidedBy}`
    const comment = result.comment === null || result.comment === '' ? '' : ` (${result.comment})`
    const entries: AuditInput[] = [{
      event: 'intervention_resolved',
      message: `${run.name} step ${step.id}: ${result.choice}${by}${comment}`,
      workflowId: id,
      workflowStep: step.id,
      domains: ['intervention'],
      performanceMetrics: { waitMs: now - pending.requestedAt }
    }]
    let next: WorkflowState = 'running'
    if (pending.reason === 'step') {
      step.endedAt = now
      step.durationMs = now - (step.startedAt ?? now)
      if ((STOPPING_CHOICES as readonly string[]).includes(result.choice)) {
        step.state = 'failed'
        step.error = `${result.choice}ed${by}${comment}`
        next = 'cancelled'
      } else {
        step.state = 'completed'
      }
    } else if (result.choice === 'retry') {
      step.state = 'pending'
      step.error = null
    } else if (result.choice === 'skip') {
      step.state = 'skipped'
    } else {
      step.state = 'failed'
      next = 'failed'
    }
    if (next === 'running') {
      entries.push({ event: 'workflow_resume', message: `${run.name} ${id} resumed after ${result.choice} at step ${step.id}`, workflowId: id, workflowStep: step.id, domains: ['workflow'] })
      run.state = this.active.size < this.maxConcurrent ? 'running' : 'pending'
      await this.commitNow(run, before, entries)
      this.emit(run, 'STEP', step.state, step.id, `${step.id} ${result.choice}`)
      this.emit(run, 'WORKFLOW', run.state, null, `${run.name} resumed after ${result.choice}`)
      this.schedule(run)
    } else {
      const reason = next === 'cancelled' ? `${result.choice}ed at step ${step.id}${by}${comment}` : `aborted at step ${step.id}${by}${comment}`
      await this.finish(run, next, reason, entries, before)
    }
    return run
  }

  async cancel (id: string, reason: string): Promise<WorkflowRun> {
    const run = this.mustGet(id)
    if (isFinished(run)) throw SeError.alreadyFinished(id, run.state)
    const before = JSON.stringify(run)
    const index = currentStepIndex(run)
    const step = run.steps[index]
    if (step !== undefined && (step.state === 'running' || step.state === 'waiting_intervention')) {
      step.state = 'failed'
      step.error = 'cancelled'
      step.endedAt = this.opts.clock.now()
    }
    run.intervention = null
    await this.finish(run, 'cancelled', reason === '' ? 'cancelled' : reason, [], before)
    const queued = this.queue.indexOf(id)
    if (queued !== -1) this.queue.splice(queued, 1)
    this.handles.get(id)?.kill('SIGTERM')
    return run
  }

  /** Stops taking work; lets running steps finish for graceMs, then stops them (their state stays checkpointed). */
  async shutdown (graceMs: number): Promise<void> {
    this.stopping = true
    this.queue.length = 0
    for (const wake of this.sleepers) wake()
    const all = Promise.all([...this.drivers])
    let timer: ReturnType<typeof setTimeout> | undefined
    const grace = new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), graceMs) })
    const outcome = await Promise.race([all.then(() => 'done' as const), grace])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      for (const handle of this.handles.values()) { this.killedForShutdown.add(handle); handle.kill('SIGTERM') }
      await all
    }
    await this.catchUpAll()
    await this.backlog.flush()
  }

  private mustGet (id: string): WorkflowRun {
    const run = this.runs.get(id)
    if (run === undefined) throw SeError.unknownWorkflow(id)
    return run
  }

  private schedule (run: WorkflowRun): void {
    if (this.stopping) return
    if (this.active.has(run.id)) { this.rerun.add(run.id); return }
    if (this.active.size >= this.maxConcurrent) {
      if (!this.queue.includes(run.id)) this.queue.push(run.id)
      return
    }
    this.active.add(run.id)
    const driver = this.drive(run).catch(err => {
      // A failure to persist leaves the last durable state on disk; the next start resumes from it.
      this.emit(run, 'WORKFLOW', run.state, null, `engine error: ${(err as Error).message}`)
    }).finally(() => {
      this.active.delete(run.id)
      this.drivers.delete(driver)
      if (this.rerun.delete(run.id)) { this.schedule(run); return }
      const next = this.queue.shift()
      const queued = next === undefined ? undefined : this.runs.get(next)
      if (queued !== undefined) this.schedule(queued)
    })
    this.drivers.add(driver)
  }

  private async drive (run: WorkflowRun): Promise<void> {
    if (run.state === 'pending') {
      run.state = 'running'
      run.startedAt ??= this.opts.clock.now()
      await this.commit(run, [])
      this.emit(run, 'WORKFLOW', 'running', null, `${run.name} running`)
    }
    while (!this.stopping && run.state === 'running') {
      const index = currentStepIndex(run)
      if (index === -1) {
        await this.finish(run, 'completed', null, [])
        return
      }
      const step = run.steps[index] as StepRun
      const def = run.definition.steps[index] as StepDefinition
      if (step.state !== 'pending') break
      const outcome = def.intervention !== undefined
        ? await this.requestIntervention(run, index, 'step')
        : await this.runStep(run, index)
      if (outcome !== 'continue') break
    }
    if (this.deferred.has(run.id)) await this.commit(run, [])
  }

  private async runStep (run: WorkflowRun, index: number): Promise<Outcome> {
    const step = run.steps[index] as StepRun
    const def = run.definition.steps[index] as StepDefinition
    const now = this.opts.clock.now()
    let spec: ProcessSpec
    let executor: StepExecutor | undefined
    let placement: Placement | null = null
    let decision: PlacementDecision = HERE
    try {
      spec = this.buildSpec(run, def)
      decision = this.opts.placement?.place(run, index) ?? HERE
      placement = decision.where === 'member' ? decision.placement : null
      executor = placement === null ? this.opts.executors?.find(e => e.canRun(run, def)) : undefined
      if (def.run?.image !== undefined && decision.where === 'here' && executor === undefined) throw SeError.noContainerEngine(def.run.image)
    } catch (err) {
      const message = err instanceof SeError ? err.reason : (err as Error).message
      step.attempts++
      step.node = this.opts.node.id
      return await this.stepFailed(run, index, { startedAt: now, error: message, result: null })
    }
    if (decision.where === 'nowhere') return await this.waitForNode(run, index, decision.reason)
    step.state = 'running'
    step.attempts++
    step.startedAt = now
    step.endedAt = null
    step.node = placement?.nodeId ?? this.opts.node.id
    step.error = null
    const where = placement === null ? '' : ` on ${placement.name} (${placement.nodeId.slice(0, 8)})`
    await this.commit(run, [{
      event: 'step_start',
      message: `${run.name} step ${step.id} (attempt ${step.attempts})${where}: ${spec.container === undefined ? '' : `[${spec.container.image}] `}${[spec.command, ...spec.args].join(' ')}`,
      workflowId: run.id,
      workflowStep: step.id,
      domains: ['step'],
      files: spec.cwd === undefined ? [] : [spec.cwd],
      // Which attempt: with it, the trail alone says the step is running (reconcile.ts).
      performanceMetrics: { attempts: step.attempts }
    }], placement === null)
    this.emit(run, 'STEP', 'running', step.id, `${step.id} running (attempt ${step.attempts})`)
    const onOutput = (stream: 'stdout' | 'stderr', text: string): void => this.emit(run, 'OUTPUT', stream, step.id, text)
    const handle = placement !== null
      ? placement.run(spec, onOutput)
      : executor !== undefined ? executor.run(run, def, spec, onOutput) : this.opts.processes.run(spec, onOutput)
    this.handles.set(run.id, handle)
    let result: ProcessResult
    try {
      result = await handle.result
    } finally {
      this.handles.delete(run.id)
    }
    // Cancelled meanwhile, or stopped by shutdown (however it exited): the persisted state already says what happens next.
    if (run.state !== 'running' || this.killedForShutdown.has(handle)) return 'done'
    if (result.lostNode !== undefined) return await this.nodeLost(run, index, placement?.name ?? result.lostNode, now)
    if (result.exitCode === 0 && !result.timedOut) {
      const end = this.opts.clock.now()
      step.state = 'completed'
      step.exitCode = 0
      step.endedAt = end
      step.durationMs = result.durationMs
      step.stdout = result.stdout
      step.stderr = result.stderr
      // Made durable together with the next transition, which always comes before anything acts on it.
      // A step that printed nothing is all in its trail entry; output is kept in the file only.
      const outputBytes = b4a.byteLength(result.stdout) + b4a.byteLength(result.stderr)
      this.defer(run, outputBytes === 0, [{
        event: 'step_complete',
        message: `${run.name} step ${step.id} completed in ${result.durationMs} ms`,
        workflowId: run.id,
        workflowStep: step.id,
        domains: ['step'],
        performanceMetrics: { durationMs: result.durationMs, exitCode: 0, attempts: step.attempts, outputBytes, ...(result.networkMs === undefined ? {} : { networkLatencyMs: result.networkMs }) }
      }], () => this.emit(run, 'STEP', 'completed', step.id, `${step.id} completed`))
      return 'continue'
    }
    return await this.stepFailed(run, index, { startedAt: now, error: describeFailure(result), result })
  }

  /**
   * The node running the step went away before it answered. The step may or may
   * not have finished there, so the restart rules apply: an idempotent step runs
   * again (on whichever node is capable now), any other counts as failed.
   */
  private async nodeLost (run: WorkflowRun, index: number, nodeName: string, startedAt: number): Promise<Outcome> {
    const step = run.steps[index] as StepRun
    const def = run.definition.steps[index] as StepDefinition
    if (def.idempotent === true) {
      step.state = 'pending'
      await this.commit(run, [{ event: 'step_handoff', message: `${run.name} step ${step.id}: node ${nodeName} was lost while running it; the step is idempotent and runs again on a capable node`, workflowId: run.id, workflowStep: step.id, domains: ['step', 'mesh'] }])
      return 'continue'
    }
    return await this.stepFailed(run, index, { startedAt, error: `node ${nodeName} was lost while running it; not idempotent, so not re-run on its own`, result: null })
  }

  /** No node that is up can run the next step: the workflow waits, visibly, until one can. */
  private async waitForNode (run: WorkflowRun, index: number, reason: string): Promise<Outcome> {
    const step = run.steps[index] as StepRun
    run.state = 'waiting_node'
    run.error = reason
    await this.commit(run, [{ event: 'workflow_waiting', message: `${run.name} ${run.id} waits at step ${step.id} for a capable node: ${reason}`, workflowId: run.id, workflowStep: step.id, domains: ['workflow', 'mesh'] }])
    this.emit(run, 'WORKFLOW', 'waiting_node', step.id, `waiting for a node: ${reason}`)
    return 'parked'
  }

  /** Mesh membership changed: workflows waiting for a node try again. */
  wake (): void {
    if (this.stopping) return
    for (const run of this.runs.values()) {
      if (run.state !== 'waiting_node') continue
      run.state = 'running'
      run.error = null
      this.schedule(run)
    }
  }

  private async stepFailed (run: WorkflowRun, index: number, failure: { startedAt: number, error: string, result: ProcessResult | null }): Promise<Outcome> {
    const step = run.steps[index] as StepRun
    const end = this.opts.clock.now()
    step.state = 'failed'
    step.startedAt ??= failure.startedAt
    step.endedAt = end
    step.error = failure.error
    step.exitCode = failure.result?.exitCode ?? null
    step.durationMs = failure.result?.durationMs ?? end - failure.startedAt
    if (failure.result !== null) {
      step.stdout = failure.result.stdout
      step.stderr = failure.result.stderr
    }
    const entry: AuditInput = {
      event: 'step_failed',
      message: `${run.name} step ${step.id} failed (attempt ${step.attempts}): ${failure.error}`,
      workflowId: run.id,
      workflowStep: step.id,
      domains: ['step'],
      performanceMetrics: { durationMs: step.durationMs, attempts: step.attempts, ...(step.exitCode === null ? {} : { exitCode: step.exitCode }) }
    }
    this.emit(run, 'STEP', 'failed', step.id, `${step.id} failed: ${failure.error}`)
    return await this.applyFailure(run, index, [entry])
  }

  /** The step at `index` has failed: retry it, ask a person, or fail the workflow, as its onFailure says. */
  private async applyFailure (run: WorkflowRun, index: number, entries: AuditInput[] = []): Promise<Outcome> {
    const step = run.steps[index] as StepRun
    const policy = run.definition.steps[index]?.onFailure ?? 'abort'
    if (typeof policy === 'object' && step.attempts <= policy.retry) {
      step.state = 'pending'
      entries.push({ event: 'step_retry', message: `${run.name} step ${step.id} retries (${step.attempts} of ${policy.retry + 1} attempts used)`, workflowId: run.id, workflowStep: step.id, domains: ['step'] })
      await this.commit(run, entries)
      return 'continue'
    }
    if (policy === 'intervene') {
      return await this.requestIntervention(run, index, 'failure', entries)
    }
    await this.finish(run, 'failed', `step ${step.id} failed: ${step.error ?? 'unknown error'}`, entries)
    return 'done'
  }

  private async requestIntervention (run: WorkflowRun, index: number, reason: 'step' | 'failure', entries: AuditInput[] = []): Promise<Outcome> {
    const step = run.steps[index] as StepRun
    const def = run.definition.steps[index] as StepDefinition
    const now = this.opts.clock.now()
    let prompt: string
    let choices: string[]
    if (reason === 'step') {
      choices = def.intervention?.choices ?? [...DEFAULT_INTERVENTION_CHOICES]
      try {
        prompt = this.expand(run, def.intervention?.prompt ?? '')
      } catch (err) {
        prompt = `${def.intervention?.prompt ?? ''} (${(err as Error).message})`
      }
      step.startedAt = now
      step.attempts++
      step.node = this.opts.node.id
    } else {
      choices = [...FAILURE_CHOICES]
      prompt = `Step ${step.id} failed: ${step.error ?? 'unknown error'}. Retry it, skip it, or abort the workflow?`
    }
    step.state = 'waiting_intervention'
    run.state = 'waiting_intervention'
    run.intervention = { stepId: step.id, prompt, choices, reason, requestedAt: now }
    entries.push({
      event: 'intervention_request',
      message: `${run.name} step ${step.id}: ${prompt} [${choices.join('/')}]`,
      workflowId: run.id,
      workflowStep: step.id,
      domains: ['intervention'],
      interventionRequired: true
    })
    await this.commit(run, entries)
    this.emit(run, 'INTERVENTION', 'waiting_intervention', step.id, prompt)
    return 'parked'
  }

  private async finish (run: WorkflowRun, state: 'completed' | 'failed' | 'cancelled', error: string | null, entries: AuditInput[], asked?: string): Promise<void> {
    const now = this.opts.clock.now()
    run.state = state
    run.error = error
    run.endedAt = now
    run.intervention = null
    const event = state === 'completed' ? 'workflow_complete' : state === 'failed' ? 'workflow_failed' : 'workflow_cancelled'
    const duration = now - (run.startedAt ?? run.createdAt)
    entries.push({
      event,
      message: `${run.name} ${run.id} ${state}${error === null ? '' : `: ${error}`} in ${duration} ms`,
      workflowId: run.id,
      domains: ['workflow'],
      performanceMetrics: { durationMs: duration, steps: run.steps.filter(s => s.state === 'completed').length }
    })
    if (asked !== undefined) await this.commitNow(run, asked, entries)
    else await this.commit(run, entries)
    this.emit(run, 'WORKFLOW', state, null, `${run.name} ${state}${error === null ? '' : `: ${error}`}`)
  }

  /**
   * Makes the run's audit entries durable, then its state, both before anything acts on
   * them. The driver of a workflow waits here while the data dir cannot be written (a
   * full disk), and goes on by itself once it can: the transition has happened (a step
   * ran), so it must be recorded, never reported without being on disk.
   *
   * `inTrail`: the transition is a local step's start, which its trail entry holds all
   * of; with it, the file is left behind (and caught up lazily) unless something since
   * the file was written is not in the trail (a step's output).
   */
  private async commit (run: WorkflowRun, entries: AuditInput[], inTrail = false): Promise<void> {
    const toFile = !inTrail || this.needsFile.has(run.id)
    entries = this.withDeferred(run, entries)
    // The trail first, then the file: a crash between them leaves the trail ahead, which
    // recovery reads back (reconcile.ts); the other way round would lose the entries.
    for (let attempt = 0; ; attempt++) {
      const appended = await Promise.allSettled(entries.map(e => this.opts.audit.append(e)))
      // What was appended stays appended; only the rest is tried again.
      entries = entries.filter((_, i) => appended[i]?.status === 'rejected')
      let error = appended.find(r => r.status === 'rejected')?.reason as Error | undefined
      if (entries.length === 0 && !toFile) {
        this.durable(run, [], undefined)
        this.fileBehind(run.id)
        return
      }
      if (entries.length === 0) {
        try {
          await this.opts.store.save(run)
          this.fileWritten(run.id)
          this.durable(run, [], undefined)
          return
        } catch (err) {
          error = err as Error
        }
      }
      if (this.stopping || !isStorageError(error)) throw error
      this.storageFailed(error as Error, `${run.name} ${run.id} waits until it can record its state`)
      await this.sleep(Math.min(STATE_RETRY_MS * 2 ** attempt, STATE_RETRY_MAX_MS))
    }
  }

  /**
   * For a transition a person or client asked for (start, an intervention's answer,
   * cancel): the state is written first, and if it cannot be, the run is put back as
   * it was before the request (`before`, its JSON) and the caller is refused (NO_SPACE),
   * so nothing half happens.
   */
  private async commitNow (run: WorkflowRun, before: string | null, entries: AuditInput[]): Promise<void> {
    const wasAhead = this.ahead.has(run.id)
    const deferred = this.deferred.get(run.id)
    entries = this.withDeferred(run, entries)
    try {
      await this.opts.store.save(run)
      this.fileWritten(run.id)
    } catch (err) {
      if (isStorageError(err)) this.storageFailed(err as Error, `a request for ${run.name} ${run.id} was refused`)
      if (before !== null) Object.assign(run, JSON.parse(before) as WorkflowRun)
      if (deferred !== undefined) this.deferred.set(run.id, deferred)
      if (!wasAhead) this.ahead.delete(run.id)
      throw err
    }
    const appended = await Promise.allSettled(entries.map(e => this.opts.audit.append(e)))
    const failed = entries.filter((_, i) => appended[i]?.status === 'rejected')
    this.durable(run, failed, appended.find(r => r.status === 'rejected')?.reason)
  }

  private withDeferred (run: WorkflowRun, entries: AuditInput[]): AuditInput[] {
    const deferred = this.deferred.get(run.id)
    this.deferred.delete(run.id)
    run.updatedAt = this.opts.clock.now()
    run.revision++
    this.ahead.add(run.id)
    return deferred === undefined ? entries : [...deferred, ...entries]
  }

  /** The run's state is on disk: it is shown, what was deferred is told, and entries that could not be written wait. */
  private durable (run: WorkflowRun, unwritten: AuditInput[], error: unknown): void {
    this.ahead.delete(run.id)
    if (isFinished(run)) this.durableView.delete(run.id)
    else this.durableView.set(run.id, snapshot(run))
    if (unwritten.length > 0) this.backlog.add(unwritten, error)
    else if (this.storageTrouble !== null) {
      this.storageTrouble = null
      this.opts.log?.info('the data dir can be written again: workflows go on')
    }
    const told = this.deferredEvents.get(run.id)
    this.deferredEvents.delete(run.id)
    for (const tell of told ?? []) tell()
  }

  /** The run's file has its state in memory, all of it durable. */
  private fileWritten (id: string): void {
    this.needsFile.delete(id)
    const timer = this.behind.get(id)
    if (timer != null) clearTimeout(timer)
    this.behind.delete(id)
  }

  /** The run went on in its trail alone: its file is rewritten a moment later, with what is durable then. */
  private fileBehind (id: string): void {
    if (this.behind.get(id) != null) return
    this.behind.set(id, this.stopping ? null : this.later(() => this.catchUp(id), FILE_CATCH_UP_MS))
  }

  private catchUp (id: string): void {
    this.behind.set(id, null)
    const view = this.durableView.get(id)
    // A commit under way writes the file, or calls for a catch-up again once durable.
    if (view === undefined || this.ahead.has(id)) return
    // Saves of a run are chained in the store: this one cannot overtake a newer state's.
    this.opts.store.save(view).then(() => {
      if (this.behind.get(id) === null && this.durableView.get(id) === view) this.behind.delete(id)
    }, () => {
      // A full disk: the trail has it all; the file is tried again later.
      if (this.behind.get(id) === null && !this.stopping) this.behind.set(id, this.later(() => this.catchUp(id), STATE_RETRY_MAX_MS))
    })
  }

  /** At shutdown: every file behind its trail is written, so the data dir reads as it is without the trail. */
  private async catchUpAll (): Promise<void> {
    const ids = [...this.behind.keys()]
    for (const id of ids) {
      const timer = this.behind.get(id)
      if (timer != null) clearTimeout(timer)
      this.behind.set(id, null)
    }
    await Promise.all(ids.map(async id => {
      const view = this.durableView.get(id)
      if (view === undefined || this.ahead.has(id)) return
      try {
        await this.opts.store.save(view)
        if (this.durableView.get(id) === view) this.behind.delete(id)
      } catch (err) {
        this.opts.log?.warn(`the file of ${view.name} ${id} is behind its audit trail, which the next start reads back: ${(err as Error).message}`)
      }
    }))
  }

  private later (fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(fn, ms)
    ;(timer as { unref?: () => void }).unref?.()
    return timer
  }

  private storageFailed (err: Error, what: string): void {
    if (this.storageTrouble === null) this.opts.log?.error(`${err.message}; ${what}`)
    this.storageTrouble = err
  }

  /** Waits, or less when the engine shuts down. */
  private async sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => {
      const wake = (): void => { clearTimeout(timer); this.sleepers.delete(wake); resolve() }
      const timer = setTimeout(wake, ms)
      this.sleepers.add(wake)
    })
  }

  private defer (run: WorkflowRun, inTrail: boolean, entries: AuditInput[], tell: () => void): void {
    run.updatedAt = this.opts.clock.now()
    this.ahead.add(run.id)
    if (!inTrail) this.needsFile.add(run.id)
    this.deferred.set(run.id, [...(this.deferred.get(run.id) ?? []), ...entries])
    this.deferredEvents.set(run.id, [...(this.deferredEvents.get(run.id) ?? []), tell])
  }

  private emit (run: WorkflowRun, kind: WorkflowEventKind, state: string, stepId: string | null, text: string): void {
    if (this.listeners.size === 0) return
    const event: WorkflowEvent = { workflowId: run.id, kind, state, stepId, text, at: this.opts.clock.now() }
    for (const l of this.listeners) l(event)
  }

  private expand (run: WorkflowRun, value: string): string {
    return expand(value, ref => this.lookup(run, ref))
  }

  private lookup (run: WorkflowRun, ref: string[]): string | undefined {
    const [root, name, field] = ref
    if (name === undefined) return undefined
    switch (root) {
      case 'inputs': return run.inputs[name] ?? ''
      case 'env': return this.opts.env(name) ?? ''
      case 'workflow':
        return { id: run.id, name: run.name, dir: run.sourceDir, file: run.source }[name]
      case 'node': {
        const n = this.opts.node
        return { id: n.id, name: n.name, dataDir: n.dataDir, cli: n.cli }[name]
      }
      case 'steps': {
        const step = run.steps.find(s => s.id === name)
        if (step === undefined || field === undefined) return undefined
        switch (field) {
          case 'stdout': return step.stdout.trim()
          case 'stderr': return step.stderr.trim()
          case 'exitCode': return step.exitCode === null ? '' : String(step.exitCode)
          case 'choice': return step.choice ?? ''
          case 'comment': return step.comment ?? ''
          case 'state': return step.state
          default: return undefined
        }
      }
      default: return undefined
    }
  }

  private buildSpec (run: WorkflowRun, def: StepDefinition): ProcessSpec {
    const r = def.run
    if (r === undefined) throw new TemplateSyntaxError(`step ${def.id} has nothing to run`)
    const env: Record<string, string> = {
      SE_WORKFLOW_ID: run.id,
      SE_WORKFLOW_NAME: run.name,
      SE_STEP_ID: def.id,
      SE_NODE_ID: this.opts.node.id,
      SE_DATA_DIR: this.opts.node.dataDir
    }
    for (const [k, v] of Object.entries(r.env ?? {})) env[k] = this.expand(run, v)
    const spec: ProcessSpec = {
      command: this.expand(run, r.command ?? ''),
      args: (r.args ?? []).map(a => this.expand(run, a)),
      cwd: resolve(run.workdir, this.expand(run, r.cwd ?? '.')),
      env,
      // Cancel and timeout end what the step started too, and a step is over when its
      // own process is: what it left running in the background is ended with it.
      processGroup: true
    }
    if (r.timeoutSec !== undefined) spec.timeoutMs = Math.round(r.timeoutSec * 1000)
    if (r.image !== undefined) {
      spec.container = {
        image: this.expand(run, r.image),
        mounts: (r.mounts ?? []).map(m => ({ source: resolve(run.workdir, this.expand(run, m.source)), target: this.expand(run, m.target), readOnly: m.readOnly === true })),
        memory: r.memory ?? null,
        cpus: r.cpus ?? null,
        workdir: r.workdir === undefined ? null : this.expand(run, r.workdir)
      }
    }
    return spec
  }
}

/** A copy of the run that later transitions do not change (they replace the run's fields and change its steps in place). */
function snapshot (run: WorkflowRun): WorkflowRun {
  return { ...run, steps: run.steps.map(s => ({ ...s })) }
}

/** A write to the data dir failed: waiting may help (a full disk); anything else is a bug to surface. */
function isStorageError (err: unknown): boolean {
  return err instanceof SeError && (err.code === 'NO_SPACE' || err.code === 'WRITE_FAILED')
}

function describeFailure (result: ProcessResult): string {
  if (result.spawnError !== null) return result.spawnError
  if (result.timedOut) return `timed out after ${result.durationMs} ms`
  const lastLine = result.stderr.trim().split('\n').pop() ?? ''
  const why = result.signal !== null ? `killed by ${result.signal}` : `exit code ${result.exitCode ?? '?'}`
  return lastLine === '' ? why : `${why}: ${lastLine.slice(0, 200)}`
}
