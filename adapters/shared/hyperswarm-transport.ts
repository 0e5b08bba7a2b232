// Hyperswarm behind the core's MeshTransport, for Node and Bare alike (only
// b4a, hyperdht and hyperswarm, which ship for both). Each node's swarm uses the
// node's own ed25519 key pair, so a peer's Noise-authenticated key is its node id.
// Anyone who knows that key may connect, so connections are capped like every
// other port's (Hyperswarm caps only the ones it opens itself).
import b4a from 'b4a'
import DHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import type { KeyPair, MeshTransport, PeerLink } from '../../core/ports.js'
import { isLoopback, type BootstrapAddress } from '../../core/mesh/bootstrap-address.js'
import { DEFAULT_LISTENER_LIMITS } from '../../core/access/listener-limits.js'
import { REJECTIONS } from '../../core/metrics/rejections.js'

export async function createSwarmTransport (keyPair: KeyPair, bootstrap: BootstrapAddress[] | null, opts: { maxConnections?: number } = {}): Promise<MeshTransport> {
  const { maxConnections = DEFAULT_LISTENER_LIMITS.maxConnections } = opts
  // On a loopback-only mesh the DHT node binds to loopback too, or it would announce addresses nobody can reach.
  const local = bootstrap !== null && bootstrap.every(b => isLoopback(b.host))
  const dhtOpts: Record<string, unknown> = {}
  if (bootstrap !== null) dhtOpts.bootstrap = bootstrap.map(b => ({ host: isLoopback(b.host) ? '127.0.0.1' : b.host, port: b.port }))
  if (local) dhtOpts.host = '127.0.0.1'
  const dht = new DHT(dhtOpts)
  const swarm = new Hyperswarm({ dht, keyPair: { publicKey: b4a.from(keyPair.publicKey), secretKey: b4a.from(keyPair.secretKey) } })
  // Hyperswarm reports failed punches and the like as errors; a mesh treats them as a peer not reached.
  swarm.on('error', () => {})
  const discoveries = new Map<string, ReturnType<Hyperswarm['join']>>()
  const hex = (b: Uint8Array): string => b4a.toString(b, 'hex')

  return {
    publicKey: keyPair.publicKey,
    onConnection (listener) {
      let open = 0
      swarm.on('connection', (socket: any) => {
        socket.on('error', () => {})
        if (open >= maxConnections) {
          REJECTIONS.reject('mesh', 'too_many_connections')
          socket.destroy()
          return
        }
        open++
        socket.once('close', () => { open-- })
        const link: PeerLink = {
          label: hex(socket.remotePublicKey).slice(0, 8),
          remotePublicKey: socket.remotePublicKey,
          handshakeHash: socket.handshakeHash,
          write: data => { if (!socket.destroyed) socket.write(data) },
          onData: l => { socket.on('data', l) },
          onClose: l => { socket.once('close', () => l()) },
          close: () => { socket.destroy() }
        }
        // One peer's connection must not take the node with it, whatever goes wrong handling it.
        try {
          listener(link)
        } catch {
          socket.destroy()
        }
      })
    },
    async join (topic) {
      const d = swarm.join(b4a.from(topic), { server: true, client: true })
      discoveries.set(hex(topic), d)
      await d.flushed()
    },
    async refresh (topic) {
      await discoveries.get(hex(topic))?.refresh({ server: true, client: true })
    },
    joinPeer (publicKey) {
      swarm.joinPeer(b4a.from(publicKey))
    },
    async announce (topic) {
      const d = swarm.join(b4a.from(topic), { server: true, client: false })
      discoveries.set(hex(topic), d)
      await d.flushed()
    },
    async unannounce (topic) {
      discoveries.delete(hex(topic))
      await swarm.leave(b4a.from(topic))
    },
    async lookup (topic, timeoutMs) {
      const found = new Set<string>()
      const query = swarm.dht.lookup(b4a.from(topic))
      const timer = setTimeout(() => query.destroy(), timeoutMs)
      try {
        for await (const reply of query) for (const peer of reply.peers) found.add(hex(peer.publicKey))
      } catch {
        // A destroyed (timed-out) query ends the loop with an error: what was found so far stands.
      } finally {
        clearTimeout(timer)
      }
      return [...found].map(k => b4a.from(k, 'hex'))
    },
    async destroy () {
      await swarm.destroy()
    }
  }
}
