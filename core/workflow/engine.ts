// The workflow state machine. Every transition is durable before it takes effect, so
// `kill -9` at any instant leaves a record the next start resumes from. The audit
// trail is the journal: a step's start, and the completion of a step that printed
// nothing, are made durable by their trail entries alone (one durable append per
// step), and reconcile.ts rebuilds them onto the run's file after a crash. The file is
// rewritten for every transition the trail cannot rebuild (output, failures, questions
// for a person, requests, the end), and otherwise lazily, a moment later.
//
// A workflow is a graph of entries (graph.ts): each entry starts once every entry it
// needs is done, so branches run side by side, each placed on its own; a branch that
// waits for a person or for a node holds up only what needs it. Transitions of one
// run are committed one at a time, in order (`exclusive`).
import b4a from 'b4a'
import { DEFAULT_INTERVENTION_CHOICES, FAILURE_CHOICES, MAX_CONCURRENT_WORKFLOWS, MAX_RETRY_BACKOFF_SEC, STATE_RETRY_MAX_MS, STATE_RETRY_MS, STOPPING_CHOICES } from '../constants.js'
import { SeError, toSeError } from '../errors.js'
import { AuditBacklog } from '../audit/backlog.js'
import { dirname } from '../paths.js'
import type { AuditInput, AuditLog } from '../audit/log.js'
import type { Clock, Logger, ProcessHandle, ProcessResult, ProcessRunner, ProcessSpec } from '../ports.js'
import type { ArtifactPublish, ArtifactRecord, ArtifactUse, InterventionResult, WorkflowEvent, WorkflowEventKind } from '../protocol/types.js'
import type { StepDefinition, WorkflowDefinition } from './definition.js'
import { stepKind } from './step-kind.js'
import { approvalCount, countsApprovals, neededText } from './approvals.js'
import { definitionOf, expandEntries, splitUse } from './graph.js'
import { evaluate, parseExpression } from './expression.js'
import { describeFailure } from './failure-reason.js'
import { reconcileWithTrail } from './reconcile.js'
import { isDone, isFinished, newStepRun, normalizeRun, setInterventions, type PendingIntervention, type StepRun, type WorkflowRun, type WorkflowState } from './run.js'
import type { WorkflowStore } from './store.js'
import { HERE, type Placement, type PlacementDecision, type StepFilesRequest, type StepHandle, type StepPlacement, type StepResult } from './placement.js'
import { buildSpec, expandFor, lookup, type NodeIdentityInfo } from './step-values.js'

export type { NodeIdentityInfo } from './step-values.js'

/**
 * What a step gets around its process on this node: the artifacts it uses placed in
 * its working directory, a $SE_OUTPUT file; after it, what it publishes and writes
 * there (core/artifact implements it; a member's step server uses the same).
 */
export interface LocalStepFiles {
  prepare (req: { workflowId: string, requesterId: string, stepId: string, attempt: number, cwd: string, uses: ArtifactUse[], outputs: boolean }): Promise<{ env: Record<string, string> }>
  finish (req: { workflowId: string, requesterId: string, stepId: string, attempt: number, cwd: string, publish: ArtifactPublish[], outputs: boolean, succeeded: boolean }): Promise<{ outputs: Record<string, string>, artifacts: ArtifactRecord[] }>
  /** The requester's word that `grantee` may fetch the artifact from whichever node holds it. */
  grant (workflowId: string, hash: string, grantee: string): string
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
  /** Artifacts and outputs of steps run here; without it, a step with either fails. */
  stepFiles?: LocalStepFiles
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

const NEVER = new Promise<void>(() => {})

/** Entries of one run running at once, whatever the graph's width. */
const MAX_BRANCHES = 64

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
  /** Running entries' processes, by run id then entry id. */
  private readonly handles = new Map<string, Map<string, ProcessHandle>>()
  /** Wakes a run's driver waiting for a branch: an answer, a member, a backoff over. */
  private readonly nudges = new Map<string, { promise: Promise<void>, wake: () => void }>()
  /** Entries no node can run yet, by run, with why. */
  private readonly blocked = new Map<string, Map<string, string>>()
  /** The branches each driver has under way, by entry id. */
  private readonly branches = new Map<string, Map<string, Promise<Outcome>>>()
  /** Each run's commits, in order. */
  private readonly commits = new Map<string, Promise<unknown>>()
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
      normalizeRun(run)
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

  // Applies the restart rules to every entry that was running: an interrupted idempotent
  // step runs again, any other counts as failed and its onFailure decides.
  private async resumeRun (run: WorkflowRun, why: string): Promise<void> {
    const notes: string[] = []
    const failed: StepRun[] = []
    for (const step of run.steps) {
      if (step.state !== 'running') continue
      if (this.defOf(run, step).idempotent === true) {
        step.state = 'pending'
        notes.push(`at step ${step.id}, which is idempotent and runs again`)
      } else {
        step.state = 'failed'
        step.endedAt = this.opts.clock.now()
        step.error = 'interrupted: the node stopped while this step was running'
        failed.push(step)
        notes.push(`at step ${step.id}, which was interrupted and is not idempotent: its onFailure applies`)
      }
    }
    const at = run.steps.find(s => !isDone(s))
    const note = `${run.name} ${run.id} resumed ${why}${notes.length > 0 ? ` ${notes.join('; ')}` : at === undefined ? '' : ` at step ${at.id}`}`
    if (run.state === 'running' || run.state === 'waiting_node') run.state = 'pending'
    await this.commit(run, [{ event: 'workflow_resume', message: note, workflowId: run.id, workflowStep: failed[0]?.id ?? at?.id ?? '', domains: ['workflow'] }])
    for (const step of failed) {
      const outcome = await this.applyFailure(run, step)
      if (outcome === 'done') return
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
      interventions: [],
      steps: expandEntries(req.definition).map(e => {
        const def = definitionOf(req.definition, e.step) as StepDefinition
        return { ...newStepRun(e.id, stepKind(def)), step: e.step, needs: e.needs, instance: e.instance }
      }),
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

  /** Answers the intervention of step `result.stepId`, or the run's first one when that is empty. */
  async resolve (id: string, result: ResolveInput): Promise<WorkflowRun> {
    const run = this.mustGet(id)
    const wanted = result.stepId ?? ''
    const pending = wanted === '' ? run.interventions[0] : run.interventions.find(i => i.stepId === wanted)
    if (pending === undefined || isFinished(run)) throw SeError.notWaiting(id, wanted === '' || run.interventions.length === 0 ? run.state : `${run.state}, not at step ${wanted}`)
    const before = JSON.stringify(run)
    if (!pending.choices.includes(result.choice)) {
      throw SeError.invalidChoice(result.choice, pending.stepId, id, pending.choices)
    }
    const step = run.steps.find(s => s.id === pending.stepId) as StepRun
    const now = this.opts.clock.now()
    if (this.countsTowardQuorum(run, pending, result, now)) {
      await this.commitNow(run, before, [approvalEntry(run, pending, result)])
      this.emit(run, 'INTERVENTION', 'waiting_intervention', step.id, `${result.choice} ${approvalCount(pending)}`)
      return run
    }
    step.choice = result.choice
    step.comment = result.comment
    step.decidedBy = result.decidedBy
    setInterventions(run, run.interventions.filter(i => i !== pending))
    const agreed = (pending.quorum ?? 1) > 1 && !(STOPPING_CHOICES as readonly string[]).includes(result.choice) ? ` (${approvalCount(pending)}: ${(pending.approvals ?? []).filter(a => a.choice === result.choice).map(a => a.name).join(', ')})` : ''
    const by = result.decidedBy === '' ? agreed : ` by ${result.decidedBy}${agreed}`
    const comment = result.comment === null || result.comment === '' ? '' : ` (${result.comment})`
    const entries: AuditInput[] = [{
      event: 'intervention_resolved',
      message: `${run.name} step ${step.id}: ${result.choice}${by}${comment}`,
      workflowId: id,
      workflowStep: step.id,
      domains: ['intervention'],
      performanceMetrics: { waitMs: now - pending.requestedAt },
      decision: result.signed ?? null
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
      // Other branches may still be running: the run goes on where it is.
      const parked = run.state === 'waiting_intervention'
      if (parked) run.state = this.active.size < this.maxConcurrent ? 'running' : 'pending'
      await this.commitNow(run, before, entries)
      this.emit(run, 'STEP', step.state, step.id, `${step.id} ${result.choice}`)
      if (parked) this.emit(run, 'WORKFLOW', run.state, null, `${run.name} resumed after ${result.choice}`)
      this.schedule(run)
    } else {
      const reason = next === 'cancelled' ? `${result.choice}ed at step ${step.id}${by}${comment}` : `aborted at step ${step.id}${by}${comment}`
      await this.finish(run, next, reason, entries, before)
      this.killBranches(run.id, 'SIGTERM')
    }
    return run
  }

  /**
   * An intervention with approvers or a quorum counts people's signed decisions: true when
   * this one was counted and more are needed (the run keeps waiting), false when it decides.
   * A stopping choice (reject, abort) decides at once.
   */
  private countsTowardQuorum (run: WorkflowRun, pending: PendingIntervention, result: ResolveInput, now: number): boolean {
    if (!countsApprovals(pending)) return false
    if ((STOPPING_CHOICES as readonly string[]).includes(result.choice)) return false
    const signed = result.signed
    if (signed === null || signed === undefined) throw SeError.approvalNotSigned(run.id, pending.stepId, neededText(pending))
    const approvals = pending.approvals ?? []
    const person = signed.decision.person
    if (approvals.some(a => a.person === person)) throw SeError.alreadyApproved(run.id, pending.stepId, signed.decision.name, approvalCount(pending))
    pending.approvals = [...approvals, { person, name: signed.decision.name, choice: result.choice, at: now }]
    return pending.approvals.filter(a => a.choice === result.choice).length < (pending.quorum ?? 1)
  }

  /** `decision`: the person's signed decision to cancel, already checked, kept in the trail's workflow_cancelled entry. */
  async cancel (id: string, reason: string, decision: InterventionResult['signed'] = null): Promise<WorkflowRun> {
    const run = this.mustGet(id)
    if (isFinished(run)) throw SeError.alreadyFinished(id, run.state)
    const before = JSON.stringify(run)
    for (const step of run.steps) {
      if (step.state !== 'running' && step.state !== 'waiting_intervention') continue
      step.state = 'failed'
      step.error = 'cancelled'
      step.endedAt = this.opts.clock.now()
    }
    setInterventions(run, [])
    await this.finish(run, 'cancelled', reason === '' ? 'cancelled' : reason, [], before, decision)
    const queued = this.queue.indexOf(id)
    if (queued !== -1) this.queue.splice(queued, 1)
    this.killBranches(id, 'SIGTERM')
    return run
  }

  private killBranches (id: string, signal: string): void {
    for (const handle of this.handles.get(id)?.values() ?? []) handle.kill(signal)
    this.nudge(id)
  }

  /** Stops taking work; lets running steps finish for graceMs, then stops them (their state stays checkpointed). */
  async shutdown (graceMs: number): Promise<void> {
    this.stopping = true
    this.queue.length = 0
    for (const wake of this.sleepers) wake()
    for (const id of [...this.nudges.keys()]) this.nudge(id)
    const all = Promise.all([...this.drivers])
    let timer: ReturnType<typeof setTimeout> | undefined
    const grace = new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), graceMs) })
    const outcome = await Promise.race([all.then(() => 'done' as const), grace])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      for (const handles of this.handles.values()) for (const handle of handles.values()) { this.killedForShutdown.add(handle); handle.kill('SIGTERM') }
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
    // Its driver is under way: it looks again now (an answer may have freed a branch), and once more when done.
    if (this.active.has(run.id)) { this.rerun.add(run.id); this.nudge(run.id); return }
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

  private defOf (run: WorkflowRun, step: StepRun): StepDefinition {
    return definitionOf(run.definition, step.step === '' ? step.id : step.step) as StepDefinition
  }

  private values (): { node: NodeIdentityInfo, env: (name: string) => string | undefined } {
    return { node: this.opts.node, env: this.opts.env }
  }

  /**
   * Runs the graph: starts every entry whose needs are done, up to the limits, and
   * waits for any branch to settle (or a nudge) before looking again. Ends when the
   * run ends, or when nothing runs and what is left waits for a person or a node.
   */
  private async drive (run: WorkflowRun): Promise<void> {
    if (run.state === 'pending') {
      run.state = 'running'
      run.startedAt ??= this.opts.clock.now()
      await this.commit(run, [])
      this.emit(run, 'WORKFLOW', 'running', null, `${run.name} running`)
    }
    const branches = new Map<string, Promise<Outcome>>()
    this.branches.set(run.id, branches)
    try {
      while (!this.stopping && run.state === 'running') {
        const ready = this.ready(run, branches)
        for (const step of ready) {
          branches.set(step.id, this.runEntry(run, step).finally(() => branches.delete(step.id)))
        }
        // A completion waits for the next transition to be made durable with it; when no step
        // starts now to carry it, it is written on its own, or a long branch would hold it back.
        if (ready.length === 0 && this.deferred.has(run.id)) await this.commit(run, [], true)
        if (branches.size === 0) {
          const wait = await this.idle(run)
          if (wait === 'stop') break
          continue
        }
        await Promise.race([...branches.values(), this.nudged(run.id), this.untilNextRetry(run)])
      }
      // The run ended (or the node is stopping) with branches running: they are killed by whoever ended it; let them settle.
      await Promise.allSettled([...branches.values()])
    } finally {
      this.nudges.delete(run.id)
      this.branches.delete(run.id)
    }
    if (this.deferred.has(run.id)) await this.commit(run, [])
  }

  /** Nothing runs: the run is complete, failed, waiting, or a retry's backoff is under way. */
  private async idle (run: WorkflowRun): Promise<'again' | 'stop'> {
    const failed = run.steps.find(s => s.state === 'failed')
    if (failed !== undefined) {
      await this.finish(run, 'failed', `step ${failed.id} failed: ${failed.error ?? 'unknown error'}`, [])
      return 'stop'
    }
    if (run.steps.every(isDone)) {
      await this.finish(run, 'completed', null, [])
      return 'stop'
    }
    // A retry waiting out its backoff goes on whatever else waits.
    if (run.steps.some(s => s.retryAt !== null && s.state === 'pending')) {
      await Promise.race([this.nudged(run.id), this.untilNextRetry(run)])
      return 'again'
    }
    if (run.interventions.length > 0) {
      run.state = 'waiting_intervention'
      await this.commit(run, [])
      this.emit(run, 'WORKFLOW', 'waiting_intervention', run.interventions[0]?.stepId ?? null, `${run.name} waits for a person`)
      return 'stop'
    }
    const blocked = this.blocked.get(run.id)
    if (blocked !== undefined && blocked.size > 0) {
      const [stepId, reason] = [...blocked.entries()][0] as [string, string]
      await this.waitForNode(run, stepId, reason)
      return 'stop'
    }
    // Entries left that can never start (what they need was cancelled): the run cannot complete.
    await this.finish(run, 'failed', `steps ${run.steps.filter(s => !isDone(s)).map(s => s.id).join(', ')} cannot start`, [])
    return 'stop'
  }

  /** Entries that may start now, in file order. */
  private ready (run: WorkflowRun, branches: Map<string, Promise<Outcome>>): StepRun[] {
    const now = this.opts.clock.now()
    const byId = new Map(run.steps.map(s => [s.id, s]))
    const blocked = this.blocked.get(run.id)
    const runningOf = new Map<string, number>()
    for (const s of run.steps) if (s.state === 'running' || branches.has(s.id)) runningOf.set(s.step, (runningOf.get(s.step) ?? 0) + 1)
    const out: StepRun[] = []
    for (const step of run.steps) {
      if (branches.size + out.length >= MAX_BRANCHES) break
      if (step.state !== 'pending' || branches.has(step.id) || blocked?.has(step.id) === true) continue
      if (step.retryAt !== null && step.retryAt > now) continue
      if (!step.needs.every(n => { const need = byId.get(n); return need === undefined || isDone(need) })) continue
      const def = this.defOf(run, step)
      // An artifact's maker that runs again (its copies were lost) holds up what uses it, needs or not.
      if (!(def.uses ?? []).every(use => run.steps.every(s => s.step !== splitUse(use)?.step || isDone(s)))) continue
      const limit = def.maxParallel
      if (limit !== undefined && (runningOf.get(step.step) ?? 0) >= limit) continue
      runningOf.set(step.step, (runningOf.get(step.step) ?? 0) + 1)
      out.push(step)
    }
    return out
  }

  /** One promise per run until it is nudged: the driver races it every turn without piling up waiters. */
  private nudged (id: string): Promise<void> {
    const waiting = this.nudges.get(id)
    if (waiting !== undefined) return waiting.promise
    let wake!: () => void
    const promise = new Promise<void>(resolve => { wake = resolve })
    this.nudges.set(id, { promise, wake })
    return promise
  }

  private nudge (id: string): void {
    const waiting = this.nudges.get(id)
    this.nudges.delete(id)
    waiting?.wake()
  }

  /** Resolves when the earliest retry of the run may go, never when none waits. */
  private untilNextRetry (run: WorkflowRun): Promise<void> {
    let at = Infinity
    for (const s of run.steps) if (s.retryAt !== null && s.state === 'pending' && s.retryAt < at) at = s.retryAt
    if (!Number.isFinite(at)) return NEVER
    return this.sleep(Math.max(0, at - this.opts.clock.now()))
  }

  /** One entry: its condition, then a question for a person or a run. */
  private async runEntry (run: WorkflowRun, step: StepRun): Promise<Outcome> {
    // Every branch started together is known before any of them looks at the others.
    await Promise.resolve()
    const def = this.defOf(run, step)
    if (def.if !== undefined) {
      let go: boolean
      try {
        go = evaluate(parseExpression(def.if), ref => lookup(this.values(), run, step, ref))
      } catch (err) {
        step.attempts++
        step.node = this.opts.node.id
        return await this.stepFailed(run, step, { startedAt: this.opts.clock.now(), error: `condition: ${(err as Error).message}`, result: null })
      }
      if (!go) return await this.skip(run, step, def.if)
    }
    return def.intervention !== undefined
      ? await this.requestIntervention(run, step, 'step')
      : await this.runStep(run, step)
  }

  private async skip (run: WorkflowRun, step: StepRun, condition: string): Promise<Outcome> {
    step.state = 'skipped'
    step.endedAt = this.opts.clock.now()
    await this.commit(run, [{ event: 'step_skipped', message: `${run.name} step ${step.id} skipped: its condition ${condition} is false`, workflowId: run.id, workflowStep: step.id, domains: ['step'] }])
    this.emit(run, 'STEP', 'skipped', step.id, `${step.id} skipped`)
    return 'continue'
  }

  /** The artifacts an entry uses, with who holds them and the requester's grant for the node that runs it. */
  private artifactsFor (run: WorkflowRun, def: StepDefinition): ArtifactRecord[] {
    const out: ArtifactRecord[] = []
    for (const use of def.uses ?? []) {
      const ref = splitUse(use)
      if (ref === null) continue
      for (const maker of run.steps.filter(s => s.step === ref.step)) {
        const made = maker.artifacts.find(a => a.name === ref.name)
        if (made !== undefined) out.push(made)
      }
    }
    return out
  }

  /**
   * An artifact the entry needs whose every holder is gone cannot be fetched: the step
   * that made it runs again, and the entry waits for it. Says whether that happened.
   */
  private async remakeLostArtifacts (run: WorkflowRun, artifacts: ArtifactRecord[]): Promise<boolean> {
    const reachable = this.opts.placement?.reachable
    if (reachable === undefined) return false
    const lost = artifacts.filter(a => !a.nodes.some(n => reachable.call(this.opts.placement, n)))
    if (lost.length === 0) return false
    const entries: AuditInput[] = []
    for (const artifact of lost) {
      const maker = run.steps.find(s => s.id === artifact.step)
      if (maker === undefined || maker.state === 'pending') continue
      maker.state = 'pending'
      maker.artifacts = maker.artifacts.filter(a => a.name !== artifact.name)
      entries.push({ event: 'artifact_lost', message: `${run.name} artifact ${artifact.name} (sha256:${artifact.hash}) of step ${maker.id} was held only by ${artifact.nodes.map(n => n.slice(0, 8)).join(', ')}, none of which can be reached: step ${maker.id} runs again to make it`, workflowId: run.id, workflowStep: maker.id, domains: ['step', 'mesh'] })
    }
    await this.commit(run, entries)
    return true
  }

  private async runStep (run: WorkflowRun, step: StepRun): Promise<Outcome> {
    const def = this.defOf(run, step)
    const now = this.opts.clock.now()
    const used = this.artifactsFor(run, def)
    if (await this.remakeLostArtifacts(run, used)) return 'continue'
    let spec: ProcessSpec
    let executor: StepExecutor | undefined
    let placement: Placement | null = null
    let decision: PlacementDecision = HERE
    try {
      spec = buildSpec(this.values(), run, step, def)
      decision = this.opts.placement?.place(run, step, this.busy(run)) ?? HERE
      placement = decision.where === 'member' ? decision.placement : null
      executor = placement === null ? this.opts.executors?.find(e => e.canRun(run, def)) : undefined
      if (def.run?.image !== undefined && decision.where === 'here' && executor === undefined) throw SeError.noContainerEngine(def.run.image)
    } catch (err) {
      const message = err instanceof SeError ? err.reason : (err as Error).message
      step.attempts++
      step.node = this.opts.node.id
      return await this.stepFailed(run, step, { startedAt: now, error: message, result: null })
    }
    if (decision.where === 'nowhere') {
      this.blocked.set(run.id, (this.blocked.get(run.id) ?? new Map<string, string>()).set(step.id, decision.reason))
      return 'parked'
    }
    step.state = 'running'
    step.attempts++
    step.startedAt = now
    step.endedAt = null
    step.retryAt = null
    step.node = placement?.nodeId ?? this.opts.node.id
    step.error = null
    step.uses = used.map(a => a.hash)
    const where = placement === null ? '' : ` on ${placement.name} (${placement.nodeId.slice(0, 8)})`
    const uses = used.length === 0 ? '' : `; uses ${used.map(a => `${a.name} sha256:${a.hash}`).join(', ')}`
    await this.commit(run, [{
      event: 'step_start',
      message: `${run.name} step ${step.id} (attempt ${step.attempts})${where}: ${spec.container === undefined ? '' : `[${spec.container.image}] `}${[spec.command, ...spec.args].join(' ')}${uses}`,
      workflowId: run.id,
      workflowStep: step.id,
      domains: ['step'],
      files: spec.cwd === undefined ? [] : [spec.cwd],
      // Which attempt: with it, the trail alone says the step is running (reconcile.ts).
      performanceMetrics: { attempts: step.attempts }
    }], placement === null && used.length === 0)
    this.emit(run, 'STEP', 'running', step.id, `${step.id} running (attempt ${step.attempts})`)
    const onOutput = (stream: 'stdout' | 'stderr', text: string): void => this.emit(run, 'OUTPUT', stream, step.id, text)
    const files: StepFilesRequest = {
      uses: used.map(artifact => ({ artifact, grant: placement === null ? '' : this.opts.stepFiles?.grant(run.id, artifact.hash, placement.nodeId) ?? '' })),
      publish: Object.entries(def.artifacts ?? {}).map(([name, path]) => ({ name, path })),
      outputs: def.outputs !== undefined
    }
    const handle = placement !== null
      ? placement.run(spec, files, onOutput)
      : this.runHere(run, step, def, spec, files, executor, onOutput)
    const handles = this.handles.get(run.id) ?? new Map<string, ProcessHandle>()
    this.handles.set(run.id, handles.set(step.id, handle))
    let result: StepResult
    try {
      result = await handle.result
    } finally {
      handles.delete(step.id)
      if (handles.size === 0 && this.handles.get(run.id) === handles) this.handles.delete(run.id)
    }
    // Cancelled meanwhile, or stopped by shutdown (however it exited): the persisted state already says what happens next.
    if (run.state !== 'running' || step.state !== 'running' || this.killedForShutdown.has(handle)) return 'done'
    if (result.lostNode !== undefined) return await this.nodeLost(run, step, placement?.name ?? result.lostNode, now)
    if (result.exitCode === 0 && !result.timedOut) return this.completed(run, step, used, result)
    return await this.stepFailed(run, step, { startedAt: now, error: describeFailure(result), result })
  }

  /** A step on this node: its process (or its executor's), with its artifacts and outputs around it. */
  private runHere (run: WorkflowRun, step: StepRun, def: StepDefinition, spec: ProcessSpec, files: StepFilesRequest, executor: StepExecutor | undefined, onOutput: (stream: 'stdout' | 'stderr', text: string) => void): StepHandle {
    const start = (s: ProcessSpec): ProcessHandle => executor !== undefined ? executor.run(run, def, s, onOutput) : this.opts.processes.run(s, onOutput)
    const stepFiles = this.opts.stepFiles
    if (files.uses.length === 0 && files.publish.length === 0 && !files.outputs) return start(spec)
    const cwd = spec.cwd ?? run.workdir
    const req = { workflowId: run.id, requesterId: this.opts.node.id, stepId: step.id, attempt: step.attempts, cwd }
    let inner: ProcessHandle | null = null
    let killed: string | null = null
    const failed = (error: string, durationMs = 0): StepResult => ({ exitCode: null, signal: null, stdout: '', stderr: '', durationMs, timedOut: false, spawnError: error })
    const result = (async (): Promise<StepResult> => {
      if (stepFiles === undefined) return failed('this node cannot give steps artifacts or outputs')
      let env: Record<string, string>
      try {
        env = (await stepFiles.prepare({ ...req, uses: files.uses, outputs: files.outputs })).env
      } catch (err) {
        return failed(toSeError(err).reason)
      }
      if (killed !== null) return { ...failed('cancelled'), signal: killed }
      inner = start({ ...spec, env: { ...spec.env, ...env } })
      const r: StepResult = await inner.result
      const succeeded = r.exitCode === 0 && !r.timedOut
      try {
        return { ...r, ...await stepFiles.finish({ ...req, publish: files.publish, outputs: files.outputs, succeeded }) }
      } catch (err) {
        // As on a member (step-server.ts): the step failed, saying why.
        const reason = toSeError(err).reason
        return succeeded ? { ...r, exitCode: null, spawnError: reason, stderr: `${r.stderr}${r.stderr === '' || r.stderr.endsWith('\n') ? '' : '\n'}${reason}\n` } : r
      }
    })()
    return { result, kill: signal => { killed = signal ?? 'SIGTERM'; inner?.kill(signal) } }
  }

  /** The workflow's running entries per node, for the router to spread a fan-out. */
  private busy (run: WorkflowRun): Map<string, number> {
    const out = new Map<string, number>()
    for (const s of run.steps) if (s.state === 'running' && s.node !== null) out.set(s.node, (out.get(s.node) ?? 0) + 1)
    return out
  }

  private completed (run: WorkflowRun, step: StepRun, used: ArtifactRecord[], result: StepResult): Outcome {
    const end = this.opts.clock.now()
    step.state = 'completed'
    step.exitCode = 0
    step.endedAt = end
    step.durationMs = result.durationMs
    step.stdout = result.stdout
    step.stderr = result.stderr
    step.outputs = result.outputs ?? {}
    step.artifacts = result.artifacts ?? []
    // The node that ran it placed the artifacts it used: it holds a copy now, should their maker go.
    for (const artifact of used) if (step.node !== null && !artifact.nodes.includes(step.node)) artifact.nodes.push(step.node)
    // Made durable together with the next transition, which always comes before anything acts on it.
    // A step that printed nothing and left nothing else is all in its trail entry; the rest is kept in the file only.
    const outputBytes = b4a.byteLength(result.stdout) + b4a.byteLength(result.stderr)
    const exact = outputBytes === 0 && step.artifacts.length === 0 && Object.keys(step.outputs).length === 0 && used.length === 0
    const published = step.artifacts.length === 0 ? '' : `; published ${step.artifacts.map(a => `${a.name} sha256:${a.hash} (${a.size} bytes, ${a.files} files)`).join(', ')}`
    this.defer(run, exact, [{
      event: 'step_complete',
      message: `${run.name} step ${step.id} completed in ${result.durationMs} ms${published}`,
      workflowId: run.id,
      workflowStep: step.id,
      domains: ['step'],
      performanceMetrics: { durationMs: result.durationMs, exitCode: 0, attempts: step.attempts, outputBytes: exact ? 0 : Math.max(outputBytes, 1), ...(result.networkMs === undefined ? {} : { networkLatencyMs: result.networkMs }) }
    }], () => this.emit(run, 'STEP', 'completed', step.id, `${step.id} completed`))
    return 'continue'
  }

  /**
   * The node running the step went away before it answered. The step may or may
   * not have finished there, so the restart rules apply: an idempotent step runs
   * again (on whichever node is capable now), any other counts as failed.
   */
  private async nodeLost (run: WorkflowRun, step: StepRun, nodeName: string, startedAt: number): Promise<Outcome> {
    if (this.defOf(run, step).idempotent === true) {
      step.state = 'pending'
      await this.commit(run, [{ event: 'step_handoff', message: `${run.name} step ${step.id}: node ${nodeName} was lost while running it; the step is idempotent and runs again on a capable node`, workflowId: run.id, workflowStep: step.id, domains: ['step', 'mesh'] }])
      return 'continue'
    }
    return await this.stepFailed(run, step, { startedAt, error: `node ${nodeName} was lost while running it; not idempotent, so not re-run on its own`, result: null })
  }

  /** No node that is up can run a step, and nothing else of the workflow runs: it waits, visibly, until one can. */
  private async waitForNode (run: WorkflowRun, stepId: string, reason: string): Promise<void> {
    run.state = 'waiting_node'
    run.error = reason
    await this.commit(run, [{ event: 'workflow_waiting', message: `${run.name} ${run.id} waits at step ${stepId} for a capable node: ${reason}`, workflowId: run.id, workflowStep: stepId, domains: ['workflow', 'mesh'] }])
    this.emit(run, 'WORKFLOW', 'waiting_node', stepId, `waiting for a node: ${reason}`)
  }

  /** Mesh membership changed: entries waiting for a node, or for an artifact's holder, try again. */
  wake (): void {
    if (this.stopping) return
    const tryAgain = new Set(this.blocked.keys())
    this.blocked.clear()
    for (const run of this.runs.values()) {
      // A run parked for a person may also have a branch that waited for a node: that branch goes on.
      const parked = run.state === 'waiting_node' || (run.state === 'waiting_intervention' && tryAgain.has(run.id))
      if (!parked) { if (tryAgain.has(run.id)) this.nudge(run.id); continue }
      run.state = 'running'
      run.error = null
      this.schedule(run)
    }
  }

  private async stepFailed (run: WorkflowRun, step: StepRun, failure: { startedAt: number, error: string, result: ProcessResult | null }): Promise<Outcome> {
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
    return await this.applyFailure(run, step, [entry])
  }

  /** The entry has failed: retry it (after its backoff), ask a person, or fail the workflow, as its onFailure says. */
  private async applyFailure (run: WorkflowRun, step: StepRun, entries: AuditInput[] = []): Promise<Outcome> {
    const def = this.defOf(run, step)
    const policy = def.onFailure ?? 'abort'
    if (typeof policy === 'object' && step.attempts <= policy.retry) {
      step.state = 'pending'
      const waitSec = Math.min((policy.backoffSec ?? 0) * 2 ** (step.attempts - 1), MAX_RETRY_BACKOFF_SEC)
      step.retryAt = waitSec > 0 ? this.opts.clock.now() + Math.round(waitSec * 1000) : null
      entries.push({ event: 'step_retry', message: `${run.name} step ${step.id} retries${waitSec > 0 ? ` in ${waitSec} s` : ''} (${step.attempts} of ${policy.retry + 1} attempts used)`, workflowId: run.id, workflowStep: step.id, domains: ['step'], performanceMetrics: { backoffMs: Math.round(waitSec * 1000) } })
      await this.commit(run, entries)
      return 'continue'
    }
    if (policy === 'intervene') {
      return await this.requestIntervention(run, step, 'failure', entries)
    }
    // A matrix step that does not fail fast lets its other instances finish; the run fails once nothing runs.
    if (def.matrix !== undefined && def.failFast === false) {
      await this.commit(run, entries)
      return 'continue'
    }
    const others = run.steps.filter(s => s !== step && (s.state === 'running' || s.state === 'waiting_intervention'))
    for (const other of others) {
      other.state = 'failed'
      other.error = other.step === step.step && def.matrix !== undefined ? `cancelled: instance ${step.id} failed (failFast)` : `cancelled: step ${step.id} failed`
      other.endedAt = this.opts.clock.now()
    }
    await this.finish(run, 'failed', `step ${step.id} failed: ${step.error ?? 'unknown error'}`, entries)
    this.killBranches(run.id, 'SIGTERM')
    return 'done'
  }

  private async requestIntervention (run: WorkflowRun, step: StepRun, reason: 'step' | 'failure', entries: AuditInput[] = []): Promise<Outcome> {
    const def = this.defOf(run, step)
    const now = this.opts.clock.now()
    let prompt: string
    let choices: string[]
    if (reason === 'step') {
      choices = def.intervention?.choices ?? [...DEFAULT_INTERVENTION_CHOICES]
      try {
        prompt = expandFor(this.values(), run, step, def.intervention?.prompt ?? '')
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
    const pending: PendingIntervention = { stepId: step.id, prompt, choices, reason, requestedAt: now }
    if (reason === 'step' && (def.intervention?.approvers !== undefined || (def.intervention?.quorum ?? 1) > 1)) {
      pending.approvers = [...def.intervention?.approvers ?? []]
      pending.quorum = def.intervention?.quorum ?? 1
      pending.approvals = []
    }
    setInterventions(run, [...run.interventions, pending])
    // No other branch is under way: the run as a whole waits for the person.
    if (![...this.branches.get(run.id)?.keys() ?? []].some(id => id !== step.id)) run.state = 'waiting_intervention'
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

  private async finish (run: WorkflowRun, state: 'completed' | 'failed' | 'cancelled', error: string | null, entries: AuditInput[], asked?: string, decision: InterventionResult['signed'] = null): Promise<void> {
    const now = this.opts.clock.now()
    run.state = state
    run.error = error
    run.endedAt = now
    setInterventions(run, [])
    const event = state === 'completed' ? 'workflow_complete' : state === 'failed' ? 'workflow_failed' : 'workflow_cancelled'
    const duration = now - (run.startedAt ?? run.createdAt)
    entries.push({
      event,
      message: `${run.name} ${run.id} ${state}${error === null ? '' : `: ${error}`} in ${duration} ms`,
      workflowId: run.id,
      domains: ['workflow'],
      performanceMetrics: { durationMs: duration, steps: run.steps.filter(s => s.state === 'completed').length },
      decision
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
    await this.exclusive(run.id, async () => await this.commitInOrder(run, entries, inTrail))
  }

  /** Runs one commit of the run after the ones before it: branches never interleave their appends and saves. */
  private async exclusive<T> (id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.commits.get(id) ?? Promise.resolve()
    const mine = before.then(fn, fn)
    const settled = mine.then(() => {}, () => {})
    this.commits.set(id, settled)
    void settled.then(() => { if (this.commits.get(id) === settled) this.commits.delete(id) })
    return await mine
  }

  private async commitInOrder (run: WorkflowRun, entries: AuditInput[], inTrail: boolean): Promise<void> {
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
    await this.exclusive(run.id, async () => await this.commitNowInOrder(run, before, entries))
  }

  private async commitNowInOrder (run: WorkflowRun, before: string | null, entries: AuditInput[]): Promise<void> {
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
}

/** A copy of the run that later transitions do not change (they replace the run's fields and change its steps in place). */
/** What resolve takes: a result, signed or not (older callers leave `signed` out). */
type ResolveInput = Omit<InterventionResult, 'signed'> & { signed?: InterventionResult['signed'] }

function approvalEntry (run: WorkflowRun, pending: PendingIntervention, result: ResolveInput): AuditInput {
  const comment = result.comment === null || result.comment === '' ? '' : ` (${result.comment})`
  return {
    event: 'intervention_approval',
    message: `${run.name} step ${pending.stepId}: ${result.choice} by ${result.decidedBy} ${approvalCount(pending)}, needs ${neededText(pending)}${comment}`,
    workflowId: run.id,
    workflowStep: pending.stepId,
    domains: ['intervention'],
    decision: result.signed ?? null
  }
}

function snapshot (run: WorkflowRun): WorkflowRun {
  return { ...run, steps: run.steps.map(s => ({ ...s })) }
}

/** A write to the data dir failed: waiting may help (a full disk); anything else is a bug to surface. */
function isStorageError (err: unknown): boolean {
  return err instanceof SeError && (err.code === 'NO_SPACE' || err.code === 'WRITE_FAILED')
}
