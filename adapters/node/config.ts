// Node configuration: flags over environment variables over defaults.
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

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
  const fromEnv = process.env.SE_DATA_DIR
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv)
  const base = process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share')
  return path.join(base, 'se-mesh')
}

export function socketPath (dataDir: string): string {
  return path.join(dataDir, SOCKET_NAME)
}

/** Where named workflows are looked up: the node's own, SE_WORKFLOW_PATH, then the shipped examples. */
export function catalogueDirs (dataDir: string): string[] {
  const extra = (process.env.SE_WORKFLOW_PATH ?? '').split(':').filter(s => s !== '').map(p => path.resolve(p))
  return [path.join(dataDir, 'catalogue'), ...extra, EXAMPLES_DIR]
}
