// A DHT bootstrap node for a private or offline mesh (what `se bootstrap` runs).
// The mesh transport itself is shared with Bare: ../shared/hyperswarm-transport.ts.
import dgram from 'node:dgram'
import DHT from 'hyperdht'
import type { BootstrapAddress } from '../../core/mesh/bootstrap-address.js'

/** Port 0 picks a free one. */
export async function startBootstrap (host: string, port: number): Promise<{ address: BootstrapAddress, close: () => Promise<void> }> {
  // A bootstrapper must know its own address to be of use to others, so the port is settled before it starts.
  const chosen = port === 0 ? await freeUdpPort(host) : port
  const node = DHT.bootstrapper(chosen, host, { host })
  await node.fullyBootstrapped()
  return { address: { host, port: node.address().port }, close: async () => { await node.destroy() } }
}

async function freeUdpPort (host: string): Promise<number> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(0, host, resolve) })
  const { port } = socket.address()
  await new Promise<void>(resolve => socket.close(() => resolve()))
  return port
}
