// `se node start`: a node in the foreground until SIGTERM, SIGINT or SIGHUP. While it
// serves, its pid is in node.pid in the data dir, for tools that look for one there
// (`se node stop` itself reads the data dir's lock, which a kill -9 cannot leave stale).
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { shortId } from '../../../core/node/identity.js'
import { startLocalNode, type LocalNodeOptions } from '../local-node.js'
import type { CliIO } from './context.js'
import { PID_FILE } from './service.js'

export async function runDaemon (opts: LocalNodeOptions, io: CliIO): Promise<void> {
  const local = await startLocalNode(opts)
  const caps = await local.node.getCapabilities()
  const pidFile = path.join(opts.dataDir, PID_FILE)
  await writeFile(pidFile, `${process.pid}\n`, { mode: 0o600 })
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
      local.close().then(async () => { await rm(pidFile, { force: true }); io.err('node stopped'); resolve() }, err => { io.err(`stop failed: ${(err as Error).message}`); resolve() })
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    // The terminal closed (an SSH session ended): steps run in process groups of their
    // own, so they would not get the hangup; stop as for SIGTERM. Nobody reads stderr now.
    process.on('SIGHUP', () => { process.stderr.on('error', () => {}); stop('SIGHUP') })
  })
}
