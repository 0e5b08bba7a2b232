// Node configuration: flags over environment variables over defaults.
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { catalogueDirs as catalogueDirsFrom, defaultDataDir as dataDirFrom } from '../../core/node/locations.js'

// Found by walking up, so it holds both for the sources and for the bundle in dist/.
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)))

function findPackageRoot (from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'examples'))) return dir
    if (path.dirname(dir) === dir) return path.resolve(from, '../..')
  }
}
export const EXAMPLES_DIR = path.join(PACKAGE_ROOT, 'examples', 'workflows')
export const CLI_ENTRY = path.join(PACKAGE_ROOT, 'adapters', 'node', 'bin', 'se.js')
export const SOCKET_NAME = 'se.sock'

export function defaultDataDir (): string {
  return dataDirFrom(name => process.env[name], os.homedir(), process.cwd())
}

/** The login name: $USER, else the passwd entry's, else `uid1234` for a uid with none (a container run with --user, or as a workspace's owner). */
export function loginName (): string {
  if (process.env.USER !== undefined) return process.env.USER
  try {
    return os.userInfo().username
  } catch {
    return `uid${process.getuid?.() ?? ''}`
  }
}

export function socketPath (dataDir: string): string {
  return path.join(dataDir, SOCKET_NAME)
}

/** Where named workflows are looked up: the node's own, SE_WORKFLOW_PATH, then the shipped examples. */
export function catalogueDirs (dataDir: string): string[] {
  return catalogueDirsFrom(name => process.env[name], dataDir, process.cwd(), [EXAMPLES_DIR])
}
