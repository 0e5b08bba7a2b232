// Errors about workflows and their steps.
import { SeError } from './se-error.js'

export const workflowErrors = {
  unknownWorkflow (id: string): SeError {
    return new SeError('UNKNOWN_WORKFLOW', `no workflow with id or name '${id}' on this node`, { hint: 'list workflows with `se status`, the catalogue with `se catalogue`' })
  },

  /** A prefix that more than one workflow id starts with. */
  ambiguousWorkflow (prefix: string, ids: string[]): SeError {
    return new SeError('BAD_INPUT', `'${prefix}' matches ${ids.length} workflows: ${ids.join(', ')}`)
  },

  /** `known` names the catalogue's workflows, for the hint. */
  notInCatalogue (name: string, dirs: string[], known: string[]): SeError {
    return new SeError('UNKNOWN_WORKFLOW', `no workflow named '${name}' in the catalogue (${dirs.join(', ')})`, {
      hint: known.length > 0 ? `known workflows: ${known.join(', ')}` : 'pass a workflow file instead of a name'
    })
  },

  /** An audit entry from a member about a workflow this node did not start: it has no place in this trail. */
  notOurWorkflow (from: string, workflowId: string): SeError {
    return new SeError('UNKNOWN_WORKFLOW', `node ${from.slice(0, 12)} sent an audit entry for ${workflowId}, which this node did not start`)
  },

  /** `se artifacts get` names an artifact the workflow has not published (yet), or one of several. */
  unknownArtifact (workflowId: string, name: string, known: string[]): SeError {
    return new SeError('BAD_INPUT', `workflow ${workflowId} has no artifact '${name}'`, {
      hint: known.length > 0 ? `its artifacts: ${known.join(', ')} (see \`se artifacts ${workflowId}\`)` : 'it has published none yet (see `se status`)'
    })
  },

  ambiguousArtifact (workflowId: string, name: string, steps: string[]): SeError {
    return new SeError('BAD_INPUT', `workflow ${workflowId} has ${steps.length} artifacts named '${name}', one per instance: ${steps.join(', ')}`, {
      hint: `name one as STEP.NAME, e.g. ${steps[0] ?? 'test[shard=1]'}.${name}`
    })
  },

  /** The engine is shutting down: a workflow started now would be checkpointed before it ran. */
  engineStopping (): SeError {
    return new SeError('SHUTTING_DOWN', 'this node is shutting down and takes no new workflows')
  },

  invalidChoice (choice: string, stepId: string, workflowId: string, choices: string[]): SeError {
    return new SeError('INVALID_CHOICE', `'${choice}' is not a choice at step ${stepId} of ${workflowId}`, { hint: `choose one of: ${choices.join(', ')}` })
  },

  alreadyFinished (workflowId: string, state: string): SeError {
    return new SeError('ALREADY_FINISHED', `workflow ${workflowId} is already ${state}`)
  },

  notWaiting (id: string, state: string): SeError {
    return new SeError('NOT_WAITING', `workflow ${id} is ${state}, not waiting for an intervention`)
  },

  noContainerEngine (image: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `step needs container image '${image}' but no container engine is available on this node`, { hint: 'install podman, or run the workflow on a node that advertises the podman capability' })
  }
}
