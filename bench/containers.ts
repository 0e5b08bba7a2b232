// Benchmark 5: a container step through an SE node against a raw `podman run --rm`
// of the same image and command, alternating so both see the same machine state.
import { execa } from 'execa'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { SeNode } from '../core/node/se-node.js'
import { PodmanEngine } from '../core/workload/podman-engine.js'
import { nodeRuntime } from '../adapters/node/runtime.js'
import { info, median, ms, now, quietLogger, tempDir, type Result } from './lib.js'

const IMAGE = 'localhost/se-busybox:bench'
const ROUNDS = 15
const COMMAND = ['/bin/sh', '-c', 'echo hello > /dev/null']

async function ensureImage (): Promise<string | null> {
  if (process.env.CONTAINERS_CONF === undefined) {
    const dir = await tempDir('podman-conf')
    const conf = path.join(dir, 'containers.conf')
    // What these sandboxes need (runc, low ulimits); a user's own podman setup is left alone when CONTAINERS_CONF is set.
    await writeFile(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024","nproc=1024:1024"]\n[engine]\nruntime = "runc"\n')
    process.env.CONTAINERS_CONF = conf
  }
  if ((await execa('podman', ['info', '--format', 'json'], { reject: false })).exitCode !== 0) return 'podman is not usable here'
  if ((await execa('podman', ['image', 'exists', IMAGE], { reject: false })).exitCode === 0) return null
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(p => existsSync(p))
  if (busybox === undefined) return 'busybox-static is not installed'
  const ctx = await tempDir('image')
  await mkdir(path.join(ctx, 'bin'))
  await copyFile(busybox, path.join(ctx, 'bin', 'busybox'))
  await writeFile(path.join(ctx, 'Containerfile'), 'FROM scratch\nCOPY bin/busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
  await execa('podman', ['build', '--quiet', '-t', IMAGE, ctx])
  return null
}

export async function benchContainers (): Promise<Result[]> {
  const skip = await ensureImage()
  if (skip !== null) { info(`skipped: ${skip}`); return [] }
  const runtime = nodeRuntime(quietLogger)
  const dataDir = await tempDir('containers')
  const workdir = await tempDir('containers-work')
  const node = new SeNode(runtime, { dataDir, catalogueDirs: [], workloads: { engines: [new PodmanEngine({ processes: runtime.processes, fs: runtime.fs })], preferred: 'podman' } })
  await node.start()
  const caps = await node.getCapabilities()
  if (!caps.engines.includes('podman')) throw new Error('the node did not detect podman')
  const definition = JSON.stringify({ name: 'bench-container', steps: [{ id: 'run', run: { image: IMAGE, command: COMMAND[0], args: COMMAND.slice(1) } }] })
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
    await execa('podman', ['run', '--rm', '--volume', `${workdir}:/workspace`, '--workdir', '/workspace', IMAGE, ...COMMAND])
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
