// Where a node's policy comes from: the file it was told (--policy, SE_POLICY), which
// must exist, or its data dir's policy.yaml, which may not: without one the node
// keeps the single-user mesh's rule that every member may do everything.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { FileSystem } from '../ports.js'
import { parsePolicy, type Policy } from './policy.js'

export const POLICY_FILE = 'policy.yaml'

/** The policy, or null when none is asked for and the data dir has none. */
export async function loadPolicy (fs: FileSystem, dataDir: string, explicit: string | undefined): Promise<Policy | null> {
  const file = explicit ?? join(dataDir, POLICY_FILE)
  const bytes = await fs.read(file)
  if (bytes === null) {
    if (explicit !== undefined) throw SeError.noPolicyFile(file)
    return null
  }
  return parsePolicy(b4a.toString(bytes, 'utf8'), file)
}
