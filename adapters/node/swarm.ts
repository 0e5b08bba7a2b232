// Hyperswarm behind the core's MeshTransport. Each node's swarm uses the node's
// own ed25519 key pair, so a peer's Noise-authenticated key is its node id.
import dgram from 'node:dgram'
import DHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import type { KeyPair, MeshTransport, PeerLink } from '../../core/ports.js'
import { SeError } from '../../core/errors.js'

export interface BootstrapAddress { host: string, port: number }

export function parseBootstrap (text: string): BootstrapAddress[] {
  return text.split(',').map(s => s.trim()).filter(s => s !== '').map(s => {
    const at = s.lastIndexOf(':')
    const host = s.slice(0, at).replace(/^.*@/, '')
    const port = Number(s.slice(at + 1))
    if (at <= 0 || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new SeError('BAD_INPUT', `bootstrap address '${s}' is not HOST:PORT`, { hint: 'for example --bootstrap 127.0.0.1:49737' })
    }
    return { host, port }
  })
}

const isLoopback = (host: string): boolean => host === 'localhost' || host.startsWith('127.')

export async function createSwarmTransport (keyPair: KeyPair, bootstrap: BootstrapAddress[] | null): Promise<MeshTransport> {
  // On a loopback-only mesh the DHT node binds to loopback too, or it would announce addresses nobody can reach.
  const local = bootstrap !== null && bootstrap.every(b => isLoopback(b.host))
  const dhtOpts: Record<string, unknown> = {}
  if (bootstrap !== null) dhtOpts.bootstrap = bootstrap.map(b => ({ host: isLoopback(b.host) ? '127.0.0.1' : b.host, port: b.port }))
  if (local) dhtOpts.host = '127.0.0.1'
  const dht = new DHT(dhtOpts)
  const swarm = new Hyperswarm({ dht, keyPair: { publicKey: Buffer.from(keyPair.publicKey), secretKey: Buffer.from(keyPair.secretKey) } })
  // Hyperswarm reports failed punches and the like as errors; a mesh treats them as a peer not reached.
  swarm.on('error', () => {})
  const discoveries = new Map<string, ReturnType<Hyperswarm['join']>>()
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

  return {
    publicKey: keyPair.publicKey,
    onConnection (listener) {
      swarm.on('connection', (socket: any) => {
        socket.on('error', () => {})
        const link: PeerLink = {
          label: hex(socket.remotePublicKey).slice(0, 8),
          remotePublicKey: socket.remotePublicKey,
          handshakeHash: socket.handshakeHash,
          write: data => { if (!socket.destroyed) socket.write(data) },
          onData: l => { socket.on('data', l) },
          onClose: l => { socket.once('close', () => l()) },
          close: () => { socket.destroy() }
        }
        listener(link)
      })
    },
    async join (topic) {
      const d = swarm.join(Buffer.from(topic), { server: true, client: true })
      discoveries.set(hex(topic), d)
      await d.flushed()
    },
    async refresh (topic) {
      await discoveries.get(hex(topic))?.refresh({ server: true, client: true })
    },
    joinPeer (publicKey) {
      swarm.joinPeer(Buffer.from(publicKey))
    },
    async announce (topic) {
      const d = swarm.join(Buffer.from(topic), { server: true, client: false })
      discoveries.set(hex(topic), d)
      await d.flushed()
    },
    async unannounce (topic) {
      discoveries.delete(hex(topic))
      await swarm.leave(Buffer.from(topic))
    },
    async lookup (topic, timeoutMs) {
      const found = new Set<string>()
      const query = swarm.dht.lookup(Buffer.from(topic))
      const timer = setTimeout(() => query.destroy(), timeoutMs)
      try {
        for await (const reply of query) for (const peer of reply.peers) found.add(hex(peer.publicKey))
      } catch {
        // A destroyed (timed-out) query ends the loop with an error: what was found so far stands.
      } finally {
        clearTimeout(timer)
      }
      return [...found].map(k => Buffer.from(k, 'hex'))
    },
    async destroy () {
      await swarm.destroy()
    }
  }
}

/** A DHT bootstrap node for a private or offline mesh (what `se bootstrap` runs). Port 0 picks a free one. */
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
