// Feeds the view model from the node API, the same one the CLI uses: one poll
// per refresh for nodes, workloads and workflows, and the audit trail from the
// last entry seen. Workload events trigger an early poll so state changes show
// at once rather than at the next tick.
import type { NodeApi } from '../core/protocol/types.js'
import type { DashboardModel } from './view-model.js'

export const REFRESH_MS = 1000
/** Audit entries fetched on the first poll; later polls fetch only what is new. */
const AUDIT_BACKLOG = 200

export interface SourceOptions {
  refreshMs?: number
  onError?: (err: Error) => void
}

export class DashboardSource {
  private timer: ReturnType<typeof setTimeout> | null = null
  private polling: Promise<void> | null = null
  private nextSeq = 0
  private firstAudit = true
  private stopped = false
  private meshName: string | null = null

  constructor (private readonly api: NodeApi, private readonly model: DashboardModel, private readonly opts: SourceOptions = {}) {}

  async start (): Promise<void> {
    this.meshName = (await this.api.ping()).mesh
    await this.poll()
    this.schedule()
    // Events wake the poll early; the stream ends when the dashboard stops.
    void this.api.watchWorkloads(() => {
      if (this.stopped) return false
      void this.poll()
    }).catch(() => {})
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
  }

  /** Polls now (actions call it so their effect shows without waiting for the tick). */
  poll (): Promise<void> {
    this.polling ??= this.fetch().finally(() => { this.polling = null })
    return this.polling
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => { void this.poll().finally(() => this.schedule()) }, this.opts.refreshMs ?? REFRESH_MS)
    this.timer.unref?.()
  }

  private async fetch (): Promise<void> {
    try {
      const [nodes, workloads, local, waiting, audit] = await Promise.all([
        this.api.listNodes(),
        this.api.listWorkloads(),
        this.api.listWorkflows([]),
        // Interventions anywhere in the mesh, not only of workflows started here.
        this.api.listInterventions(),
        this.api.readAudit({ workflowId: null, fromSeq: this.nextSeq, limit: this.firstAudit ? AUDIT_BACKLOG : 10_000 })
      ])
      if (this.stopped) return
      this.firstAudit = false
      const last = audit[audit.length - 1]
      if (last !== undefined) this.nextSeq = last.seq + 1
      const known = new Set(local.map(w => w.id))
      const workflows = [...local, ...waiting.filter(w => !known.has(w.id))]
      this.model.update({ nodes, workloads, workflows, meshName: this.meshName, at: Date.now() })
      if (audit.length > 0) this.model.addAudit(audit)
    } catch (err) {
      this.opts.onError?.(err as Error)
    }
  }
}
