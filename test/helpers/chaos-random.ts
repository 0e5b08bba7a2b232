// A chaos run's seed: one number decides it (helpers/seeded-random.ts), and a failure
// can be replayed with SE_CHAOS_SEED. Only the test's own choices come from it;
// timing on a loaded machine does not, so a replay is close, not exact.

export { SeededRandom as Random } from './seeded-random.js'

/** The seed from SE_CHAOS_SEED, else a fresh one. */
export function chaosSeed (env: string | undefined = process.env.SE_CHAOS_SEED): number {
  if (env !== undefined && env !== '') {
    const n = Number(env)
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`SE_CHAOS_SEED must be an integer in 0..4294967295, got '${env}'`)
    return n
  }
  return Math.floor(Math.random() * 0x100000000) >>> 0
}
