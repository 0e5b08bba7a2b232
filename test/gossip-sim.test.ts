// The gossip engine at scale, in the deterministic simulation (helpers/gossip-sim.ts):
// 1,000 nodes join and converge within a stated bound; crashes under 1% loss and random
// delay are detected by every survivor within the design's bound with no live node
// declared dead; the message rate per node grows no faster than log N; links stay
// within the neighbourhood target.
// The seed is printed; SE_FUZZ_SEED replays a run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { detectionBoundMs, disseminationHops, retransmitLimit } from '../core/mesh/gossip/config.js'
import { simulate, type SimReport } from './helpers/gossip-sim.js'
import { fuzzSeed } from './helpers/fuzz.js'
import { heavyFileTurn } from './helpers/heavy.js'

// One CPU-heavy file at a time (test/helpers/heavy.ts).
await heavyFileTurn()

const LOSS = 0.01
const DELAY: [number, number] = [1, 20]

/** The steady-state scenario measured at each size: joins over 10 s, 5 s to settle, then 15 s of quiet with 1% loss. */
async function steady (seed: number, nodes: number): Promise<SimReport> {
  return await simulate({ seed, nodes, joinOverMs: 10_000, settleMs: 5000, tailMs: 15_000, minTailMs: 15_000, loss: LOSS, delayMs: DELAY })
}

/** Checks a run holds at any size: links within the target (d), no live node declared dead. */
function checkLinksAndDeaths (r: SimReport): void {
  assert.ok(r.maxLinks <= r.target, `${r.nodes} nodes: ${r.maxLinks} links > target ${r.target}`)
  assert.equal(r.falseDeaths, 0, `${r.nodes} nodes: live nodes declared dead`)
}

test('gossip simulation: 1,000 nodes joining converge within the bound, links within the target', { timeout: 120_000 }, async (t) => {
  const seed = fuzzSeed(t, 'gossip-sim join')
  const n = 1000
  // Joins over 20 s; the run ends as soon as every live node knows every live node as alive.
  const r = await simulate({ seed, nodes: n, joinOverMs: 20_000, settleMs: 0, tailMs: 60_000, loss: LOSS, delayMs: DELAY })
  // (a) The bound: the last joiner's links come up within a probe interval of neighbourhood
  //     planning; its news then spreads as any news does (the dissemination term of
  //     detectionBoundMs: hops × retransmits × gossip interval); what gossip misses,
  //     push-pull mends within one push-pull interval.
  const c = r.config
  const bound = c.probeIntervalMs + disseminationHops(n, r.target) * retransmitLimit(c, n) * c.gossipIntervalMs + c.pushPullIntervalMs
  t.diagnostic(`${n} nodes: converged ${r.convergenceMs ?? 'never'} ms after the last join (bound ${bound} ms), ${r.msgsPerNodePerSecAll.toFixed(2)} msgs/node/s over the joins, max links ${r.maxLinks}, false suspicions ${r.falseSuspicions}, false deaths ${r.falseDeaths}`)
  assert.notEqual(r.convergenceMs, null, `${n} nodes never converged`)
  assert.ok((r.convergenceMs as number) <= bound, `${n} nodes converged in ${r.convergenceMs} ms > ${bound} ms`)
  checkLinksAndDeaths(r)
})

test('gossip simulation: messages per node per second grow no faster than log N', { timeout: 60_000 }, async (t) => {
  const seed = fuzzSeed(t, 'gossip-sim rates')
  // 10, 100 and 300 nodes here (the bench measures 1,000: its steady window costs a minute of wall time).
  const sizes = [10, 100, 300]
  const rates: number[] = []
  for (const n of sizes) {
    const r = await steady(seed, n)
    rates.push(r.msgsPerNodePerSec)
    t.diagnostic(`${n} nodes: ${r.msgsPerNodePerSec.toFixed(2)} msgs/node/s steady (${r.msgsPerNodePerSecAll.toFixed(2)} over the run, joins included), converged ${r.convergenceMs ?? 'never'} ms after the last join, false suspicions ${r.falseSuspicions}`)
    checkLinksAndDeaths(r)
  }
  const big = sizes[sizes.length - 1] as number
  const ratio = (rates[rates.length - 1] as number) / (rates[0] as number)
  const logRatio = Math.log10(big) / Math.log10(10)
  t.diagnostic(`msgs/node/s ${big} vs 10 nodes: ${ratio.toFixed(2)}x against log10 N ${logRatio.toFixed(2)}x; fitted growth N^${(Math.log(ratio) / Math.log(big / 10)).toFixed(2)}`)
  // (c)
  assert.ok(ratio <= logRatio * 1.5, `msgs/node/s grew ${ratio.toFixed(2)}x from 10 to ${big} nodes, more than 1.5 × ${logRatio.toFixed(2)}`)
})

test('gossip simulation: crashes under 1% loss are detected everywhere within the bound, with no false death', { timeout: 60_000 }, async (t) => {
  const seed = fuzzSeed(t, 'gossip-sim crashes')
  const nodes = 200
  const r = await simulate({ seed, nodes, joinOverMs: 10_000, settleMs: 5000, crashes: 6, leaves: 2, churnOverMs: 5000, tailMs: 120_000, loss: LOSS, delayMs: DELAY })
  const bound = detectionBoundMs(r.config, nodes, r.maxLinks)
  const times = r.detections.map(d => d.detectedMs)
  t.diagnostic(`${nodes} nodes, 6 crashes and 2 leaves: detected in ${times.join(', ')} ms (bound ${bound} ms); false suspicions ${r.falseSuspicions}, false deaths ${r.falseDeaths}`)
  assert.equal(r.detections.length, 6)
  for (const d of r.detections) {
    assert.notEqual(d.detectedMs, null, `crash of ${d.nodeId.slice(0, 8)} never detected everywhere`)
    assert.ok((d.detectedMs as number) <= bound, `crash of ${d.nodeId.slice(0, 8)} detected in ${d.detectedMs} ms > ${bound} ms`)
  }
  checkLinksAndDeaths(r)
})
