// What an artifact is: every file's relative path, mode, size and the SHA-256
// of each fixed-size chunk. Its hash is the SHA-256 of this manifest in one
// canonical form, so the same files give the same hash on every node, and a
// chunk can be checked on arrival on its own, before the whole file is there.
import b4a from 'b4a'
import { toHex } from '../hex.js'
import type { Crypto } from '../ports.js'

/** Chunks are hashed, sent and checked one at a time: the most of a file that sits in memory. */
export const CHUNK_SIZE = 1024 * 1024
export const MANIFEST_VERSION = 1

export interface ManifestFile {
  /** Relative to the artifact's own path, `/`-separated; '' when the artifact is one file. */
  path: string
  /** Permission bits. */
  mode: number
  size: number
  /** SHA-256 of each CHUNK_SIZE piece, hex; none for an empty file. */
  chunks: string[]
}

export interface Manifest {
  version: number
  chunkSize: number
  directory: boolean
  /** Sorted by path. */
  files: ManifestFile[]
}

/** The bytes the hash is taken of: fixed key order, files sorted, no whitespace. */
export function encodeManifest (m: Manifest): Uint8Array {
  const files = [...m.files].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
    .map(f => ({ path: f.path, mode: f.mode, size: f.size, chunks: f.chunks }))
  return b4a.from(JSON.stringify({ version: m.version, chunkSize: m.chunkSize, directory: m.directory, files }))
}

export function manifestHash (crypto: Crypto, m: Manifest): string {
  return toHex(crypto.sha256(encodeManifest(m)))
}

/** A manifest read back (from the store or a member); null when it is not one. */
export function decodeManifest (bytes: Uint8Array): Manifest | null {
  let v: unknown
  try {
    v = JSON.parse(b4a.toString(bytes, 'utf8'))
  } catch {
    return null
  }
  const m = v as Manifest
  if (typeof m !== 'object' || m === null || m.version !== MANIFEST_VERSION || m.chunkSize !== CHUNK_SIZE || typeof m.directory !== 'boolean' || !Array.isArray(m.files)) return null
  for (const f of m.files) {
    if (typeof f?.path !== 'string' || !safeRelative(f.path) || !Number.isSafeInteger(f.mode) || !Number.isSafeInteger(f.size) || f.size < 0) return null
    if (!Array.isArray(f.chunks) || f.chunks.length !== chunkCount(f.size) || !f.chunks.every(c => typeof c === 'string' && /^[0-9a-f]{64}$/.test(c))) return null
  }
  if (!m.directory && (m.files.length !== 1 || m.files[0]?.path !== '')) return null
  return m
}

export function chunkCount (size: number): number {
  return Math.ceil(size / CHUNK_SIZE)
}

export function totalSize (m: Manifest): number {
  return m.files.reduce((sum, f) => sum + f.size, 0)
}

/** A path from a member is placed under a working directory: it must not climb out of it. */
function safeRelative (p: string): boolean {
  if (p === '') return true
  return !p.startsWith('/') && p.split('/').every(s => s !== '' && s !== '.' && s !== '..')
}
