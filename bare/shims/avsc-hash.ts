// avsc hashes as a stream, `hash.end(text); hash.read()`, and expects the digest
// at once; bare-crypto's Hash (which `crypto` maps to on Bare, see imports.json)
// is a Transform that digests on a later tick. This gives its hashes the
// synchronous end/read avsc relies on (for Type#fingerprint).
import crypto from 'bare-crypto'

type StreamHash = ReturnType<typeof crypto.createHash> & { end: (data?: unknown, encoding?: unknown) => unknown, read: () => unknown }

const original = crypto.createHash
;(crypto as { createHash: typeof crypto.createHash }).createHash = ((algorithm: Parameters<typeof original>[0], ...rest: unknown[]) => {
  const hash = (original as (...args: unknown[]) => StreamHash)(algorithm, ...rest)
  hash.end = (data?: unknown, encoding?: unknown) => {
    if (data !== undefined && data !== null) (hash.update as (...a: unknown[]) => unknown)(data, encoding)
    const digest = hash.digest()
    hash.read = () => digest
    return hash
  }
  return hash
}) as typeof crypto.createHash
