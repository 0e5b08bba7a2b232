// One suspicion of one member (Lifeguard, as memberlist's suspicion.go): a timer
// that starts at its longest and shrinks towards its shortest as other members,
// independently, suspect the same member at the same incarnation. k confirmations
// bring it to the minimum; each one re-arms the timer with what remains.
import type { GossipTimers } from './types.js'

export interface SuspicionOptions {
  timers: GossipTimers
  minMs: number
  maxMs: number
  /** Confirmations expected: suspicionMult − 2, or 0 in a mesh too small to have them. */
  expected: number
  /** Who raised the suspicion: not a confirmation of itself. */
  from: string
  onTimeout: (confirmations: number, elapsedMs: number) => void
}

/** Lifeguard's timeout after `c` of `k` expected confirmations: from maxMs down to minMs on a log scale. */
export function suspicionTimeoutMs (minMs: number, maxMs: number, c: number, k: number): number {
  if (k < 1) return minMs
  const frac = Math.log(c + 1) / Math.log(k + 1)
  return Math.max(minMs, maxMs - (maxMs - minMs) * frac)
}

export class Suspicion {
  private readonly confirmers = new Set<string>()
  private readonly started: number
  private cancelTimer: () => void = () => {}

  constructor (private readonly opts: SuspicionOptions) {
    this.started = opts.timers.now()
    this.confirmers.add(opts.from)
    this.arm()
  }

  /** Confirmations so far (the first suspector not counted). */
  get confirmations (): number {
    return this.confirmers.size - 1
  }

  /** `from` suspects it too: true when that is news (a new, independent confirmation). */
  confirm (from: string): boolean {
    if (this.confirmers.has(from) || this.confirmations >= this.opts.expected) return false
    this.confirmers.add(from)
    this.arm()
    return true
  }

  cancel (): void {
    this.cancelTimer()
  }

  /** The timer for what remains of the (possibly shortened) timeout. */
  private arm (): void {
    this.cancelTimer()
    const { timers, minMs, maxMs, expected, onTimeout } = this.opts
    const elapsed = timers.now() - this.started
    const remaining = Math.max(0, suspicionTimeoutMs(minMs, maxMs, this.confirmations, expected) - elapsed)
    this.cancelTimer = timers.after(remaining, () => onTimeout(this.confirmations, timers.now() - this.started))
  }
}
