// Where a node keeps its data and looks up named workflows, from SE_* variables:
// apart from settings.ts, which builds the whole node's configuration, because
// every CLI call needs these and none of what the rest of the settings load.
import { join, resolve } from '../paths.js'
import { textFrom, type EnvLookup } from '../config/env.js'

/** SE_DATA_DIR, else the per-user default under XDG_DATA_HOME (~/.local/share). */
export function defaultDataDir (env: EnvLookup, home: string, cwd: string): string {
  const fromEnv = textFrom(env, 'SE_DATA_DIR')
  if (fromEnv !== undefined) return resolve(cwd, fromEnv)
  return join(env('XDG_DATA_HOME') ?? join(home, '.local', 'share'), 'se-mesh')
}

/** Where named workflows are looked up: the node's own, SE_WORKFLOW_PATH, then what the install ships. */
export function catalogueDirs (env: EnvLookup, dataDir: string, cwd: string, shipped: string[]): string[] {
  const extra = (env('SE_WORKFLOW_PATH') ?? '').split(':').filter(s => s !== '').map(p => resolve(cwd, p))
  return [join(dataDir, 'catalogue'), ...extra, ...shipped]
}
