// The benchmark suite: `npm run bench`. Each benchmark is measured against a baseline
// taken in the same run and reports the ratio and whether the goal is met. It writes
// nothing in the repository (temp dirs only) and exits 0 even when a goal is missed.
// `npm run bench -- 7 11` runs only the benchmarks with those numbers.
import os from 'node:os'
import { benchArtifact } from './artifact.js'
import { benchAudit } from './audit.js'
import { benchBare } from './bare.js'
import { benchCli } from './cli.js'
import { benchContainers } from './containers.js'
import { benchDashboard } from './dashboard.js'
import { benchGossip } from './gossip.js'
import { benchGraph } from './graph.js'
import { benchHttp } from './http.js'
import { benchMesh } from './mesh.js'
import { benchPolicy } from './policy.js'
import { benchRpc } from './rpc.js'
import { benchScale } from './scale.js'
import { benchSteps } from './steps.js'
import { cleanupTempDirs, formatResult, met, section, type Result } from './lib.js'

const BENCHMARKS: Array<{ title: string, run: () => Promise<Result[]> }> = [
  { title: '1. per-step overhead: 200-step workflow of `true` vs plain spawns', run: benchSteps },
  { title: '2. audit: durable appends vs write+fsync loop', run: benchAudit },
  { title: '3. rpc: ping over the Unix socket vs raw echo', run: benchRpc },
  { title: '4. mesh: membership, rpc between node processes vs raw Hyperswarm echo, routed vs local workflow', run: benchMesh },
  { title: '5. containers: a container step through SE vs a raw `podman run --rm`', run: benchContainers },
  { title: '6. dashboard: view model refresh with 500 nodes and 1,000 workloads', run: benchDashboard },
  { title: '7. bare: a headless node on Bare vs on Node, idle memory and start to joined', run: benchBare },
  { title: '8. http: a request through the HTTP API vs a bare node:http handler asking the node the same', run: benchHttp },
  { title: '10. graphs: fan-out of 8 one-second steps over 4 node processes vs in a line; scheduling cost of a 200-step graph vs a line', run: benchGraph },
  { title: '9. artifact transfer: 200 MiB between two processes, verified chunk by chunk, vs a raw Hyperswarm stream', run: benchArtifact },
  { title: '11. cli start-up: `se status --json` against a running node vs `node -e 0`', run: benchCli },
  { title: '12. policy: a routed step and an approval under a policy and a signed decision vs the same with no policy', run: benchPolicy },
  { title: '13. gossip: the membership engine simulated at 10, 100 and 1,000 nodes: msgs/node/s against log N, convergence, crash detection against its bound', run: benchGossip },
  { title: '14. scale: 100-node membership vs 2, gossip traffic at 10 and 100 nodes, crash detection at 10 and 100, a routed step in 100 nodes vs 2', run: benchScale }
]

/** The benchmarks named by number on the command line, or all. */
function chosen (numbers: string[]): typeof BENCHMARKS {
  if (numbers.length === 0) return BENCHMARKS
  const picked = BENCHMARKS.filter(b => numbers.includes(b.title.split('.')[0] as string))
  if (picked.length !== numbers.length) throw new Error(`no benchmark numbered ${numbers.filter(n => !BENCHMARKS.some(b => b.title.startsWith(`${n}.`))).join(', ')} (1 to ${BENCHMARKS.length})`)
  return picked
}

async function main (): Promise<void> {
  const benchmarks = chosen(process.argv.slice(2))
  const started = performance.now()
  process.stdout.write(`SE Mesh benchmarks — node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} cpu(s), tmp ${os.tmpdir()}\n`)
  const results: Result[] = []
  const failures: string[] = []
  try {
    for (const b of benchmarks) {
      section(b.title)
      try {
        const rs = await b.run()
        for (const r of rs) process.stdout.write(formatResult(r) + '\n')
        results.push(...rs)
      } catch (err) {
        failures.push(b.title)
        process.stdout.write(`  ERROR: ${(err as Error).stack ?? String(err)}\n`)
      }
    }
  } finally {
    await cleanupTempDirs()
  }
  section('summary')
  for (const r of results) process.stdout.write(formatResult(r).split('\n')[0] + '\n')
  const goals = results.filter(r => r.goal !== null)
  const missed = goals.filter(r => met(r) === false)
  process.stdout.write(`\n${goals.length - missed.length}/${goals.length} goals met` +
    (missed.length > 0 ? `; MISSED: ${missed.map(r => r.name).join(', ')}` : '') +
    (failures.length > 0 ? `; ${failures.length} benchmark(s) failed to run` : '') +
    ` (${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
}

main().then(
  // Exit explicitly: a report must not hang on a stray timer or socket.
  () => process.exit(0),
  err => { process.stderr.write(`${(err as Error).stack ?? String(err)}\n`); process.exit(1) }
)
