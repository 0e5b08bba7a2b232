// `se bootstrap`: a DHT bootstrap node in the foreground until SIGTERM or SIGINT.
import { startBootstrap } from '../swarm.js'
import type { CliIO } from './context.js'

export async function runBootstrap (host: string, port: number, io: CliIO): Promise<void> {
  const boot = await startBootstrap(host, port)
  const address = `${boot.address.host}:${boot.address.port}`
  io.out(address)
  io.err(`bootstrap node listening on ${address}; join with: se node start --mesh NAME --bootstrap ${address}`)
  await new Promise<void>(resolve => {
    let stopping = false
    const stop = (): void => {
      if (stopping) return
      stopping = true
      boot.close().then(resolve, resolve)
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
}
