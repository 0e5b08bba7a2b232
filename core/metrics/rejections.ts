// Connections a node closed because of what the other end sent or failed to
// send (a bad frame, a body that never came, one connection too many), by port
// and reason: se_rejected_connections_total. One tally per process: the
// listeners that refuse (the Unix socket, the mesh handshake, the HTTP and Avro
// ports) are opened by code that does not hold the node's metrics, and a process
// runs one node.

export type RejectedPort = 'unix' | 'http' | 'avro-http' | 'avro-tcp' | 'mesh'

export interface RejectionSample { labels: { port: string, reason: string }, value: number }

export class RejectionTally {
  private readonly counts = new Map<string, RejectionSample>()
  /** Connections already counted: one connection fails in several ways at once, and counts once. */
  private readonly counted = new WeakSet<object>()

  /** Counts one refusal; `reason` is short snake_case (bad_frame, body_timeout). */
  reject (port: RejectedPort, reason: string): void {
    const key = `${port}\n${reason}`
    const sample = this.counts.get(key) ?? { labels: { port, reason }, value: 0 }
    sample.value++
    this.counts.set(key, sample)
  }

  /** Counts `connection` (a socket, a stream) the first time only; true when it was counted now. */
  rejectOnce (connection: object, port: RejectedPort, reason: string): boolean {
    if (this.counted.has(connection)) return false
    this.counted.add(connection)
    this.reject(port, reason)
    return true
  }

  /** Whether `connection` was already counted as refused. */
  has (connection: object): boolean {
    return this.counted.has(connection)
  }

  samples (): RejectionSample[] {
    return [...this.counts.values()].map(s => ({ labels: { ...s.labels }, value: s.value }))
  }
}

/** The process's tally, which every listener counts into and /metrics reads. */
export const REJECTIONS = new RejectionTally()
