// Where a node's bearer tokens come from: SE_TOKENS, a token file, or, when
// neither is given, a file the node writes itself once, readable only by its owner.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { Crypto, FileSystem } from '../ports.js'
import { toHex } from '../hex.js'
import { AccessTokens } from './tokens.js'

export const GENERATED_TOKEN_FILE = 'http-tokens'
const GENERATED_TOKEN_BYTES = 24

export interface TokenSources {
  /** SE_TOKENS: comma-separated USER:TOKEN entries. */
  inline?: string
  /** --token-file / SE_TOKEN_FILE. */
  file?: string
  dataDir: string
  /** Who the generated token belongs to: the user running the node. */
  owner: string
}

export async function loadTokens (fs: FileSystem, crypto: Crypto, from: TokenSources): Promise<{ tokens: AccessTokens, file: string | null, generated: boolean }> {
  let tokens = AccessTokens.of([])
  if (from.inline !== undefined && from.inline.trim() !== '') tokens = tokens.merge(AccessTokens.parse(from.inline, 'SE_TOKENS', /,/))
  if (from.file !== undefined) {
    const bytes = await fs.read(from.file)
    if (bytes === null) throw SeError.badInput(`token file ${from.file} does not exist`, 'write one line USER:TOKEN per client, e.g. ci:$(openssl rand -hex 24)')
    tokens = tokens.merge(AccessTokens.parse(b4a.toString(bytes, 'utf8'), from.file))
  }
  if (tokens.size > 0) return { tokens, file: from.file ?? null, generated: false }
  const file = join(from.dataDir, GENERATED_TOKEN_FILE)
  const existing = await fs.read(file)
  if (existing !== null) return { tokens: AccessTokens.parse(b4a.toString(existing, 'utf8'), file), file, generated: false }
  const owner = /^[A-Za-z0-9._@-]+$/.test(from.owner) ? from.owner : 'owner'
  const text = `# bearer tokens for this node's HTTP API and Avro IPC: USER:TOKEN per line\n${owner}:${toHex(crypto.randomBytes(GENERATED_TOKEN_BYTES))}\n`
  await fs.writeAtomic(file, text, { mode: 0o600 })
  return { tokens: AccessTokens.parse(text, file), file, generated: true }
}
