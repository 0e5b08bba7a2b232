// A node on this machine, serving its API on the Unix socket in its data dir,
// and, when asked, over HTTP and Avro IPC on TCP.
import path from 'node:path'
import { catalogueDirs, loginName, socketPath, CLI_ENTRY } from './config.js'
import { nodeRuntime } from './runtime.js'
import { listenUnix } from './unix-socket.js'
import { SeNode, type NodeConfig } from '../../core/node/se-node.js'
import { serveNode } from '../../core/node/local-endpoint.js'
import { nodeConfigFrom, type NodeOptions } from '../../core/node/settings.js'
import type { Runtime } from '../../core/ports.js'
import { NodeMetrics, type RpcObserver } from '../../core/metrics/node-metrics.js'
import type { FrontEndConfig } from '../../core/access/front-end-settings.js'
import { startFrontEnds, type FrontEnds } from './front-ends.js'

export interface LocalNodeOptions extends NodeOptions {
  log?: Runtime['log']
  frontEnds?: FrontEndConfig
}

export interface LocalNode {
  node: SeNode
  socketPath: string
  metrics: NodeMetrics
  /** Where the HTTP API and Avro TCP listen, when they were asked for. */
  http: string | null
  avroTcp: string | null
  tokenFile: string | null
  close (): Promise<void>
}

export function nodeConfigFromEnv (opts: LocalNodeOptions, runtime: Runtime): NodeConfig {
  return nodeConfigFrom(opts, runtime, { env: name => process.env[name], catalogueDirs: catalogueDirs(opts.dataDir), cli: CLI_ENTRY, pid: process.pid })
}

let rejectionsLogged = false

/**
 * A promise nobody awaited failed: a bug, but not one that may take the node and every
 * workflow on it down (each failure is handled where it arises; this is the last net).
 * Said loudly in the node's log, with its stack, so the fuzz tests and people see it.
 */
function logUnhandledRejections (log: Runtime['log']): void {
  if (rejectionsLogged) return
  rejectionsLogged = true
  process.on('unhandledRejection', err => log.error(`BUG: unhandled rejection: ${(err as Error)?.stack ?? String(err)}`))
}

export async function startLocalNode (opts: LocalNodeOptions): Promise<LocalNode> {
  const runtime = nodeRuntime(opts.log)
  logUnhandledRejections(runtime.log)
  const config = nodeConfigFromEnv(opts, runtime)
  // The metrics watch the node they are built on; the mesh reports its calls to them.
  let metrics: NodeMetrics | null = null
  // Observers are made once the metrics exist (the mesh is configured before them), then reused on every call.
  const meshObserver = (side: 'server' | 'client'): RpcObserver => {
    let observe: RpcObserver | undefined
    return (m, s, o) => { observe ??= metrics?.rpcObserver('hyperswarm', side); observe?.(m, s, o) }
  }
  if (config.mesh !== undefined) config.mesh = { ...config.mesh, observe: { served: meshObserver('server'), calls: meshObserver('client') } }
  const node = new SeNode(runtime, config)
  metrics = new NodeMetrics(node, { system: runtime.system })
  const socket = socketPath(opts.dataDir)
  await runtime.fs.mkdirp(opts.dataDir)
  let fronts: FrontEnds | null = null
  const served = await serveNode(node, runtime, async onConnection => await listenUnix(socket, onConnection, { log: runtime.log }), {
    observe: (metrics as NodeMetrics).rpcObserver('unix'),
    // Opened while the node recovers, so /health/ready can say it is not ready yet.
    beforeStart: async () => {
      if (opts.frontEnds === undefined) return
      fronts = await startFrontEnds(node, runtime, metrics as NodeMetrics, opts.frontEnds, { dataDir: opts.dataDir, owner: loginName(), workdir: path.resolve('.') })
    },
    beforeStop: async () => { await (fronts as FrontEnds | null)?.close() }
  })
  metrics.attach()
  const f = fronts as FrontEnds | null
  return {
    node,
    socketPath: socket,
    metrics,
    http: f?.http ?? null,
    avroTcp: f?.avroTcp ?? null,
    tokenFile: f?.tokenFile ?? null,
    close: async () => { metrics.detach(); await served.close() }
  }
}
