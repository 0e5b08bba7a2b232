// A node on this machine, serving its API on the Unix socket in its data dir.
import { catalogueDirs, socketPath, CLI_ENTRY } from './config.js'
import { nodeRuntime } from './runtime.js'
import { listenUnix } from './unix-socket.js'
import { SeNode, type NodeConfig } from '../../core/node/se-node.js'
import { serveNode } from '../../core/node/local-endpoint.js'
import { nodeConfigFrom, type NodeOptions } from '../../core/node/settings.js'
import type { Runtime } from '../../core/ports.js'

export interface LocalNodeOptions extends NodeOptions {
  log?: Runtime['log']
}

export interface LocalNode {
  node: SeNode
  socketPath: string
  close (): Promise<void>
}

export function nodeConfigFromEnv (opts: LocalNodeOptions, runtime: Runtime): NodeConfig {
  return nodeConfigFrom(opts, runtime, { env: name => process.env[name], catalogueDirs: catalogueDirs(opts.dataDir), cli: CLI_ENTRY, pid: process.pid })
}

export async function startLocalNode (opts: LocalNodeOptions): Promise<LocalNode> {
  const runtime = nodeRuntime(opts.log)
  const node = new SeNode(runtime, nodeConfigFromEnv(opts, runtime))
  const path = socketPath(opts.dataDir)
  await runtime.fs.mkdirp(opts.dataDir)
  const served = await serveNode(node, runtime, async onConnection => await listenUnix(path, onConnection))
  return { node, socketPath: path, close: served.close }
}
