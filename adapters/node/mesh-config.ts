// Mesh settings for `se node start`, read from this process's flags and environment.
import { readFileSync } from 'node:fs'
import type { MeshConfig } from '../../core/mesh/settings.js'
import { meshConfigFrom as fromSettings, type MeshFlags } from '../../core/mesh/settings.js'
import { createSwarmTransport } from '../shared/hyperswarm-transport.js'
import { listenerLimitsFrom } from '../../core/access/listener-limits.js'

export type { MeshFlags }

export function meshConfigFrom (flags: MeshFlags, warn: (text: string) => void): MeshConfig | undefined {
  return fromSettings(flags, {
    env: name => process.env[name],
    // The same cap on connections as every other port (SE_MAX_CONNECTIONS).
    transport: async (keyPair, bootstrap, maxPeers) => await createSwarmTransport(keyPair, bootstrap, { maxPeers, maxConnections: listenerLimitsFrom(name => process.env[name]).maxConnections }),
    readText: file => readFileSync(file, 'utf8'),
    warn
  })
}
