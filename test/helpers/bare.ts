// The Bare node for end-to-end tests: the real `bare` binary running the bundle
// that `npm run bare` builds (the test run's `pretest` builds it too).
import { execa } from 'execa'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { json, REPO, se, startNodeProcess, tempDir } from './cli.js'
import { FAST_TIMING, type MeshNodeProc } from './mesh.js'

export const BARE_BIN = path.join(REPO, 'node_modules', '.bin', 'bare')
export const BARE_ENTRY = path.join(REPO, 'bare', 'se-node.cjs')

export async function bareMeshNode (t: TestContext, bootstrap: string, name: string, opts: { tags?: string[], secret?: string, dataDir?: string, extra?: string[], env?: Record<string, string> } = {}): Promise<MeshNodeProc> {
  const dataDir = opts.dataDir ?? await tempDir(t, `se-bare-${name}-`)
  const args = ['--data-dir', dataDir, '--name', name, '--mesh', 'test-mesh', '--mesh-secret', opts.secret ?? 'right-secret', '--bootstrap', bootstrap, ...FAST_TIMING, ...(opts.tags ?? []).flatMap(tag => ['--capability', tag]), ...(opts.extra ?? [])]
  const proc = await startNodeProcess(t, [BARE_BIN, BARE_ENTRY, ...args], { SE_SHUTDOWN_GRACE_SEC: '2', ...opts.env })
  // The Node CLI asks the Bare node over its socket: the same Avro RPC as a Node node's.
  const caps = json(await se(['capabilities', '--json'], { dataDir }))
  return { name, dataDir, key: caps.nodeId as string, proc }
}

let ready: Promise<string | null> | null = null

/**
 * Null when the bare binary runs here; else why the Bare tests skip. It comes from the
 * optional bare-runtime-linux-x64 package, which npm installs on linux-x64 only.
 */
export function bareReady (): Promise<string | null> {
  ready ??= execa(BARE_BIN, ['--version'], { reject: false }).then(r => r.exitCode === 0 ? null : `the bare runtime does not run here (${BARE_BIN}: ${String(r.stderr || r.message).split('\n')[0] ?? ''}); it is installed with the project on linux-x64`)
  return ready
}
