// Mesh nodes that each see a working area of their own: every node process runs in a
// private mount namespace (`unshare -m`) with a tmpfs mounted at one common path. A
// workflow's working directory is that path on every node, yet no node sees another's
// files there, so a file one node made can reach another only by travelling (an
// artifact), never through a file system the test's nodes share.
import type { TestContext } from 'node:test'
import { execa } from 'execa'
import { SE_BIN, json, se, startNodeProcess, tempDir } from './cli.js'
import { FAST_TIMING, type MeshNodeProc } from './mesh.js'

/** Whether this machine lets a process take a private mount namespace with a tmpfs (root, unshare). */
export async function privateAreasAvailable (): Promise<string | undefined> {
  const probe = await execa('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt && echo ok'], { reject: false })
  return probe.stdout.trim() === 'ok' ? undefined : `needs root and unshare for private mount namespaces: ${probe.stderr.trim() || probe.stdout.trim()}`
}

/** The common path each node mounts its own tmpfs at (empty as the test's process sees it). */
export async function commonArea (t: TestContext): Promise<string> {
  return await tempDir(t, 'se-area-')
}

export async function privateNode (t: TestContext, bootstrap: string, area: string, name: string, opts: { tags?: string[], dataDir?: string, env?: Record<string, string> } = {}): Promise<MeshNodeProc> {
  const dataDir = opts.dataDir ?? await tempDir(t, `se-${name}-`)
  const args = ['--name', name, '--mesh', 'test-mesh', '--mesh-secret', 'right-secret', '--bootstrap', bootstrap, ...FAST_TIMING, ...(opts.tags ?? []).flatMap(tag => ['--capability', tag])]
  const line = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=1g tmpfs "$0" && exec "$@"', area, process.execPath, SE_BIN, 'node', 'start', '--data-dir', dataDir, ...args]
  const proc = await startNodeProcess(t, line, opts.env)
  const caps = json(await se(['capabilities', '--json'], { dataDir }))
  return { name, dataDir, key: caps.nodeId as string, proc }
}
