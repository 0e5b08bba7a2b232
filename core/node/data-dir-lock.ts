// One node per data dir. Before it touches anything there, a node takes an exclusive
// OS lock on `node.lock` (released by the OS when the process ends, so a kill -9
// never leaves it stuck) and writes who it is into it. Every write of state and
// audit is made by the lock's holder alone.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { FileLock, FileSystem } from '../ports.js'

export const LOCK_FILE = 'node.lock'

/** A process that holds the lock only to look (the CLI asking whether a node is starting) lets go within this. */
const CLAIM_RETRIES = 5
const CLAIM_RETRY_MS = 40

export interface LockHolder {
  pid: number
  startedAt: number
  runtime: string
}

export async function claimDataDir (fs: FileSystem, dataDir: string, holder: LockHolder): Promise<FileLock> {
  await fs.mkdirp(dataDir)
  const file = join(dataDir, LOCK_FILE)
  for (let attempt = 0; ; attempt++) {
    const lock = await fs.tryLock(file, JSON.stringify(holder) + '\n')
    if (lock !== null) return lock
    if (attempt >= CLAIM_RETRIES) throw SeError.nodeRunning(dataDir, (await readHolder(fs, dataDir))?.pid ?? null)
    await new Promise(resolve => setTimeout(resolve, CLAIM_RETRY_MS))
  }
}

/** Who holds the data dir, or null when nobody does (looking takes the lock for an instant). */
export async function dataDirHolder (fs: FileSystem, dataDir: string): Promise<LockHolder | { pid: null } | null> {
  const file = join(dataDir, LOCK_FILE)
  if (await fs.read(file) === null) return null
  const probe = await fs.tryLock(file, '')
  if (probe !== null) {
    await probe.release()
    return null
  }
  return await readHolder(fs, dataDir) ?? { pid: null }
}

async function readHolder (fs: FileSystem, dataDir: string): Promise<LockHolder | null> {
  const bytes = await fs.read(join(dataDir, LOCK_FILE)).catch(() => null)
  if (bytes === null) return null
  try {
    const holder = JSON.parse(b4a.toString(bytes, 'utf8')) as LockHolder
    return typeof holder.pid === 'number' ? holder : null
  } catch {
    return null
  }
}
