// Hyperswarm behind the core's MeshTransport, for Node and Bare alike (only
// b4a, hyperdht and hyperswarm, which ship for both). Each node's swarm uses the
// node's own ed25519 key pair, so a peer's Noise-authenticated key is its node id.
// Anyone who knows that key may connect, so connections are capped like every
// other port's (Hyperswarm caps only the ones it opens itself).
// Each connection carries two Protomux channels: the RPC's bytes, and artifacts
// (whose chunks then never wait behind, or hold up, an RPC frame of their own).
import b4a from 'b4a'
import DHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import Protomux from 'protomux'
import type { KeyPair, MeshTransport, MessageChannel, PeerLink } from '../../core/ports.js'
import { isLoopback, type BootstrapAddress } from '../../core/mesh/bootstrap-address.js'
import { DEFAULT_LISTENER_LIMITS } from '../../core/access/listener-limits.js'
import { REJECTIONS } from '../../core/metrics/rejections.js'

/**
 * `maxPeers`: the mesh's own bound on the connections it dials (its neighbourhood and its work), given
 * to Hyperswarm so that its default (64) never decides silently; `maxConnections` caps everything.
 */
export async function createSwarmTransport (keyPair: KeyPair, bootstrap: BootstrapAddress[] | null, opts: { maxConnections?: number, maxPeers?: number } = {}): Promise<MeshTransport> {
  const { maxConnections = DEFAULT_LISTENER_LIMITS.maxConnections } = opts
  const maxPeers = Math.min(opts.maxPeers ?? maxConnections, maxConnections)
  // On a loopback-only mesh the DHT node binds to loopback too, or it would announce addresses nobody can reach.
  const local = bootstrap !== null && bootstrap.every(b => isLoopback(b.host))
  const dhtOpts: Record<string, unknown> = {}
  if (bootstrap !== null) dhtOpts.bootstrap = bootstrap.map(b => ({ host: isLoopback(b.host) ? '127.0.0.1' : b.host, port: b.port }))
  if (local) dhtOpts.host = '127.0.0.1'
  const dht = new DHT(dhtOpts)
  const swarm = new Hyperswarm({ dht, maxPeers, keyPair: { publicKey: b4a.from(keyPair.publicKey), secretKey: b4a.from(keyPair.secretKey) } })
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
        // Both channels are opened here, before the socket is read: Protomux pairs a channel only
        // when both ends open it, and one the remote opens first is refused unless we already have.
        const mux = Protomux.from(socket)
        const drop = (): void => { socket.destroy() }
        // Without its RPC a connection is nothing; a peer that refuses the artifact channel (a stranger
        // speaking only enough Protomux to try a hello) keeps its connection, for the handshake to judge.
        // A peer that saw this connection opens its RPC channel as soon as it does (see above).
        let alive = false
        let deadline: ReturnType<typeof setTimeout> | null = null
        const rpc = openChannel(mux, RPC_PROTOCOL, drop, drop, () => {
          alive = true
          if (deadline !== null) clearTimeout(deadline)
        })
        const artifacts = openChannel(mux, ARTIFACT_PROTOCOL, () => {}, drop)
        if (rpc === null || artifacts === null) { socket.destroy(); return }
        socket.once('close', () => {
          if (deadline !== null) clearTimeout(deadline)
          rpc.closed()
          artifacts.closed()
        })
        // Between two nodes on one host or LAN, HyperDHT sometimes opens the dialling side's
        // connection while the other side has already dropped its end (the LAN shortcut racing
        // an aborted holepunch): nothing ever arrives, and Hyperswarm, keeping the dead one,
        // refuses the peer's own dials to us as duplicates until it goes. Close enough for a
        // round trip to take milliseconds, silence is proof: drop it, and Hyperswarm dials again.
        if (!alive && isNearby(socket.rawStream?.remoteHost)) {
          deadline = setTimeout(() => { if (!alive) socket.destroy() }, NEARBY_SIGN_OF_LIFE_MS)
        }
        const link: PeerLink = {
          label: hex(socket.remotePublicKey).slice(0, 8),
          remotePublicKey: socket.remotePublicKey,
          handshakeHash: socket.handshakeHash,
          write: data => { if (!socket.destroyed) rpc.send(data) },
          onData: l => { rpc.onMessage(l) },
          onClose: l => { socket.once('close', () => l()) },
          close: () => { socket.destroy() },
          artifacts
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
      const d = swarm.join(b4a.from(topic), { server: true, client: false })
      discoveries.set(hex(topic), d)
      await d.flushed()
    },
    joinPeer (publicKey) {
      swarm.joinPeer(b4a.from(publicKey))
    },
    leavePeer (publicKey) {
      swarm.leavePeer(b4a.from(publicKey))
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
    async lookup (topic, timeoutMs, onFound) {
      const found = new Set<string>()
      const query = swarm.dht.lookup(b4a.from(topic))
      const timer = setTimeout(() => query.destroy(), timeoutMs)
      try {
        for await (const reply of query) {
          for (const peer of reply.peers) {
            const key = hex(peer.publicKey)
            if (found.has(key)) continue
            found.add(key)
            // The listener's own failure is not the query's: the lookup goes on.
            try { onFound?.(peer.publicKey) } catch {}
          }
        }
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

/**
 * How long a connection to a peer on this host or LAN may stay without the peer opening its
 * RPC channel (which it does the moment it sees the connection). Far above a LAN round trip,
 * well below the mesh's hello deadline, which a silent connection would otherwise wait out.
 */
const NEARBY_SIGN_OF_LIFE_MS = 400

/** Loopback, private and link-local addresses: a peer there answers within milliseconds. */
export function isNearby (host: string | undefined): boolean {
  if (host === undefined) return false
  const h = host.toLowerCase().replace(/^::ffff:/, '')
  if (h === '::1' || h.startsWith('fe80:') || h.startsWith('fc') || h.startsWith('fd')) return true
  const octets = h.split('.').map(Number)
  if (octets.length !== 4 || octets.some(o => !Number.isInteger(o) || o < 0 || o > 255)) return false
  const [a, b] = octets as [number, number, number, number]
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
}

const RPC_PROTOCOL = 'se-mesh/rpc'
const ARTIFACT_PROTOCOL = 'se-mesh/artifact'
/**
 * Messages kept for a channel nobody listens to yet. The RPC's listener comes at once (the
 * hello); the artifact channel's only after the mesh handshake, and a member sends a request
 * or two before that at most: a peer that sends more is not one of ours.
 */
const MAX_EARLY_MESSAGES = 64

interface OpenChannel extends MessageChannel {
  /** The connection is gone: whoever waits for room to send waits no more. */
  closed (): void
}

/**
 * `onClose`: the channel closed (the remote refused or closed it); `onFlood`: it sent too much
 * before anyone listened; `onOpen`: the remote opened it too. Messages sent before that are not
 * lost: the remote's Protomux keeps them for the channel and hands them over once it opens.
 */
function openChannel (mux: Protomux, protocol: string, onClose: () => void, onFlood: () => void, onOpen: () => void = () => {}): OpenChannel | null {
  let listener: ((data: Uint8Array) => void) | null = null
  let early: Uint8Array[] | null = []
  let waiting: Array<() => void> = []
  let drained = true
  const wake = (): void => { drained = true; for (const resolve of waiting.splice(0)) resolve() }
  // (onopen is Protomux's own option; adapters/types/protomux.d.ts declares only what else we use.)
  const options: Parameters<Protomux['createChannel']>[0] & { onopen: () => void } = { protocol, onopen: onOpen, onclose: () => { wake(); onClose() }, ondrain: wake }
  const channel = mux.createChannel(options)
  if (channel === null) return null
  const message = channel.addMessage({
    onmessage: data => {
      if (listener !== null) { listener(data); return }
      // Protomux may hand out a view of a larger buffer it reuses: a kept message is copied.
      if (early === null || early.length >= MAX_EARLY_MESSAGES) { onFlood(); return }
      early.push(b4a.from(data))
    }
  })
  channel.open()
  return {
    send: data => {
      drained = message.send(data)
      return drained
    },
    drained: async () => {
      if (drained || channel.closed) return
      await new Promise<void>(resolve => waiting.push(resolve))
    },
    onMessage: l => {
      listener = l
      const kept = early ?? []
      early = null
      for (const data of kept) l(data)
    },
    closed: () => { early = null; wake(); waiting = [] }
  }
}
