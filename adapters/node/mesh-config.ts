// Mesh settings for `se node start`: flags first, then SE_* variables.
import { readFileSync } from 'node:fs'
import { SeError } from '../../core/errors.js'
import type { MeshConfig } from '../../core/node/se-node.js'
import { DEFAULT_TIMING, type MeshTiming } from '../../core/mesh/mesh.js'
import { listFromEnv, numberFromEnv } from './config.js'
import { createSwarmTransport, parseBootstrap } from './swarm.js'

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
}

const KEY = /^[0-9a-f]{64}$/

function keys (list: string[], where: string): string[] {
  for (const k of list) {
    if (!KEY.test(k)) throw new SeError('BAD_INPUT', `${where}: '${k}' is not a node key (64 hex characters)`, { hint: 'a node key is the id `se nodes` or `se capabilities --json` shows' })
  }
  return list
}

/** Reads an allowlist file: one node key per line; blank lines and # comments are ignored. */
export function readAllowFile (file: string): string[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new SeError('BAD_INPUT', `cannot read allowlist ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  const lines = text.split('\n').map((l, i) => ({ key: l.replace(/#.*/, '').trim(), line: i + 1 })).filter(l => l.key !== '')
  for (const l of lines) keys([l.key], `${file}:${l.line}`)
  return lines.map(l => l.key)
}

/** The node's mesh, or undefined when it runs alone. */
export function meshConfigFrom (flags: MeshFlags, warn: (text: string) => void): MeshConfig | undefined {
  const name = flags.mesh ?? process.env.SE_MESH
  if (name === undefined || name === '') return undefined
  const secret = flags.meshSecret ?? process.env.SE_MESH_SECRET ?? ''
  if (secret === '') warn(`mesh ${name} has no secret: any node that knows its name can join (set --mesh-secret or SE_MESH_SECRET)`)
  const bootstrapText = flags.bootstrap ?? process.env.SE_BOOTSTRAP
  const bootstrap = bootstrapText === undefined || bootstrapText === '' ? null : parseBootstrap(bootstrapText)
  const allowFile = flags.allowFile ?? process.env.SE_ALLOW_FILE
  const allowList = [...keys(flags.allow ?? listFromEnv('SE_ALLOW') ?? [], '--allow'), ...(allowFile === undefined || allowFile === '' ? [] : readAllowFile(allowFile))]
  const timing: Partial<MeshTiming> = {}
  const heartbeatMs = flags.heartbeatMs ?? numberFromEnv('SE_HEARTBEAT_MS')
  const suspectMs = flags.suspectMs ?? numberFromEnv('SE_SUSPECT_MS')
  const downMs = flags.downMs ?? numberFromEnv('SE_DOWN_MS')
  if (heartbeatMs !== undefined) timing.heartbeatMs = heartbeatMs
  if (suspectMs !== undefined) timing.suspectMs = suspectMs
  if (downMs !== undefined) timing.downMs = downMs
  const hb = timing.heartbeatMs ?? DEFAULT_TIMING.heartbeatMs
  const suspect = timing.suspectMs ?? DEFAULT_TIMING.suspectMs
  const down = timing.downMs ?? DEFAULT_TIMING.downMs
  if (!(hb > 0 && suspect > hb && down > suspect)) {
    throw new SeError('BAD_INPUT', `mesh timing must be heartbeat < suspect < down, got ${hb} / ${suspect} / ${down} ms`)
  }
  return {
    name,
    secret,
    transport: async keyPair => await createSwarmTransport(keyPair, bootstrap),
    allow: allowList.length > 0 || allowFile !== undefined ? allowList : null,
    peers: keys(flags.peer ?? listFromEnv('SE_PEERS') ?? [], '--peer'),
    timing
  }
}
