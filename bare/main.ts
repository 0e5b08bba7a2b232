// `npm run bare`: a headless SE node on the Bare runtime, for edge devices. The
// same core, protocol, audit and data dir as `se node start`, with Bare's ports.
import env from 'bare-env'
import fs from 'bare-fs'
import os from 'bare-os'
import path from 'bare-path'
import process from 'bare-process'
import { exitCodeFor, toSeError } from '../core/errors.js'
import { isoTime } from '../core/iso-time.js'
import { serveNode } from '../core/node/local-endpoint.js'
import { shortId } from '../core/node/identity.js'
import { SeNode } from '../core/node/se-node.js'
import { catalogueDirs, defaultDataDir, nodeConfigFrom } from '../core/node/settings.js'
import { meshConfigFrom } from '../core/mesh/settings.js'
import type { Runtime } from '../core/ports.js'
import { bareRuntime } from '../adapters/bare/runtime.js'
import { listenLocal } from '../adapters/bare/local-socket.js'
import { createSwarmTransport } from '../adapters/shared/hyperswarm-transport.js'
import { listenerLimitsFrom } from '../core/access/listener-limits.js'
import { nodeOptionsFrom } from '../adapters/shared/node-start-flags.js'
import { renderError } from '../adapters/shared/error-text.js'
import { reportLoadedModules } from './modules.js'
import { parseBareArgs } from './args.js'
import { startBareHttp } from './http.js'
import { NodeMetrics } from '../core/metrics/node-metrics.js'

const log: Runtime['log'] = {
  info: m => line('info', m),
  warn: m => line('warn', m),
  error: m => line('error', m)
}
// Written synchronously: an error printed just before exit must not be lost with the process.
// The timestamp without a Date: the first one would load the time zone rules for good (core/iso-time.ts).
function line (level: string, message: string): void {
  fs.writeSync(2, `${isoTime(Date.now())} ${level} ${message}\n`)
}

async function main (argv: string[]): Promise<number> {
  const flags = parseBareArgs(argv)
  if (flags === null) return 0 // --help was printed
  const lookup = (name: string): string | undefined => env[name]
  const dataDir = flags.dataDir === undefined ? defaultDataDir(lookup, os.homedir(), os.cwd()) : path.resolve(flags.dataDir)

  const runtime = bareRuntime(process.version, log)
  // The last net, as on Node (adapters/node/local-node.ts): logged as a bug, the node goes on.
  process.on('unhandledRejection', (err: unknown) => log.error(`BUG: unhandled rejection: ${(err as Error)?.stack ?? String(err)}`))
  const maxConnections = listenerLimitsFrom(lookup).maxConnections
  const mesh = meshConfigFrom(flags.mesh, { env: lookup, transport: async (keyPair, bootstrap, maxPeers) => await createSwarmTransport(keyPair, bootstrap, { maxPeers, maxConnections }), readText: file => String(fs.readFileSync(file, 'utf8')), warn: m => log.warn(m) })
  const config = nodeConfigFrom(nodeOptionsFrom(flags, dataDir, mesh), runtime, { env: lookup, catalogueDirs: catalogueDirs(lookup, dataDir, os.cwd(), []), cli: 'se', pid: process.pid })

  await runtime.fs.mkdirp(dataDir)
  const socketPath = path.join(dataDir, 'se.sock')
  const node = new SeNode(runtime, config)
  const metrics = new NodeMetrics(node, { system: runtime.system })
  let http: Awaited<ReturnType<typeof startBareHttp>> = null
  const served = await serveNode(node, runtime, async onConnection => await listenLocal(socketPath, onConnection), {
    observe: metrics.rpcObserver('unix'),
    // Opened while the node recovers, so /health/ready can say it is not ready yet.
    beforeStart: async () => { http = await startBareHttp(node, runtime, metrics, flags.frontEnds, { env: lookup, dataDir, owner: env.USER ?? 'owner' }) },
    beforeStop: async () => { await http?.close() }
  })
  metrics.attach()
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
  // As `se` prints it, details too: a policy with a mistake names each one by file, line and path.
  fs.writeSync(2, `${renderError(e)}\n`)
  process.exit(exitCodeFor(e.code))
})
