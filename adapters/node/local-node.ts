// A node on this machine, serving its API on the Unix socket in its data dir.
import { numberFromEnv, listFromEnv, catalogueDirs, socketPath, CLI_ENTRY } from './config.js'
import { nodeRuntime } from './runtime.js'
import { listenUnix, type UnixServer } from './unix-socket.js'
import { SeNode, type MeshConfig, type NodeConfig } from '../../core/node/se-node.js'
import { RpcPeer } from '../../core/rpc/peer.js'
import { handlersFor } from '../../core/rpc/node-api.js'
import type { Runtime } from '../../core/ports.js'
import { workloadConfigFrom, type WorkloadFlags } from './workload-config.js'

export interface LocalNodeOptions {
  dataDir: string
  name?: string
  tags?: string[]
  log?: Runtime['log']
  mesh?: MeshConfig
  workloads?: WorkloadFlags
}

export interface LocalNode {
  node: SeNode
  socketPath: string
  close (): Promise<void>
}

export function nodeConfigFromEnv (opts: LocalNodeOptions, runtime: Runtime): NodeConfig {
  const config: NodeConfig = {
    dataDir: opts.dataDir,
    tags: [...(listFromEnv('SE_CAPABILITIES') ?? []), ...(opts.tags ?? [])],
    catalogueDirs: catalogueDirs(opts.dataDir),
    cli: CLI_ENTRY,
    pid: process.pid,
    allowCommands: listFromEnv('SE_EXECUTE_ALLOW') ?? null
  }
  const name = opts.name ?? process.env.SE_NODE_NAME
  if (name !== undefined && name !== '') config.name = name
  const tools = listFromEnv('SE_TOOLS')
  if (tools !== undefined) config.tools = tools
  const credentials = listFromEnv('SE_CREDENTIALS')
  if (credentials !== undefined) config.credentials = credentials
  const max = numberFromEnv('SE_MAX_WORKFLOWS')
  if (max !== undefined) config.maxConcurrentWorkflows = Math.floor(max)
  const grace = numberFromEnv('SE_SHUTDOWN_GRACE_SEC')
  if (grace !== undefined) config.shutdownGraceMs = grace * 1000
  if (opts.mesh !== undefined) config.mesh = opts.mesh
  config.workloads = workloadConfigFrom(opts.workloads ?? {}, runtime)
  return config
}

export async function startLocalNode (opts: LocalNodeOptions): Promise<LocalNode> {
  const runtime = nodeRuntime(opts.log)
  const node = new SeNode(runtime, nodeConfigFromEnv(opts, runtime))
  const path = socketPath(opts.dataDir)
  await runtime.fs.mkdirp(opts.dataDir)
  // Claim the socket first: a second node on the same data dir must fail before touching its files.
  const peers = new Set<RpcPeer>()
  let ready = false
  const server: UnixServer = await listenUnix(path, conn => {
    if (!ready) { conn.close(); return }
    const peer = new RpcPeer(conn, {
      handlers: handlersFor(node),
      onProtocolError: err => runtime.log.warn(`${conn.label}: ${err.message}`)
    })
    peers.add(peer)
    peer.onClose(() => peers.delete(peer))
  })
  try {
    const { resumed, unreadable } = await node.start()
    for (const u of unreadable) runtime.log.warn(`workflow file ${u.file} is unreadable and was left in place: ${u.reason}`)
    if (resumed > 0) runtime.log.info(`resumed ${resumed} unfinished workflow(s)`)
  } catch (err) {
    await server.close()
    throw err
  }
  ready = true
  let closing: Promise<void> | null = null
  return {
    node,
    socketPath: path,
    close: () => {
      closing ??= (async () => {
        await server.close()
        for (const p of peers) p.close()
        await node.stop()
      })()
      return closing
    }
  }
}
