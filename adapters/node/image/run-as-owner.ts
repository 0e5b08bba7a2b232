// In the SE node's image, `se` starts as root only to become the owner of the
// mounted workspace: what a workflow writes there then belongs to whoever owns
// that directory on the host, whether podman runs rootful or rootless. The image
// sets SE_RUN_AS_OWNER_OF=/workspace. Started as any other user (`--user`,
// rootless `--userns=keep-id`), `se` runs as that user and this does nothing.
import { lstat, lchown, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { SeError } from '../../../core/errors.js'

/** The variable the image sets to the directory whose owner `se` runs as. */
export const RUN_AS_OWNER_ENV = 'SE_RUN_AS_OWNER_OF'

export interface Owner { uid: number, gid: number }

export type OwnerPlan = { kind: 'stay' } | { kind: 'become', owner: Owner }

/**
 * Root becomes the owner of the directory; any other user stays itself. A
 * directory owned by root keeps `se` root: the files there are root's already
 * (and under rootless podman, root in the container is the host user).
 */
export function planOwner (currentUid: number, owner: Owner): OwnerPlan {
  if (currentUid !== 0 || owner.uid === 0) return { kind: 'stay' }
  return { kind: 'become', owner }
}

export interface RunAsOwnerOptions {
  /** Directories se writes besides the workspace (the data dir, HOME): given to the owner too. */
  alsoOwn: string[]
}

/** Switches this process to the owner of `dir` when it runs as root; returns what it did. Never goes on as root after a failed switch. */
export async function runAsOwnerOf (dir: string, opts: RunAsOwnerOptions): Promise<OwnerPlan> {
  const uid = process.getuid?.()
  if (uid !== 0) return { kind: 'stay' }
  const st = await stat(dir).catch((err: unknown) => { throw SeError.cannotRead(`${RUN_AS_OWNER_ENV} directory ${dir}`, err) })
  const plan = planOwner(uid, { uid: st.uid, gid: st.gid })
  if (plan.kind === 'stay') return plan
  const { owner } = plan
  try {
    for (const other of opts.alsoOwn) await giveTo(other, owner)
    // Supplementary groups first: they can only be set while still root.
    process.setgroups?.([owner.gid])
    process.setgid?.(owner.gid)
    process.setuid?.(owner.uid)
  } catch (err) {
    throw SeError.imageCannotRunAsOwner(dir, owner.uid, owner.gid, err)
  }
  if (process.getuid?.() !== owner.uid) throw SeError.imageCannotRunAsOwner(dir, owner.uid, owner.gid, new Error('the switch did not take'))
  return plan
}

/** Gives a tree to `owner` unless its top already belongs to them (as postgres' entrypoint does with its data dir). */
async function giveTo (top: string, owner: Owner): Promise<void> {
  if (top === '' || path.resolve(top) === '/') return
  const st = await stat(top).catch(() => null)
  if (st === null || (st.uid === owner.uid && st.gid === owner.gid)) return
  await chownTree(top, owner)
}

async function chownTree (at: string, owner: Owner): Promise<void> {
  const st = await lstat(at)
  await lchown(at, owner.uid, owner.gid)
  if (!st.isDirectory()) return
  for (const name of await readdir(at)) await chownTree(path.join(at, name), owner)
}
