// Workload settings for a node, on Node and Bare: flags first, then SE_*
// variables, then defaults.
import { SeError } from '../errors.js'
import { numberFrom, textFrom, type EnvLookup } from '../config/env.js'
import type { Runtime } from '../ports.js'
import { MockEngine } from './mock-engine.js'
import { PodmanEngine } from './podman-engine.js'
import { ProcessEngine } from './process-engine.js'
import { parsePodmanSize } from './quantity.js'
import { ENGINE_ORDER } from './select.js'
import type { WorkloadEngine } from './types.js'

/** A node's workload engines and limits, as the node starts them. */
export interface WorkloadConfig {
  /** Every engine this node has; which are usable is checked when a workload is deployed. */
  engines: WorkloadEngine[]
  /** Tried first when available (SE_ENGINE); else the best available. */
  preferred: string | null
  /** Memory all workloads' limits may add up to; default: three quarters of the machine's. */
  memoryBudgetBytes?: number
  maxWorkloads?: number
  healthIntervalMs?: number
}

export interface WorkloadFlags {
  engine?: string
  memoryBudget?: string
  maxWorkloads?: number
}

export function workloadConfigFrom (flags: WorkloadFlags, runtime: Runtime, env: EnvLookup): WorkloadConfig {
  const preferred = flags.engine ?? textFrom(env, 'SE_ENGINE') ?? null
  if (preferred !== null && !(ENGINE_ORDER as readonly string[]).includes(preferred)) {
    throw SeError.badInput(`engine '${preferred}' is not one SE has`, `choose one of: ${ENGINE_ORDER.join(', ')} (--engine or SE_ENGINE)`)
  }
  const engines: WorkloadEngine[] = [
    new PodmanEngine({ processes: runtime.processes, fs: runtime.fs }),
    new ProcessEngine(runtime)
  ]
  // The mock engine runs nothing; it is there only for demos and tests that ask for it by name.
  if (preferred === 'mock') engines.push(new MockEngine())
  const config: WorkloadConfig = { engines, preferred }
  const budget = flags.memoryBudget ?? env('SE_MEMORY_BUDGET')
  if (budget !== undefined && budget !== '') {
    const bytes = parsePodmanSize(budget)
    if (bytes === null) throw SeError.badInput(`memory budget '${budget}' is not a size (expected e.g. 8g, 512m)`, 'set it with --memory-budget or SE_MEMORY_BUDGET')
    config.memoryBudgetBytes = bytes
  }
  const max = flags.maxWorkloads ?? numberFrom(env, 'SE_MAX_WORKLOADS')
  if (max !== undefined) {
    if (!Number.isInteger(max) || max < 1) throw SeError.badInput(`max workloads ${max} is not a whole number of 1 or more`)
    config.maxWorkloads = max
  }
  const health = numberFrom(env, 'SE_HEALTH_MS')
  if (health !== undefined) config.healthIntervalMs = health
  return config
}
