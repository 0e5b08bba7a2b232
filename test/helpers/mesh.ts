// A local mesh for end-to-end tests: a DHT bootstrap on loopback in the test
// process, and real `se node start` processes joined to it.
import type { TestContext } from 'node:test'
import { startBootstrap } from '../../adapters/node/swarm.js'
import { json, se, startNode, tempDir, waitFor, type RunningNode } from './cli.js'

/** Short enough that down/up is seen within seconds. */
export const FAST_TIMING = ['--heartbeat-ms', '200', '--suspect-ms', '800', '--down-ms', '1600']

export async function localBootstrap (t: TestContext): Promise<string> {
  const boot = await startBootstrap('127.0.0.1', 0)
  t.after(() => boot.close())
  return `${boot.address.host}:${boot.address.port}`
}

export interface MeshNodeProc { name: string, dataDir: string, key: string, proc: RunningNode }

export async function meshNode (t: TestContext, bootstrap: string, name: string, opts: { tags?: string[], secret?: string, extra?: string[], dataDir?: string, env?: Record<string, string> } = {}): Promise<MeshNodeProc> {
  const dataDir = opts.dataDir ?? await tempDir(t, `se-${name}-`)
  const args = ['--name', name, '--mesh', 'test-mesh', '--mesh-secret', opts.secret ?? 'right-secret', '--bootstrap', bootstrap, ...FAST_TIMING, ...(opts.tags ?? []).flatMap(tag => ['--capability', tag]), ...(opts.extra ?? [])]
  const proc = await startNode(t, dataDir, args, opts.env)
  const caps = json(await se(['capabilities', '--json'], { dataDir }))
  return { name, dataDir, key: caps.nodeId as string, proc }
}

export interface NodeRow { nodeId: string, name: string, state: string, self: boolean, latencyMs: number | null, link: string | null, learned: string | null }

export async function nodesOf (n: MeshNodeProc): Promise<NodeRow[]> {
  return json<NodeRow[]>(await se(['nodes', '--json'], { dataDir: n.dataDir }))
}

/** Waits until `n` sees each of `others` in the given state. */
export async function waitForStates (n: MeshNodeProc, others: MeshNodeProc[], state: string, timeoutMs = 20_000): Promise<NodeRow[]> {
  return await waitFor(`${n.name} to see ${others.map(o => o.name).join(', ')} ${state}`, async () => {
    const rows = await nodesOf(n)
    return others.every(o => rows.some(r => r.nodeId === o.key && r.state === state)) ? rows : undefined
  }, timeoutMs)
}
