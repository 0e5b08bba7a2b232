// What a node is started with; core/node/settings.ts builds it from flags and SE_* variables.
import type { StepExecutor } from '../workflow/engine.js'
import type { MeshConfig } from '../mesh/settings.js'
import type { WorkloadConfig } from '../workload/settings.js'

export interface NodeConfig {
  dataDir: string
  name?: string
  tags?: string[]
  tools?: string[]
  credentials?: string[]
  catalogueDirs?: string[]
  maxConcurrentWorkflows?: number
  shutdownGraceMs?: number
  /** Commands `execute` may run; null lets the local owner run anything. */
  allowCommands?: string[] | null
  /** A command line that runs this node's CLI, for ${node.cli}. */
  cli?: string
  pid?: number
  executors?: StepExecutor[]
  mesh?: MeshConfig
  workloads?: WorkloadConfig
  /** Where new sessions start (SE_SESSION_HOME, else HOME, else the data dir). */
  sessionHome?: string
  /** Sessions idle this long are closed (SE_SESSION_IDLE_SEC). */
  sessionIdleMs?: number
  /** `--policy FILE` or SE_POLICY: who may do what here; else the data dir's policy.yaml, if there is one. */
  policyFile?: string
}
