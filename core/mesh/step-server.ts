// Runs steps other nodes route here. Their audit entries are signed by this node
// and go to the requesting node through the outbox, before the step's reply, so
// the requester's trail is complete when it sees the result. Around the step,
// StepFiles places the artifacts it uses and publishes what it makes.
import { SeError, toSeError } from '../errors.js'
import { join } from '../paths.js'
import type { Runtime, ProcessHandle, ProcessResult, ProcessSpec } from '../ports.js'
import type { StepFiles } from '../artifact/step-files.js'
import type { AuditInput, AuditLog } from '../audit/log.js'
import type { StepOutcome, StepRequest, WorkflowEvent } from '../protocol/types.js'
import type { Outbox } from './outbox.js'
import type { ContainerStepSpec } from '../workload/types.js'
import type { CancelReason } from '../rpc/peer.js'

export interface StepServerOptions {
  runtime: Runtime
  audit: AuditLog
  outbox: Outbox
  dataDir: string
  nodeId: string
  /** Sends what the outbox holds for a node, if it is connected. */
  deliver (nodeId: string): Promise<void>
  /** Runs a container step here, when this node has a container engine. */
  runContainer?: (spec: ContainerStepSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void) => ProcessHandle
  /** How long a step whose requester's connection dropped runs on waiting for it to attach again, and an ended step's outcome is kept. */
  keptMs?: number
}

/** Three times the default re-attach window (stepReattachMs): the requester's tries end well before. */
const DEFAULT_KEPT_MS = 18_000

/** A step routed here: running, or ended and its outcome kept a while for a requester that lost the reply. */
interface ServedStep {
  attempt: number
  handle: ProcessHandle
  /** Where its output goes: the requester's call, or nowhere while its connection is gone. */
  emit: ((event: WorkflowEvent) => void) | null
  outcome: Promise<StepOutcome>
  ended: boolean
  /** Ended because no requester came back for it: an attach then finds nothing, not a failure. */
  expired: boolean
  /** Ends it when no requester came back for it in time, or forgets its outcome. */
  timer: ReturnType<typeof setTimeout> | null
  /** Ends it at its requester's word (cancel, or gone for good): set first, so the report says so. */
  stop (): void
}

export class StepServer {
  private readonly steps = new Map<string, ServedStep>()
  private stepFiles: StepFiles | null = null

  constructor (private readonly o: StepServerOptions) {}

  /** Artifacts and $SE_OUTPUT for the steps served here (set by compose, once the node's artifacts exist). */
  useStepFiles (files: StepFiles): void {
    this.stepFiles = files
  }

  /** The steps running here for members. */
  get count (): number {
    let n = 0
    for (const s of this.steps.values()) if (!s.ended) n++
    return n
  }

  /**
   * Runs a member's step. A requester whose connection drops may come back (attach) within keptMs:
   * the step runs on meanwhile, and its outcome is kept as long after it ends. One that does not
   * come back has it ended, as one that cancels does.
   * `withhold`: credentials of this node the step was not granted, kept out of its environment.
   */
  async run (from: string, req: StepRequest, emit: (event: WorkflowEvent) => void, onCancel: (listener: (why: CancelReason) => void) => void, withhold: string[] = []): Promise<StepOutcome> {
    const key = `${from}:${req.workflowId}:${req.stepId}`
    let stopped = false
    const step: ServedStep = {
      attempt: req.attempt,
      handle: failedHandle('not started'),
      emit,
      outcome: Promise.resolve(null as unknown as StepOutcome),
      ended: false,
      expired: false,
      timer: null,
      stop: () => { stopped = true; if (!step.ended) step.handle.kill() }
    }
    // A requester that restarted runs the step again: the earlier attempt, if it still runs here (its
    // connection gone), ends now, and the newer one keeps the key.
    const previous = this.steps.get(key)
    if (previous !== undefined) {
      if (previous.timer !== null) clearTimeout(previous.timer)
      previous.stop()
    }
    // Known and followed before anything is awaited: a cancel or a drop from now on is heard.
    this.steps.set(key, step)
    this.follow(step, onCancel)
    step.outcome = this.cwdFor(req).then(async cwd => await this.execute(from, req, cwd, step, () => stopped, withhold))
    try {
      return await step.outcome
    } finally {
      step.ended = true
      this.keep(key, step)
    }
  }

  /** The requester joins again a step whose connection dropped: its output from now on, then its outcome. */
  async attach (from: string, workflowId: string, stepId: string, attempt: number, emit: (event: WorkflowEvent) => void, onCancel: (listener: (why: CancelReason) => void) => void): Promise<StepOutcome> {
    const step = this.steps.get(`${from}:${workflowId}:${stepId}`)
    if (step === undefined || step.attempt !== attempt || step.expired) throw SeError.stepNotHere(from, workflowId, stepId, attempt)
    if (!step.ended && step.timer !== null) { clearTimeout(step.timer); step.timer = null }
    step.emit = emit
    this.follow(step, onCancel)
    return await step.outcome
  }

  async cancel (from: string, workflowId: string, stepId: string): Promise<boolean> {
    const step = this.steps.get(`${from}:${workflowId}:${stepId}`)
    if (step === undefined || step.ended) return false
    step.stop()
    return true
  }

  /** The node stops: the steps it runs for members end with it, and nothing waits for a requester any more. */
  close (): void {
    for (const step of this.steps.values()) {
      if (step.timer !== null) clearTimeout(step.timer)
      if (!step.ended) step.stop()
    }
    this.steps.clear()
  }

  /** The requester's call ends: cancelled, the step stops; gone, the step runs on and waits keptMs for it to attach. */
  private follow (step: ServedStep, onCancel: (listener: (why: CancelReason) => void) => void): void {
    const emit = step.emit
    onCancel(why => {
      // A call that was already replaced by a newer attach says nothing about the step.
      if (step.emit !== emit) return
      if (step.ended) { step.emit = null; return }
      if (why === 'cancelled') { step.stop(); return }
      step.emit = null
      if (step.timer !== null) return
      step.timer = setTimeout(() => {
        step.timer = null
        if (step.emit !== null || step.ended) return
        step.expired = true
        step.stop()
      }, this.keptMs)
      ;(step.timer as { unref?: () => void }).unref?.()
    })
  }

  /** An ended step's outcome, kept keptMs for a requester whose reply was lost with its connection. */
  private keep (key: string, step: ServedStep): void {
    if (step.timer !== null) clearTimeout(step.timer)
    step.timer = setTimeout(() => { if (this.steps.get(key) === step) this.steps.delete(key) }, this.keptMs)
    ;(step.timer as { unref?: () => void }).unref?.()
  }

  private get keptMs (): number { return this.o.keptMs ?? DEFAULT_KEPT_MS }

  private async execute (from: string, req: StepRequest, cwd: string, step: ServedStep, stopped: () => boolean, withhold: string[]): Promise<StepOutcome> {
    const { runtime, audit, outbox } = this.o
    const send = async (input: AuditInput): Promise<void> => {
      await outbox.enqueue(from, [audit.signEntry(audit.makeEntry(input))])
    }
    const requester = from.slice(0, 8)
    await send({ event: 'step_exec_start', message: `${req.workflowName} step ${req.stepId} (attempt ${req.attempt}) for ${requester} in ${cwd}: ${req.container === null ? '' : `[${req.container.image}] `}${[req.command, ...req.args].join(' ')}`, workflowId: req.workflowId, workflowStep: req.stepId, domains: ['step', 'mesh'], files: [cwd] })
    void this.o.deliver(from).catch(() => {})
    const around = { workflowId: req.workflowId, requesterId: from, stepId: req.stepId, attempt: req.attempt, cwd }
    // An artifact that cannot be placed fails the step before it starts, as a command that cannot start does.
    let prepared: { env: Record<string, string> } = { env: {} }
    let unprepared: SeError | null = null
    try {
      if (this.stepFiles !== null) prepared = await this.stepFiles.prepare({ ...around, uses: req.uses, outputs: req.outputs })
    } catch (err) {
      unprepared = toSeError(err)
    }
    const spec: ProcessSpec & { cwd: string } = {
      command: req.command,
      args: req.args,
      cwd,
      // The step sees the node it really runs on; the requester stays known.
      env: { ...req.env, ...prepared.env, SE_NODE_ID: this.o.nodeId, SE_DATA_DIR: this.o.dataDir, SE_REQUESTER_ID: from },
      ...(withhold.length === 0 ? {} : { withhold }),
      // As on the requester: cancel, timeout and the step's end take its whole process group.
      processGroup: true
    }
    if (req.timeoutMs !== null) spec.timeoutMs = req.timeoutMs
    const onOutput = (stream: 'stdout' | 'stderr', text: string): void => step.emit?.({ workflowId: req.workflowId, kind: 'OUTPUT', state: stream, stepId: req.stepId, text, at: runtime.clock.now() })
    if (stopped()) {
      // Cancelled, or replaced by a newer attempt, while its files were being placed: it never starts.
      step.handle = failedHandle('stopped before it started: its requester cancelled it or ran it again')
    } else if (unprepared !== null) {
      step.handle = failedHandle(unprepared.reason)
    } else if (req.container !== null) {
      const container = req.container
      step.handle = this.o.runContainer !== undefined
        ? this.o.runContainer({ ...spec, container }, onOutput)
        : failedHandle(`no container engine on this node for image ${container.image}`)
    } else {
      step.handle = runtime.processes.run(spec, onOutput)
    }
    let r = await step.handle.result
    let finished = { outputs: {} as Record<string, string>, artifacts: [] as StepOutcome['artifacts'] }
    if (this.stepFiles !== null && unprepared === null) {
      try {
        finished = await this.stepFiles.finish({ ...around, publish: req.publish, outputs: req.outputs, succeeded: r.exitCode === 0 && !r.timedOut })
      } catch (err) {
        // Its outputs or artifacts could not be had: the step failed, and says why as a step that could not start does.
        const reason = toSeError(err).reason
        r = { ...r, exitCode: null, spawnError: reason, stderr: `${r.stderr}${r.stderr === '' || r.stderr.endsWith('\n') ? '' : '\n'}${reason}\n` }
      }
    }
    const ok = r.exitCode === 0 && !r.timedOut
    // A step its requester stopped (cancel, its own shutdown, or it went away) did not fail by itself:
    // a requester that finds this report after a restart must apply its restart rules, not this result.
    const byRequester = !ok && stopped()
    await send({
      event: ok ? 'step_exec_complete' : 'step_exec_failed',
      message: `${req.workflowName} step ${req.stepId} for ${requester} ${ok ? 'completed' : `failed (${r.spawnError ?? (r.timedOut ? 'timed out' : `exit ${r.exitCode ?? r.signal}`)})`} in ${r.durationMs} ms${byRequester ? ': stopped because its requester cancelled it or went away' : ''}${finished.artifacts.map(a => `; published ${a.name} (${a.hash.slice(0, 12)}, ${a.size} bytes)`).join('')}`,
      workflowId: req.workflowId,
      workflowStep: req.stepId,
      domains: ['step', 'mesh'],
      // The attempt lets a requester that restarts tell this result from an earlier attempt's.
      performanceMetrics: { durationMs: r.durationMs, attempts: req.attempt, ...(r.exitCode === null ? {} : { exitCode: r.exitCode }), ...(byRequester ? { stoppedByRequester: 1 } : {}) }
    })
    await this.o.deliver(from).catch(() => {})
    return { exitCode: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs, timedOut: r.timedOut, spawnError: r.spawnError, cwd, outputs: finished.outputs, artifacts: finished.artifacts }
  }

  /** The requester's directory when it exists here too (a shared or same machine); else a scratch directory per workflow. */
  private async cwdFor (req: StepRequest): Promise<string> {
    const fs = this.o.runtime.fs
    if (req.cwd !== null && await fs.isDirectory(req.cwd)) return req.cwd
    const scratch = join(this.o.dataDir, 'work', req.workflowId)
    await fs.mkdirp(scratch)
    return scratch
  }
}

/** A step that never started, and why. */
function failedHandle (why: string): ProcessHandle {
  const result: ProcessResult = { exitCode: null, signal: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, spawnError: why }
  return { result: Promise.resolve(result), kill: () => {} }
}
