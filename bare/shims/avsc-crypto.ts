// `crypto` as avsc sees it on Bare (bare/build.mjs points avsc's require('crypto') here).
// avsc hashes only for Type#fingerprint, which a node at rest never calls: bare-crypto
// loads on the first hash, not with the node (about 1.5 MiB resident), through a
// variable, because Bare loads every module a literal require() names along with the file.
// avsc hashes as a stream, `hash.end(text); hash.read()`, and expects the digest at once;
// bare-crypto's Hash is a Transform that digests on a later tick, so each hash made here
// gets the synchronous end/read avsc relies on.
import type BareCrypto from 'bare-crypto'

declare const require: (name: string) => unknown

type Crypto = typeof BareCrypto
type StreamHash = ReturnType<Crypto['createHash']> & { end: (data?: unknown, encoding?: unknown) => unknown, read: () => unknown }

const NAME = 'bare-crypto'
let crypto: Crypto | null = null

export function createHash (algorithm: Parameters<Crypto['createHash']>[0], ...rest: unknown[]): StreamHash {
  crypto ??= require(NAME) as Crypto
  const hash = (crypto.createHash as (...args: unknown[]) => StreamHash)(algorithm, ...rest)
  hash.end = (data?: unknown, encoding?: unknown) => {
    if (data !== undefined && data !== null) (hash.update as (...a: unknown[]) => unknown)(data, encoding)
    const digest = hash.digest()
    hash.read = () => digest
    return hash
  }
  return hash
}
