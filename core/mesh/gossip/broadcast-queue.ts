// News waiting to go out (memberlist's TransmitLimitedQueue): one entry per
// member, the newest news replacing older, each sent at most `limit` times,
// fewest-transmitted first so that fresh news overtakes news most have heard.
// Entries sit in FIFO buckets by transmit count, and a replaced entry is only
// marked stale and skipped later, so taking a batch costs the batch, not the
// queue: a mesh of thousands never sorts or rescans its whole queue per message.
import type { GossipUpdate } from './types.js'

interface Entry { update: GossipUpdate, transmits: number, stale: boolean }

/** A FIFO of entries: an array read from `head`, compacted when half of it is spent. */
interface Bucket { items: Entry[], head: number }

export class BroadcastQueue {
  private readonly buckets: Bucket[] = []
  private readonly entries = new Map<string, Entry>()

  get size (): number {
    return this.entries.size
  }

  /** Queues `update`, dropping whatever was queued about the same member. */
  push (update: GossipUpdate): void {
    this.remove(update.nodeId)
    const entry = { update, transmits: 0, stale: false }
    this.entries.set(update.nodeId, entry)
    this.enqueue(entry)
  }

  remove (nodeId: string): void {
    const old = this.entries.get(nodeId)
    if (old === undefined) return
    old.stale = true
    this.entries.delete(nodeId)
  }

  /** Up to `max` updates, fewest-transmitted first, each counted as sent once more; spent entries leave. */
  take (max: number, limit: number): GossipUpdate[] {
    const out: GossipUpdate[] = []
    if (this.entries.size === 0 || max <= 0) return out
    const picked: Entry[] = []
    for (let t = 0; t < this.buckets.length && picked.length < max; t++) {
      const b = this.buckets[t] as Bucket
      while (b.head < b.items.length && picked.length < max) {
        const entry = b.items[b.head++] as Entry
        if (!entry.stale) picked.push(entry)
      }
      if (b.head > 32 && b.head * 2 > b.items.length) { b.items = b.items.slice(b.head); b.head = 0 }
    }
    for (const entry of picked) {
      // The limit follows N, which may have shrunk since the entry was queued.
      if (entry.transmits < limit) { out.push(entry.update); entry.transmits++ }
      if (entry.transmits >= limit) this.remove(entry.update.nodeId)
      else this.enqueue(entry)
    }
    return out
  }

  private enqueue (entry: Entry): void {
    while (this.buckets.length <= entry.transmits) this.buckets.push({ items: [], head: 0 })
    ;(this.buckets[entry.transmits] as Bucket).items.push(entry)
  }
}
