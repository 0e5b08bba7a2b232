// News waiting to go out (memberlist's TransmitLimitedQueue): one entry per
// member, the newest news replacing older, each sent at most `limit` times,
// fewest-transmitted first so that fresh news overtakes news most have heard.
// Entries sit in FIFO buckets by transmit count, and a replaced entry is only
// marked stale and skipped later, so taking a batch costs the batch, not the
// queue: a mesh of thousands never sorts or rescans its whole queue per message.
import type { GossipUpdate } from './types.js'

/** `urgent`: news of a state (a join, a suspicion, a death, a refutation) rather than fresh metadata of a live member. */
interface Entry { update: GossipUpdate, transmits: number, stale: boolean, urgent: boolean }

/** A FIFO of entries: an array read from `head`, compacted when half of it is spent. */
interface Bucket { items: Entry[], head: number }

export class BroadcastQueue {
  private readonly buckets: Bucket[] = []
  private readonly entries = new Map<string, Entry>()
  private urgentEntries = 0

  get size (): number {
    return this.entries.size
  }

  /** Entries worth a message of their own; metadata alone rides on probes and acks. */
  get urgent (): number {
    return this.urgentEntries
  }

  /**
   * Queues `update`, dropping whatever was queued about the same member. News that replaces urgent
   * news stays urgent: the newer word carries the older (a member's metadata after its join is its join).
   */
  push (update: GossipUpdate, urgent = true): void {
    const wasUrgent = this.entries.get(update.nodeId)?.urgent === true
    this.remove(update.nodeId)
    const entry = { update, transmits: 0, stale: false, urgent: urgent || wasUrgent }
    this.entries.set(update.nodeId, entry)
    if (entry.urgent) this.urgentEntries++
    this.enqueue(entry)
  }

  remove (nodeId: string): void {
    const old = this.entries.get(nodeId)
    if (old === undefined) return
    old.stale = true
    if (old.urgent) this.urgentEntries--
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
