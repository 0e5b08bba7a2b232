// Real podman for the workload tests: a containers.conf these sandboxes need
// (runc, low ulimits) set through CONTAINERS_CONF for the test process and the
// nodes it starts, and a busybox image built locally (no registry is reachable).
import { execa } from 'execa'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile, copyFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export const TEST_IMAGE = 'localhost/se-busybox:test'
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find(p => existsSync(p))

let ready: Promise<string | null> | null = null

/** Null when podman runs containers here; else why the podman tests skip. */
export function podmanReady (): Promise<string | null> {
  ready ??= prepare()
  return ready
}

async function prepare (): Promise<string | null> {
  if (process.env.CONTAINERS_CONF === undefined) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'se-podman-conf-'))
    const conf = path.join(dir, 'containers.conf')
    await writeFile(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024","nproc=1024:1024"]\n[engine]\nruntime = "runc"\n')
    process.env.CONTAINERS_CONF = conf
  }
  const info = await execa('podman', ['info', '--format', 'json'], { reject: false })
  if (info.failed) return `podman is not usable here (${String(info.stderr || info.message).split('\n')[0] ?? ''}); .ci/run installs it`
  const exists = await execa('podman', ['image', 'exists', TEST_IMAGE], { reject: false })
  if (exists.exitCode === 0) return null
  if (BUSYBOX === undefined) return 'busybox-static is not installed (apt-get install busybox-static); .ci/run installs it'
  const ctx = await mkdtemp(path.join(os.tmpdir(), 'se-image-'))
  await mkdir(path.join(ctx, 'bin'))
  await copyFile(BUSYBOX, path.join(ctx, 'bin', 'busybox'))
  await writeFile(path.join(ctx, 'Containerfile'), 'FROM scratch\nCOPY bin/busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
  const build = await execa('podman', ['build', '--quiet', '-t', TEST_IMAGE, ctx], { reject: false })
  if (build.failed) return `could not build ${TEST_IMAGE}: ${build.stderr.split('\n').pop() ?? ''}`
  return null
}

/** Pods and containers SE made for one node, by its label. */
export async function podsOf (nodeId: string): Promise<string[]> {
  const r = await execa('podman', ['pod', 'ps', '--filter', `label=io.se-mesh.node=${nodeId.slice(0, 16)}`, '--format', '{{.Name}}'], { reject: false })
  return r.stdout.split('\n').filter(l => l !== '')
}

export async function removePodsOf (nodeId: string): Promise<void> {
  const pods = await podsOf(nodeId)
  if (pods.length > 0) await execa('podman', ['pod', 'rm', '-f', '-t', '0', ...pods], { reject: false })
}

export async function inspect (container: string): Promise<any> {
  const r = await execa('podman', ['container', 'inspect', '--format', 'json', container])
  return (JSON.parse(r.stdout) as any[])[0]
}
