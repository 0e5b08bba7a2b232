// Benchmark 13: the gossip engine at scale, in the deterministic simulation
// (test/helpers/gossip-sim.ts), in one run: messages per node per second at 10, 100
// and 1,000 nodes against log N (the baseline: the rate at 10 nodes in the same run),
// convergence after the last join at 100 and 1,000, and crash detection (median, max)
// at 10, 100 and 1,000 against detectionBoundMs — with false suspicions and deaths.
import { detectionBoundMs } from '../core/mesh/gossip/config.js'
import { simulate, type SimReport } from '../test/helpers/gossip-sim.js'
import { info, median, ms, type Result } from './lib.js'

const SEED = Number(process.env.SE_FUZZ_SEED ?? '20261201') >>> 0
const SIZES = [10, 100, 1000]
/** SWIM's promise: the load per member grows no faster than log N (with 1.5 for noise). */
const SLACK = 1.5
/** Once all is settled, this long with nothing happening: the steady load SWIM promises to keep flat. */
const QUIET_MS = 30_000

/** Joins over 20 s, 10 s to settle, then a few % of the nodes crash over 5 s under 1% loss and 1–20 ms delay. */
async function run (nodes: number): Promise<{ r: SimReport, wallMs: number }> {
  const started = performance.now()
  const r = await simulate({ seed: SEED, nodes, joinOverMs: 20_000, settleMs: 10_000, crashes: Math.max(1, Math.round(nodes * 0.02)), churnOverMs: 5000, tailMs: 120_000, minTailMs: 30_000, quietMs: QUIET_MS, loss: 0.01, delayMs: [1, 20] })
  return { r, wallMs: performance.now() - started }
}

export async function benchGossip (): Promise<Result[]> {
  const results: Result[] = []
  const runs = new Map<number, SimReport>()
  for (const n of SIZES) {
    const { r, wallMs } = await run(n)
    runs.set(n, r)
    const times = r.detections.map(d => d.detectedMs ?? Infinity)
    const bound = detectionBoundMs(r.config, n, r.maxLinks)
    info(`${n} nodes (seed ${SEED}, ${(r.simulatedMs / 1000).toFixed(0)} s simulated in ${(wallMs / 1000).toFixed(1)} s): converged ${r.convergenceMs ?? 'never'} ms after the last join; ` +
      `${(r.msgsPerNodePerSecQuiet ?? NaN).toFixed(2)} msgs/node/s settled, ${r.msgsPerNodePerSec.toFixed(2)} from the churn on (${r.msgsPerNodePerSecAll.toFixed(2)} over the run); ${times.length} crash(es) detected everywhere in median ${ms(median(times))} ms, max ${ms(Math.max(...times))} ms (bound ${ms(bound)} ms); ` +
      `false suspicions ${r.falseSuspicions}, false deaths ${r.falseDeaths}, max links ${r.maxLinks}/${r.target}`)
    results.push({
      name: `gossip: detection, ${n} nodes`,
      subject: `${ms(Math.max(...times))} ms max`,
      baseline: `${ms(bound)} ms bound`,
      ratio: Math.max(...times) / bound,
      goal: { kind: 'lt', limit: 1 },
      note: `the slowest crash until every survivor saw it dead, against detectionBoundMs; median ${ms(median(times))} ms; false deaths ${r.falseDeaths}`
    })
  }
  // The goal is on the settled load: every member probes one other per interval and answers the
  // probes it gets, whatever N, while news rides on those messages. Under churn the load is set by
  // how much news there is (a few % of N crashing at once is more news in a larger mesh); it is
  // bounded by the gossip fan-out (3 members, 5 times an interval), shown beside it with no goal.
  const base = (runs.get(10) as SimReport).msgsPerNodePerSecQuiet as number
  const churnBase = (runs.get(10) as SimReport).msgsPerNodePerSec
  for (const n of SIZES.slice(1)) {
    const r = runs.get(n) as SimReport
    const logRatio = Math.log10(n) / Math.log10(10)
    const ratio = (r.msgsPerNodePerSecQuiet as number) / base
    results.push({
      name: `gossip: msgs/node/s settled, ${n} nodes`,
      subject: `${(r.msgsPerNodePerSecQuiet as number).toFixed(2)} msgs/s`,
      baseline: `${base.toFixed(2)} at 10 nodes`,
      ratio: ratio / logRatio,
      goal: { kind: 'lt', limit: SLACK },
      note: `${QUIET_MS / 1000} s with nothing happening, after joins and crashes settled; ratio shown: (msgs(${n})/msgs(10)) / (log10 ${n}/log10 10) = ${ratio.toFixed(2)} / ${logRatio.toFixed(0)}; fitted growth N^${(Math.log(ratio) / Math.log(n / 10)).toFixed(2)}`
    })
    const churn = r.msgsPerNodePerSec / churnBase
    results.push({
      name: `gossip: msgs/node/s under churn, ${n} nodes`,
      subject: `${r.msgsPerNodePerSec.toFixed(2)} msgs/s`,
      baseline: `${churnBase.toFixed(2)} at 10 nodes`,
      ratio: churn / logRatio,
      goal: null,
      note: `from the crashes of 2% of the nodes on, to every one detected; (msgs(${n})/msgs(10)) / log ratio = ${churn.toFixed(2)} / ${logRatio.toFixed(0)}; fitted growth N^${(Math.log(churn) / Math.log(n / 10)).toFixed(2)}; bounded by the gossip fan-out, not N`
    })
  }
  for (const n of SIZES.slice(1)) {
    const r = runs.get(n) as SimReport
    results.push({
      name: `gossip: convergence, ${n} nodes`,
      subject: `${r.convergenceMs ?? 'never'} ms`,
      baseline: `${r.config.pushPullIntervalMs} ms push-pull`,
      ratio: (r.convergenceMs ?? Infinity) / r.config.pushPullIntervalMs,
      goal: { kind: 'lt', limit: 1 },
      note: 'from the last join until every live node knows every live node as alive, against one push-pull interval (what anti-entropy alone would take at worst)'
    })
  }
  return results
}
