// Bearer tokens for the node's network front ends (HTTP API, Avro IPC). Each
// token belongs to a user: what that user may see (their sessions) and what the
// audit trail names follows from the token, never from what a client claims.
import b4a from 'b4a'
import { SeError } from '../errors.js'

export interface TokenHolder { user: string, token: string }

/** The user a token file line names when it gives a token alone. */
export const DEFAULT_TOKEN_USER = 'api'
/** Shorter tokens are refused: a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16

export class AccessTokens {
  private constructor (private readonly holders: TokenHolder[]) {}

  get size (): number { return this.holders.length }
  get users (): string[] { return [...new Set(this.holders.map(h => h.user))] }

  /**
   * Lines of `USER:TOKEN` (or a bare TOKEN, for user `api`), `#` comments and
   * blank lines ignored; `source` names the file or variable in errors.
   */
  static parse (text: string, source: string, separator: RegExp = /\r?\n/): AccessTokens {
    const holders: TokenHolder[] = []
    text.split(separator).forEach((raw, i) => {
      const line = raw.trim()
      if (line === '' || line.startsWith('#')) return
      const colon = line.indexOf(':')
      const user = colon < 0 ? DEFAULT_TOKEN_USER : line.slice(0, colon).trim()
      const token = colon < 0 ? line : line.slice(colon + 1).trim()
      const where = separator.source === '\\r?\\n' ? `${source} line ${i + 1}` : `${source} entry ${i + 1}`
      if (user === '' || !/^[A-Za-z0-9._@-]+$/.test(user)) throw SeError.badInput(`${where}: '${user}' is not a user name (letters, digits, . _ @ -)`)
      if (token.length < MIN_TOKEN_LENGTH) throw SeError.badInput(`${where}: the token is shorter than ${MIN_TOKEN_LENGTH} characters`, 'make one with: openssl rand -hex 24')
      if (/\s/.test(token)) throw SeError.badInput(`${where}: a token cannot contain spaces`)
      holders.push({ user, token })
    })
    return new AccessTokens(holders)
  }

  static of (holders: TokenHolder[]): AccessTokens {
    return new AccessTokens([...holders])
  }

  merge (other: AccessTokens): AccessTokens {
    return new AccessTokens([...this.holders, ...other.holders])
  }

  /** The user holding `presented`, or null. Compares every token in full, so timing tells nothing. */
  userOf (presented: string | null | undefined): string | null {
    if (presented == null || presented === '') return null
    const given = b4a.from(presented)
    let found: string | null = null
    for (const h of this.holders) {
      if (equalInConstantTime(given, b4a.from(h.token))) found ??= h.user
    }
    return found
  }

  /** The user of an `Authorization: Bearer TOKEN` header value, or null. */
  userOfHeader (header: string | null | undefined): string | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
    return m === null ? null : this.userOf(m[1])
  }
}

function equalInConstantTime (a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.byteLength ^ b.byteLength
  for (let i = 0; i < b.byteLength; i++) diff |= (a[i % Math.max(a.byteLength, 1)] ?? 0) ^ (b[i] as number)
  return diff === 0
}
