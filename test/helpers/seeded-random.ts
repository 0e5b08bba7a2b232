// A small seeded PRNG (mulberry32): the same sequence for the same seed on every
// machine, so a fuzz or chaos run is decided by one number and can be replayed.

export class SeededRandom {
  private state: number

  constructor (readonly seed: number) {
    this.state = seed >>> 0
  }

  /** A float in [0, 1). */
  next (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  /** An integer in [lo, hi]. */
  between (lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(items.length)] as T
  }

  /** `n` distinct items, in random order. */
  sample<T> (items: readonly T[], n: number): T[] {
    const pool = [...items]
    const out: T[] = []
    while (out.length < n && pool.length > 0) out.push(...pool.splice(this.int(pool.length), 1))
    return out
  }

  bytes (n: number): Buffer {
    const out = Buffer.alloc(n)
    for (let i = 0; i < n; i++) out[i] = this.int(256)
    return out
  }
}
