// A node's settings from its options and SE_* variables, the same on Node and Bare.
import type { Runtime } from '../ports.js'
import { join, resolve } from '../paths.js'
import { listFrom, numberFrom, textFrom, type EnvLookup } from '../config/env.js'
import { workloadConfigFrom, type WorkloadFlags } from '../workload/settings.js'
import type { MeshConfig } from '../mesh/settings.js'
import type { NodeConfig } from './node-config.js'

// Where the data dir and the catalogue are: in a file of their own, so the CLI finds its
// node without loading the workload engines (and their YAML and schema libraries).
export { catalogueDirs, defaultDataDir } from './locations.js'

export interface NodeOptions {
  dataDir: string
  name?: string
  tags?: string[]
  mesh?: MeshConfig
  workloads?: WorkloadFlags
  /** `se node start --session-idle SEC`: wins over SE_SESSION_IDLE_SEC. */
  sessionIdleSec?: number
  /** `se node start --policy FILE`: wins over SE_POLICY. */
  policyFile?: string
}

/** What only the runtime knows: where workflows are looked up, how to run this node's CLI, its pid. */
export interface NodeHost {
  env: EnvLookup
  catalogueDirs: string[]
  cli: string
  pid: number
}

export function nodeConfigFrom (opts: NodeOptions, runtime: Runtime, host: NodeHost): NodeConfig {
  const { env } = host
  const config: NodeConfig = {
    dataDir: opts.dataDir,
    tags: [...(listFrom(env, 'SE_CAPABILITIES') ?? []), ...(opts.tags ?? [])],
    catalogueDirs: host.catalogueDirs,
    cli: host.cli,
    pid: host.pid,
    allowCommands: listFrom(env, 'SE_EXECUTE_ALLOW') ?? null
  }
  const name = opts.name ?? textFrom(env, 'SE_NODE_NAME')
  if (name !== undefined) config.name = name
  const tools = listFrom(env, 'SE_TOOLS')
  if (tools !== undefined) config.tools = tools
  const credentials = listFrom(env, 'SE_CREDENTIALS')
  if (credentials !== undefined) config.credentials = credentials
  const max = numberFrom(env, 'SE_MAX_WORKFLOWS')
  if (max !== undefined) config.maxConcurrentWorkflows = Math.floor(max)
  const grace = numberFrom(env, 'SE_SHUTDOWN_GRACE_SEC')
  if (grace !== undefined) config.shutdownGraceMs = grace * 1000
  const sessionHome = textFrom(env, 'SE_SESSION_HOME') ?? textFrom(env, 'HOME')
  if (sessionHome !== undefined) config.sessionHome = sessionHome
  const idle = opts.sessionIdleSec ?? numberFrom(env, 'SE_SESSION_IDLE_SEC')
  if (idle !== undefined) config.sessionIdleMs = idle * 1000
  if (opts.mesh !== undefined) config.mesh = opts.mesh
  const policyFile = opts.policyFile ?? textFrom(env, 'SE_POLICY')
  if (policyFile !== undefined) config.policyFile = policyFile
  config.workloads = workloadConfigFrom(opts.workloads ?? {}, runtime, env)
  return config
}
