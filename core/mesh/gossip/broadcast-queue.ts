// News waiting to go out (memberlist's TransmitLimitedQueue): one entry per
// member, the newest news replacing older, each sent at most `limit` times,
// fewest-transmitted first so that fresh news overtakes news most have heard.
// Entries sit in buckets by transmit count, so taking a batch costs the batch,
// not the queue: a mesh of thousands never sorts its whole queue per message.
import type { GossipUpdate } from './types.js'

interface Entry { update: GossipUpdate, transmits: number }

export class BroadcastQueue {
  /** buckets[t]: entries sent t times, oldest first (a Map keeps insertion order). */
  private readonly buckets: Array<Map<string, Entry>> = []
  private readonly entries = new Map<string, Entry>()

  get size (): number {
    return this.entries.size
  }

  /** Queues `update`, dropping whatever was queued about the same member. */
  push (update: GossipUpdate): void {
    this.remove(update.nodeId)
    const entry = { update, transmits: 0 }
    this.entries.set(update.nodeId, entry)
    this.bucket(0).set(update.nodeId, entry)
  }

  remove (nodeId: string): void {
    const old = this.entries.get(nodeId)
    if (old === undefined) return
    this.entries.delete(nodeId)
    this.buckets[old.transmits]?.delete(nodeId)
  }

  /** Up to `max` updates, fewest-transmitted first, each counted as sent once more; spent entries leave. */
  take (max: number, limit: number): GossipUpdate[] {
    if (this.entries.size === 0 || max <= 0) return []
    const picked: Entry[] = []
    for (let t = 0; t < this.buckets.length && picked.length < max; t++) {
      const bucket = this.buckets[t] as Map<string, Entry>
      for (const entry of bucket.values()) {
        if (picked.length >= max) break
        picked.push(entry)
      }
    }
    const out: GossipUpdate[] = []
    for (const entry of picked) {
      const id = entry.update.nodeId
      this.buckets[entry.transmits]?.delete(id)
      // The limit follows N, which may have shrunk since the entry was queued.
      if (entry.transmits >= limit) { this.entries.delete(id); continue }
      out.push(entry.update)
      entry.transmits++
      if (entry.transmits >= limit) this.entries.delete(id)
      else this.bucket(entry.transmits).set(id, entry)
    }
    return out
  }

  private bucket (t: number): Map<string, Entry> {
    while (this.buckets.length <= t) this.buckets.push(new Map())
    return this.buckets[t] as Map<string, Entry>
  }
}
