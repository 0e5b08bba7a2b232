// The events the HTTP API streams, each with an id, and the last few kept, so a
// client that lost its connection resumes with Last-Event-ID and misses nothing
// that happened meanwhile (unless more than EVENT_LOG_SIZE events did).
import type { WorkflowEvent, WorkloadEvent } from '../protocol/types.js'

/** Enough for a client to reconnect after a dropped connection or a proxy's timeout, not a history. */
export const EVENT_LOG_SIZE = 1000

export type StreamedEvent = { id: string, event: 'workflow', data: WorkflowEvent } | { id: string, event: 'workload', data: WorkloadEvent }

export class EventLog {
  private readonly kept: Array<StreamedEvent & { seq: number }> = []
  private readonly listeners = new Set<(e: StreamedEvent) => void>()
  private seq = 0

  /** `epoch` tells this process's ids from an earlier one's: ids are `EPOCH-SEQ`. */
  constructor (private readonly epoch: string, private readonly capacity = EVENT_LOG_SIZE) {}

  add (event: 'workflow', data: WorkflowEvent): void
  add (event: 'workload', data: WorkloadEvent): void
  add (event: 'workflow' | 'workload', data: WorkflowEvent | WorkloadEvent): void {
    const seq = ++this.seq
    const e = { id: `${this.epoch}-${seq}`, seq, event, data } as StreamedEvent & { seq: number }
    this.kept.push(e)
    if (this.kept.length > this.capacity) this.kept.shift()
    for (const l of this.listeners) l(e)
  }

  /**
   * The kept events after `lastId`: none without one; all of them for an id of another
   * process (a node restarted since), whose events this one cannot know.
   */
  since (lastId: string | undefined): StreamedEvent[] {
    if (lastId === undefined) return []
    const [epoch, seq] = lastId.trim().split('-')
    const after = epoch === this.epoch && /^\d+$/.test(seq ?? '') ? Number(seq) : 0
    return this.kept.filter(e => e.seq > after)
  }

  onEvent (listener: (e: StreamedEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
