// Two linked in-memory Connections: bytes written on one arrive, asynchronously
// and in order, on the other. A close reaches the other end after every byte
// written before it. `chunkSize` cuts each write into pieces, as a socket may.
// Chunks arrive as Node Buffers, as from a net.Socket; `plainBytes` delivers
// plain Uint8Arrays instead, which is all the Connection port promises.
import type { Connection } from '../../core/ports.js'

export interface MemoryConnection extends Connection {
  readonly closed: boolean
  /** Bytes handed to write() so far. */
  readonly bytesWritten: number
}

export function connectionPair (opts: { chunkSize?: number, labels?: [string, string], plainBytes?: boolean } = {}): [MemoryConnection, MemoryConnection] {
  // One FIFO for both directions keeps cross-direction order too.
  const queue: Array<() => void> = []
  let scheduled = false
  const enqueue = (fn: () => void): void => {
    queue.push(fn)
    if (scheduled) return
    scheduled = true
    setImmediate(drain)
  }
  const drain = (): void => {
    scheduled = false
    // Deliver one item per turn so microtasks (promise handlers) run between them.
    const fn = queue.shift()
    if (fn !== undefined) fn()
    if (queue.length > 0 && !scheduled) { scheduled = true; setImmediate(drain) }
  }

  interface End {
    conn: MemoryConnection
    data: Array<(d: Uint8Array) => void>
    close: Array<(err?: Error) => void>
    closed: boolean
    closeDelivered: boolean
    written: number
    other: End | null
  }
  const deliverClose = (end: End): void => {
    if (end.closeDelivered) return
    end.closeDelivered = true
    end.closed = true
    for (const l of end.close) l()
  }
  const make = (label: string): End => {
    const end: End = { conn: null as unknown as MemoryConnection, data: [], close: [], closed: false, closeDelivered: false, written: 0, other: null }
    end.conn = {
      label,
      get closed () { return end.closed },
      get bytesWritten () { return end.written },
      write (data: Uint8Array): void {
        if (end.closed) return
        end.written += data.byteLength
        const copy = opts.plainBytes === true ? Uint8Array.from(data) : Buffer.from(data)
        const size = opts.chunkSize ?? copy.byteLength
        for (let i = 0; i < copy.byteLength || (i === 0 && copy.byteLength === 0); i += Math.max(size, 1)) {
          const piece = copy.subarray(i, i + Math.max(size, 1))
          enqueue(() => {
            const other = end.other as End
            if (other.closed) return
            for (const l of other.data) l(piece)
          })
          if (copy.byteLength === 0) break
        }
      },
      onData (listener) { end.data.push(listener) },
      onClose (listener) { end.close.push(listener) },
      close (): void {
        if (end.closed) return
        end.closed = true
        enqueue(() => deliverClose(end))
        enqueue(() => deliverClose(end.other as End))
      }
    }
    return end
  }
  const a = make(opts.labels?.[0] ?? 'memory A')
  const b = make(opts.labels?.[1] ?? 'memory B')
  a.other = b
  b.other = a
  return [a.conn, b.conn]
}
