// A small seeded PRNG (mulberry32), so a chaos run is decided by one number and a
// failure can be replayed with SE_CHAOS_SEED. Only the test's own choices come from
// it; timing on a loaded machine does not, so a replay is close, not exact.

export class Random {
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

  /** An integer in [lo, hi]. */
  int (lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** `n` distinct items, in random order. */
  sample<T> (items: readonly T[], n: number): T[] {
    const pool = [...items]
    const out: T[] = []
    while (out.length < n && pool.length > 0) out.push(...pool.splice(Math.floor(this.next() * pool.length), 1))
    return out
  }
}

/** The seed from SE_CHAOS_SEED, else a fresh one. */
export function chaosSeed (env: string | undefined = process.env.SE_CHAOS_SEED): number {
  if (env !== undefined && env !== '') {
    const n = Number(env)
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`SE_CHAOS_SEED must be an integer in 0..4294967295, got '${env}'`)
    return n
  }
  return Math.floor(Math.random() * 0x100000000) >>> 0
}
