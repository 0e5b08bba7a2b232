// Mesh settings for a node, the same on Node and Bare: flags first, then SE_*
// variables. The runtime supplies the transport and reads the allowlist file.
import { SeError } from '../errors.js'
import type { KeyPair, MeshTransport } from '../ports.js'
import type { CallObserver } from '../rpc/peer.js'
import { listFrom, numberFrom, textFrom, type EnvLookup } from '../config/env.js'
import { parseBootstrap, type BootstrapAddress } from './bootstrap-address.js'
import { DEFAULT_TIMING, type MeshTiming } from './mesh.js'
import { neighbourTarget } from './gossip/neighbourhood.js'

/** Connections for work (routed steps, sessions, artifacts) a node may dial beyond its neighbourhood. */
export const WORK_CONNECTIONS = 64

/** A node's mesh, as the node starts it. */
export interface MeshConfig {
  name: string
  secret: string
  /** Opens the transport with the node's own key pair, so peers know the node by its id. */
  transport: (keyPair: KeyPair) => Promise<MeshTransport>
  /** Neighbour links to keep (SE_MESH_NEIGHBOURS); the rest of the mesh is known by gossip. */
  neighbours: number
  /** Hex public keys allowed to join; null for anyone holding the secret. */
  allow: string[] | null
  /** Hex public keys to connect to directly. */
  peers: string[]
  timing?: Partial<MeshTiming>
  /** Told how long mesh calls took, for the metrics. */
  observe?: { served?: CallObserver, calls?: CallObserver }
}

export interface MeshFlags {
  mesh?: string
  bootstrap?: string
  meshSecret?: string
  allow?: string[]
  allowFile?: string
  peer?: string[]
  heartbeatMs?: number
  suspectMs?: number
  downMs?: number
  neighbours?: number
}

export interface MeshSettingsHost {
  env: EnvLookup
  /** Opens the swarm for a node key; null bootstrap means the public DHT. `maxPeers` bounds the connections it dials. */
  transport: (keyPair: KeyPair, bootstrap: BootstrapAddress[] | null, maxPeers: number) => Promise<MeshTransport>
  /** The text of the allowlist file; throws when it cannot be read. */
  readText: (file: string) => string
  warn: (text: string) => void
}

const KEY = /^[0-9a-f]{64}$/

function keys (list: string[], where: string): string[] {
  for (const k of list) {
    if (!KEY.test(k)) throw SeError.badNodeKey(where, k)
  }
  return list
}

/** An allowlist file: one node key per line; blank lines and # comments are ignored. */
export function parseAllowFile (file: string, text: string): string[] {
  const lines = text.split('\n').map((l, i) => ({ key: l.replace(/#.*/, '').trim(), line: i + 1 })).filter(l => l.key !== '')
  for (const l of lines) keys([l.key], `${file}:${l.line}`)
  return lines.map(l => l.key)
}

/** The node's mesh, or undefined when it runs alone. */
export function meshConfigFrom (flags: MeshFlags, host: MeshSettingsHost): MeshConfig | undefined {
  const { env } = host
  const name = flags.mesh ?? textFrom(env, 'SE_MESH')
  if (name === undefined || name === '') return undefined
  const secret = flags.meshSecret ?? env('SE_MESH_SECRET') ?? ''
  if (secret === '') host.warn(`mesh ${name} has no secret: any node that knows its name can join (set --mesh-secret or SE_MESH_SECRET)`)
  const bootstrapText = flags.bootstrap ?? textFrom(env, 'SE_BOOTSTRAP')
  const bootstrap = bootstrapText === undefined || bootstrapText === '' ? null : parseBootstrap(bootstrapText)
  const allowFile = flags.allowFile ?? textFrom(env, 'SE_ALLOW_FILE')
  let fromFile: string[] = []
  if (allowFile !== undefined && allowFile !== '') {
    let text: string
    try {
      text = host.readText(allowFile)
    } catch (err) {
      throw SeError.cannotRead(`allowlist ${allowFile}`, err)
    }
    fromFile = parseAllowFile(allowFile, text)
  }
  const allowList = [...keys(flags.allow ?? listFrom(env, 'SE_ALLOW') ?? [], '--allow'), ...fromFile]
  const timing: Partial<MeshTiming> = {}
  const heartbeatMs = flags.heartbeatMs ?? numberFrom(env, 'SE_HEARTBEAT_MS')
  const suspectMs = flags.suspectMs ?? numberFrom(env, 'SE_SUSPECT_MS')
  const downMs = flags.downMs ?? numberFrom(env, 'SE_DOWN_MS')
  if (heartbeatMs !== undefined) timing.heartbeatMs = heartbeatMs
  if (suspectMs !== undefined) timing.suspectMs = suspectMs
  if (downMs !== undefined) timing.downMs = downMs
  const hb = timing.heartbeatMs ?? DEFAULT_TIMING.heartbeatMs
  const suspect = timing.suspectMs ?? DEFAULT_TIMING.suspectMs
  const down = timing.downMs ?? DEFAULT_TIMING.downMs
  if (!(hb > 0 && suspect > hb && down > suspect)) {
    throw SeError.badMeshTiming(hb, suspect, down)
  }
  const neighbours = neighbourTarget(flags.neighbours ?? numberFrom(env, 'SE_MESH_NEIGHBOURS'))
  const idleMs = numberFrom(env, 'SE_MESH_IDLE_MS')
  if (idleMs !== undefined) timing.idleMs = idleMs
  return {
    name,
    secret,
    neighbours,
    // Hyperswarm dials at most maxPeers: the neighbourhood, and the work connections on top of it.
    transport: async keyPair => await host.transport(keyPair, bootstrap, neighbours + WORK_CONNECTIONS),
    allow: allowList.length > 0 || allowFile !== undefined ? allowList : null,
    peers: keys(flags.peer ?? listFrom(env, 'SE_PEERS') ?? [], '--peer'),
    timing
  }
}
