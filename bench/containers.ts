// Benchmark 5: a container step through an SE node against a raw `podman run --rm`
// of the same image and command, alternating so both see the same machine state.
import { execa } from 'execa'
import { SeNode } from '../core/node/se-node.js'
import { PodmanEngine } from '../core/workload/podman-engine.js'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { TEST_IMAGE, podmanReady } from '../test/helpers/podman.js'
import { info, median, ms, now, quietLogger, tempDir, type Result } from './lib.js'

const ROUNDS = 15
const COMMAND = ['/bin/sh', '-c', 'echo hello > /dev/null']

export async function benchContainers (): Promise<Result[]> {
  // The tests' own setup: the sandbox's containers.conf (unless CONTAINERS_CONF is set) and the local busybox image.
  const skip = await podmanReady()
  if (skip !== null) { info(`skipped: ${skip}`); return [] }
  const runtime = nodeRuntime(quietLogger)
  const dataDir = await tempDir('containers')
  const workdir = await tempDir('containers-work')
  const node = new SeNode(runtime, { dataDir, catalogueDirs: [], workloads: { engines: [new PodmanEngine({ processes: runtime.processes, fs: runtime.fs })], preferred: 'podman' } })
  await node.start()
  const caps = await node.getCapabilities()
  if (!caps.engines.includes('podman')) throw new Error('the node did not detect podman')
  const definition = JSON.stringify({ name: 'bench-container', steps: [{ id: 'run', run: { image: TEST_IMAGE, command: COMMAND[0], args: COMMAND.slice(1) } }] })
  const viaSe = async (): Promise<number> => {
    const start = now()
    const status = await node.executeWorkflow({ definition, source: 'bench.yaml', inputs: {}, workdir, requestedBy: '' })
    const final = await node.watchWorkflow(status.id, () => {})
    if (final.state !== 'completed') throw new Error(`container step ${final.state}: ${final.error ?? ''}`)
    return now() - start
  }
  // The same mount and workdir SE gives the step, so both run the same container.
  const raw = async (): Promise<number> => {
    const start = now()
    await execa('podman', ['run', '--rm', '--volume', `${workdir}:/workspace`, '--workdir', '/workspace', TEST_IMAGE, ...COMMAND])
    return now() - start
  }
  try {
    await viaSe(); await raw()
    const se: number[] = []
    const plain: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      se.push(await viaSe())
      plain.push(await raw())
    }
    const ratio = median(se) / median(plain)
    return [{
      name: 'container step',
      subject: `${ms(median(se))} ms/step`,
      baseline: `${ms(median(plain))} ms/podman run`,
      ratio,
      goal: { kind: 'lt', limit: 1.1 },
      note: `median of ${ROUNDS} alternating runs; SE adds ${ms(median(se) - median(plain))} ms (state file, audit entries, the step's env)`
    }]
  } finally {
    await node.stop()
  }
}
