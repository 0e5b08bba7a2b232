// Errors deploying and running workloads, and from the engines that run them.
import { SeError, messageOf, options, type ErrorDetail } from './se-error.js'

/** How much of a tool's unexpected output an error quotes. */
const QUOTED_OUTPUT_CHARS = 120

export const workloadErrors = {
  /** A node started without workload engines (an embedded node, a test node). */
  runsNoWorkloads (nodeName: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `node ${nodeName} runs no workloads`, { hint: 'start the node with `se node start` (workloads need a running node)' })
  },

  unknownWorkload (idOrName: string): SeError {
    return new SeError('UNKNOWN_WORKLOAD', `no workload with id or name '${idOrName}' on this node`, { hint: 'list them with `se workloads`' })
  },

  /** The engine asked for by name cannot run here; `install` says how to get it. */
  engineUnavailable (engine: string, why: string | null, install?: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `engine ${engine} is not available on this node: ${why ?? 'unknown reason'}`, options(install))
  },

  /** No engine of this node can run the workload; each detail is one engine's refusal. */
  noEngineFits (workload: string, refusals: ErrorDetail[], hint?: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `no engine on this node can run ${workload}`, options(hint, undefined, refusals))
  },

  /** A workload's record names an engine this node does not have (any more). */
  engineNotOnNode (engine: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `engine ${engine} is not on this node`)
  },

  /** podman is missing or does not work. */
  podmanUnavailable (why: string, install: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `podman is not available on this node: ${why}`, { hint: install })
  },

  /** An engine's command (`podman stats`) failed; `why` is its last error line or its exit. */
  engineCommandFailed (command: string, why: string): SeError {
    return new SeError('ENGINE_FAILED', `${command} failed: ${why}`)
  },

  /** An engine's command printed something that does not parse as JSON. */
  engineOutputNotJson (command: string, output: string, cause: unknown): SeError {
    return new SeError('ENGINE_FAILED', `${command} printed something other than JSON: ${output.slice(0, QUOTED_OUTPUT_CHARS)}`, { cause })
  },

  kubePlayFailed (workload: string, why: string, hint: string): SeError {
    return new SeError('DEPLOY_FAILED', `podman kube play of ${workload} failed: ${why}`, { hint })
  },

  workloadLogsUnopenable (workload: string, dir: string, cause: unknown): SeError {
    return new SeError('DEPLOY_FAILED', `${workload}: could not open its log files in ${dir}: ${messageOf(cause)}`, { cause })
  },

  /** The process engine could not start one of the workload's containers. */
  containerDidNotStart (workload: string, container: string, why: string | null): SeError {
    return new SeError('DEPLOY_FAILED', `${workload}: container ${container} could not start: ${why ?? 'unknown reason'}`, {
      hint: 'the process engine runs the command on this host: is it installed here, and does its workingDir exist? Nothing was left running'
    })
  },

  removedWhileStarting (workload: string): SeError {
    return new SeError('DEPLOY_FAILED', `${workload} was removed while it was starting`)
  },

  /** The mock engine's scripted failure, for tests. */
  mockEngineFailed (operation: string): SeError {
    return new SeError('DEPLOY_FAILED', `mock ${operation} failed`)
  },

  /** Deploying would take the node's workloads past its memory budget; the sizes come formatted ("512 MiB"). */
  overBudget (workload: string, sizes: { needed: string, used: string, budget: string, left: string }): SeError {
    return new SeError('OVER_BUDGET', `${workload} needs ${sizes.needed} of memory, but ${sizes.used} of this node's ${sizes.budget} workload memory budget is taken (${sizes.left} left); nothing was deployed`, {
      hint: 'lower the limits (--memory), remove a workload (se workloads, se remove ID), or raise the budget with SE_MEMORY_BUDGET / --memory-budget'
    })
  }
}
