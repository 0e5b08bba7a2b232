// `se node start`: a node in the foreground until SIGTERM, SIGINT or SIGHUP.
import { shortId } from '../../../core/node/identity.js'
import { startLocalNode, type LocalNodeOptions } from '../local-node.js'
import type { CliIO } from './context.js'

export async function runDaemon (opts: LocalNodeOptions, io: CliIO): Promise<void> {
  const local = await startLocalNode(opts)
  const caps = await local.node.getCapabilities()
  io.err(`node ${local.node.name} (${shortId(local.node.id)}) ready on ${local.socketPath}`)
  io.err(`  engines: ${caps.engines.join(', ')}; tools: ${caps.tools.join(', ') || 'none'}; credentials: ${caps.credentials.join(', ') || 'none'}`)
  if (local.http !== null) io.err(`  http: http://${local.http} (tokens in ${local.tokenFile ?? 'SE_TOKENS'})`)
  if (local.avroTcp !== null) io.err(`  avro ipc: tcp://${local.avroTcp}`)
  await new Promise<void>(resolve => {
    let stopping = false
    // The handlers stay installed until exit: execa's child cleanup re-raises a signal nobody else listens to.
    const stop = (signal: string): void => {
      if (stopping) { io.err(`${signal}: already stopping`); return }
      stopping = true
      io.err(`${signal}: stopping (running steps get a grace period, then are checkpointed)`)
      local.close().then(() => { io.err('node stopped'); resolve() }, err => { io.err(`stop failed: ${(err as Error).message}`); resolve() })
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    // The terminal closed (an SSH session ended): steps run in process groups of their
    // own, so they would not get the hangup; stop as for SIGTERM. Nobody reads stderr now.
    process.on('SIGHUP', () => { process.stderr.on('error', () => {}); stop('SIGHUP') })
  })
}
