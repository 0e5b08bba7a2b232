// `npm run bare`: a headless SE node on the Bare runtime, for edge devices. The
// same core, protocol, audit and data dir as `se node start`, with Bare's ports.
import './shims/avsc-hash.js'
import env from 'bare-env'
import fs from 'bare-fs'
import os from 'bare-os'
import path from 'bare-path'
import process from 'bare-process'
import { command, flag } from 'paparam'
import { exitCodeFor, SeError, toSeError } from '../core/errors.js'
import { serveNode } from '../core/node/local-endpoint.js'
import { shortId } from '../core/node/identity.js'
import { SeNode } from '../core/node/se-node.js'
import { catalogueDirs, defaultDataDir, nodeConfigFrom } from '../core/node/settings.js'
import { positiveNumber } from '../core/config/env.js'
import { meshConfigFrom, type MeshFlags } from '../core/mesh/settings.js'
import type { WorkloadFlags } from '../core/workload/settings.js'
import type { Runtime } from '../core/ports.js'
import { bareRuntime } from '../adapters/bare/runtime.js'
import { listenLocal } from '../adapters/bare/local-socket.js'
import { createSwarmTransport } from '../adapters/shared/hyperswarm-transport.js'
import { listenerLimitsFrom } from '../core/access/listener-limits.js'
import { reportLoadedModules } from './modules.js'

const cli = command('se-bare',
  flag('--data-dir [dir]', 'node data directory (env SE_DATA_DIR; default ~/.local/share/se-mesh)'),
  flag('--name [name]', 'label shown to people (env SE_NODE_NAME; default the hostname)'),
  flag('--capability [tag]', 'add a capability tag (repeatable; env SE_CAPABILITIES)').multiple(),
  flag('--mesh [name]', 'join this mesh (env SE_MESH)'),
  flag('--bootstrap [host:port]', 'DHT bootstrap nodes, comma-separated (env SE_BOOTSTRAP)'),
  flag('--mesh-secret [secret]', 'shared secret members must prove they hold (env SE_MESH_SECRET)'),
  flag('--allow [key]', 'only let this node key join (repeatable; env SE_ALLOW)').multiple(),
  flag('--allow-file [file]', 'only let the node keys in this file join (env SE_ALLOW_FILE)'),
  flag('--peer [key]', 'connect to this node key directly (repeatable; env SE_PEERS)').multiple(),
  flag('--heartbeat-ms [ms]', 'heartbeat interval (env SE_HEARTBEAT_MS; default 1000)'),
  flag('--suspect-ms [ms]', 'silence before a node is suspect (env SE_SUSPECT_MS; default 3000)'),
  flag('--down-ms [ms]', 'silence before a node is down (env SE_DOWN_MS; default 6000)'),
  flag('--engine [name]', 'preferred workload engine: process, podman (env SE_ENGINE)'),
  flag('--memory-budget [size]', 'memory all workloads\' limits may add up to, e.g. 1g (env SE_MEMORY_BUDGET)'),
  flag('--max-workloads [n]', 'workloads deployed at once (env SE_MAX_WORKLOADS; default 10)')
)

const log: Runtime['log'] = {
  info: m => line('info', m),
  warn: m => line('warn', m),
  error: m => line('error', m)
}
// Written synchronously: an error printed just before exit must not be lost with the process.
function line (level: string, message: string): void {
  fs.writeSync(2, `${new Date().toISOString()} ${level} ${message}\n`)
}

const positive = (value: unknown, name: string): number | undefined => value === undefined ? undefined : positiveNumber(String(value), name)

async function main (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = cli.parse(argv)
  } catch (err) {
    // paparam throws `UNKNOWN_FLAG: bogus` and the like.
    throw SeError.badInput(`${(err as Error).message.replace(/^([A-Z_]+): /, (_, code: string) => `${code.toLowerCase().replace(/_/g, ' ')} `)}`, 'see `npm run bare -- --help`')
  }
  if (parsed === null) return 0 // --help was printed
  const f = parsed.flags as Record<string, any>
  const lookup = (name: string): string | undefined => env[name]
  const dataDir = f.dataDir === undefined ? defaultDataDir(lookup, os.homedir(), os.cwd()) : path.resolve(String(f.dataDir))
  const meshFlags: MeshFlags = {}
  if (f.mesh !== undefined) meshFlags.mesh = String(f.mesh)
  if (f.bootstrap !== undefined) meshFlags.bootstrap = String(f.bootstrap)
  if (f.meshSecret !== undefined) meshFlags.meshSecret = String(f.meshSecret)
  if (f.allow !== undefined) meshFlags.allow = f.allow.map(String)
  if (f.allowFile !== undefined) meshFlags.allowFile = String(f.allowFile)
  if (f.peer !== undefined) meshFlags.peer = f.peer.map(String)
  for (const key of ['heartbeatMs', 'suspectMs', 'downMs'] as const) {
    const n = positive(f[key], `--${key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}`)
    if (n !== undefined) meshFlags[key] = n
  }
  const workloads: WorkloadFlags = {}
  if (f.engine !== undefined) workloads.engine = String(f.engine)
  if (f.memoryBudget !== undefined) workloads.memoryBudget = String(f.memoryBudget)
  const max = positive(f.maxWorkloads, '--max-workloads')
  if (max !== undefined) workloads.maxWorkloads = max

  const runtime = bareRuntime(process.version, log)
  // The last net, as on Node (adapters/node/local-node.ts): logged as a bug, the node goes on.
  process.on('unhandledRejection', (err: unknown) => log.error(`BUG: unhandled rejection: ${(err as Error)?.stack ?? String(err)}`))
  const maxConnections = listenerLimitsFrom(lookup).maxConnections
  const mesh = meshConfigFrom(meshFlags, { env: lookup, transport: async (keyPair, bootstrap) => await createSwarmTransport(keyPair, bootstrap, { maxConnections }), readText: file => String(fs.readFileSync(file, 'utf8')), warn: m => log.warn(m) })
  const config = nodeConfigFrom({
    dataDir,
    ...(f.name === undefined ? {} : { name: String(f.name) }),
    tags: (f.capability ?? []).map(String),
    ...(mesh === undefined ? {} : { mesh }),
    workloads
  }, runtime, { env: lookup, catalogueDirs: catalogueDirs(lookup, dataDir, os.cwd(), []), cli: 'se', pid: process.pid })

  await runtime.fs.mkdirp(dataDir)
  const socketPath = path.join(dataDir, 'se.sock')
  const node = new SeNode(runtime, config)
  const served = await serveNode(node, runtime, async onConnection => await listenLocal(socketPath, onConnection))
  const caps = await node.getCapabilities()
  log.info(`node ${node.name} (${shortId(node.id)}) ready on ${socketPath}${mesh === undefined ? '' : ` in mesh ${mesh.name}`} [${runtime.system.runtime}]`)
  log.info(`engines: ${caps.engines.join(', ')}; tools: ${caps.tools.join(', ') || 'none'}; credentials: ${caps.credentials.join(', ') || 'none'}; tags: ${caps.tags.join(', ') || 'none'}`)
  reportLoadedModules(env.SE_BARE_MODULE_REPORT)

  return await new Promise<number>(resolve => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) { log.warn(`${signal}: already stopping`); return }
      stopping = true
      log.info(`${signal}: stopping (running steps get a grace period, then are checkpointed)`)
      served.close().then(() => { log.info('node stopped'); resolve(0) }, err => { log.error(`stop failed: ${(err as Error).message}`); resolve(1) })
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    // The terminal went away: steps run in groups of their own and would not get the hangup.
    process.on('SIGHUP', () => stop('SIGHUP'))
  })
}

main(process.argv.slice(2)).then(code => process.exit(code), (err: unknown) => {
  const e = toSeError(err)
  fs.writeSync(2, `error: ${e.reason}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}`)
  process.exit(exitCodeFor(e.code))
})
